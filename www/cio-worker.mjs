// Web Worker for boot: "worker": Pyodide, the mapping and delivery run here, off the page's main thread.
// On a return visit the page starts it before `load`: it downloads nothing before the page's 'go' (sent at
// `load`) unless the stored memory snapshot makes the network unnecessary.
// The page keeps localStorage (workers have none): it sends the stored events in and applies the writes that
// Python posts back. Python also posts the request bodies it has mapped ('leave-plan'), so the page can send
// them itself when it is closed. Where the page could start this script as a SharedWorker that outlives the page,
// the page sends 'leaving' instead: the worker finishes booting if it must, delivers what it holds, hands the
// delivery lock on and ends itself (cio_browser.browser.BrowserDestination.page_left).
// The same script, sent {type: 'snapshot'}, makes the memory snapshot instead.
// build.py bundles both imports into this file (one request instead of a chain).
import { bootPython, makeSnapshot } from './cio-boot.mjs';
import { archive } from './cio-store.mjs';

let dest = null;
let leaving = false;
const early = [];
let allowDownloads;
const mayDownload = new Promise((resolve) => { allowDownloads = resolve; });

// A dedicated Worker talks to its page through `self`; a SharedWorker (the page asked it to outlive the page) through
// the port of its one connection, and its console is not the page's, so what Python reports there is copied over.
let page = self;
if (typeof SharedWorkerGlobalScope === 'function' && self instanceof SharedWorkerGlobalScope) {
  page = null;
  self.onconnect = (e) => { page = e.ports[0]; page.onmessage = onMessage; };
  for (const level of ['error', 'warn', 'info', 'log', 'debug']) {
    const own = console[level].bind(console);
    console[level] = (...args) => {
      own(...args);
      if (page) page.postMessage({ type: 'log', level, text: args.map(String).join(' ') });
    };
  }
} else self.onmessage = onMessage;

function onMessage(e) {
  if (e.data.type === 'snapshot') {
    makeSnapshot(e.data.base).then((saved) => page.postMessage({ type: 'snapshot', saved }),
      (err) => page.postMessage({ type: 'snapshot', saved: false, message: String(err && err.message) }));
  } else if (e.data.type === 'go') allowDownloads();
  else if (e.data.type === 'leaving') leave();
  else if (e.data.type === 'init') boot(e.data).catch((err) => page.postMessage({ type: 'failed', message: String(err && err.message) }));
  else if (dest) handle(e.data);
  else early.push(e.data);   // in order: an opt-out's 'clear' reaches Python before it leads and sends anything
}

// The page is gone and this worker lives on: download now if it has not yet, then deliver and end.
function leave() {
  leaving = true;
  allowDownloads();
  if (dest) dest.page_left();
}

async function boot(init) {
  const t0 = performance.now();
  const { py, mode, phases } = await bootPython(init.base, mayDownload);
  const browser = py.pyimport('cio_browser.browser');
  phases.imported = Math.round(performance.now() - t0);
  dest = browser.start_worker(JSON.stringify(init.settings), JSON.stringify(init.storage), (msg) => page.postMessage(msg),
    { archive, settingsError: init.settingsError, outlives: init.outlives });
  phases.started = Math.round(performance.now() - t0);
  page.postMessage({ type: 'ready', bootMs: performance.now() - t0, bootMode: mode, phases });
  early.splice(0).forEach(handle);
  if (leaving) dest.page_left();
}

function handle(m) {
  if (m.type === 'events') dest.accept(m.batch);
  else if (m.type === 'mirror') dest.mirror(m.key, m.value);
  else if (m.type === 'call') {
    Promise.resolve(dest[m.method](...(m.args || []))).then((value) => page.postMessage({ type: 'reply', id: m.id, value: String(value) }),
      (err) => page.postMessage({ type: 'reply', id: m.id, error: String(err && err.message) }));
  }
}
