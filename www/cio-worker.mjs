// Web Worker for boot: "worker": Pyodide, the mapping and delivery run here, off the page's main thread.
// On a return visit the page starts it before `load`: it downloads nothing before the page's 'go' (sent at
// `load`) unless the stored memory snapshot makes the network unnecessary.
// The page keeps localStorage (workers have none): it sends the stored events in and applies the writes that
// Python posts back. Python also posts the request bodies it has mapped ('leave-plan'), so the page can send
// them itself when it is closed. Where the page could start this script as a SharedWorker that outlives the page,
// the page sends 'leaving' instead: the worker finishes booting if it must, delivers what it holds, hands the
// delivery lock on, waits a few seconds for the tab's next page to take it over (take()) and otherwise ends itself
// (cio_browser.browser.BrowserDestination.page_left / page_back).
// The same script, sent {type: 'snapshot'}, makes the memory snapshot instead.
// build.py bundles both imports into this file (one request instead of a chain).
import { bootPython, makeSnapshot } from './cio-boot.mjs';
import { archive } from './cio-store.mjs';

let dest = null;
let leaving = false;
const early = [];
let allowDownloads;
const mayDownload = new Promise((resolve) => { allowDownloads = resolve; });

// A dedicated Worker talks to its page through `self`. A SharedWorker (the page asked it to outlive the page) talks
// through the port of each page that connects: first the page that started it, then, after that page has left,
// possibly the tab's next page, which takes it over (see take()). Its console is not the page's, so what Python
// reports there is copied over.
let page = null;            // the port of the page this worker serves
let served = null;          // what a page must match to be served: site files, settings (take())
let detached = [];          // storage writes made while no page was there, for the page that takes over
let broken = false;         // Python failed to start: a page that comes later starts a worker of its own
if (typeof SharedWorkerGlobalScope === 'function' && self instanceof SharedWorkerGlobalScope) {
  self.onconnect = (e) => { const port = e.ports[0]; port.onmessage = (m) => onMessage(m.data, port); };
  for (const level of ['error', 'warn', 'info', 'log', 'debug']) {
    const own = console[level].bind(console);
    console[level] = (...args) => {
      own(...args);
      if (page && !leaving) page.postMessage({ type: 'log', level, text: args.map(String).join(' ') });
    };
  }
} else self.onmessage = (m) => onMessage(m.data, self);

function onMessage(m, port) {
  if (m.type === 'snapshot') {
    makeSnapshot(m.base).then((saved) => port.postMessage({ type: 'snapshot', saved }),
      (err) => port.postMessage({ type: 'snapshot', saved: false, message: String(err && err.message) }));
  } else if (m.type === 'init') take(m, port);
  else if (port !== page) return;   // a page this worker turned away, or one that has left
  else if (m.type === 'go') allowDownloads();
  else if (m.type === 'leaving') leave();
  else if (dest) handle(m, port);
  else early.push([m, port]);   // in order: an opt-out's 'clear' reaches Python before it leads and sends anything
}

// A page asks to be served. The first one starts Python. Later ones come to a SharedWorker by the tab's worker
// name (sessionStorage): the tab's next page of this site, while this worker still delivers for the page that
// left. It takes the worker over, ready at once, if it uses the same files and settings; otherwise, or while the
// page before is still there (a duplicated tab copies sessionStorage), it is told to start a worker of its own.
function take(init, port) {
  const wants = JSON.stringify([init.base, init.settings, init.settingsError]);
  if (served === null) {
    served = wants;
    page = port;
    boot(init).catch((err) => { broken = true; page.postMessage({ type: 'failed', message: String(err && err.message) }); });
    return;
  }
  if (!leaving || wants !== served || broken) {
    port.postMessage({ type: 'busy' });
    port.close();
    return;
  }
  page = port;
  leaving = false;
  if (!dest) { booting.storage = init.storage; return; }   // still starting: Python starts with this page's storage
  // The writes made while no page was there reach storage first; Python then compares that storage with its own.
  const storage = init.storage;
  for (const [op, key, value] of detached) { if (op === 'set') storage[key] = value; else delete storage[key]; }
  if (detached.length) page.postMessage({ type: 'storage', ops: detached.splice(0) });
  dest.page_back(JSON.stringify(storage));
  page.postMessage({ type: 'ready', bootMs: 0, bootMode: 'reused', phases: {} });
}

// What Python posts to its page. Storage writes made while no page is there wait for the page that takes over.
function post(msg) {
  if (!leaving) page.postMessage(msg);
  else if (msg.type === 'storage') detached.push(...msg.ops);
}

// The page is gone and this worker lives on: download now if it has not yet, then deliver, wait a little for the
// tab's next page (take()) and end.
function leave() {
  leaving = true;
  allowDownloads();
  if (dest) dest.page_left();
}

let booting = null;
async function boot(init) {
  booting = init;
  const t0 = performance.now();
  const { py, mode, phases } = await bootPython(init.base, mayDownload);
  const browser = py.pyimport('cio_browser.browser');
  phases.imported = Math.round(performance.now() - t0);
  dest = browser.start_worker(JSON.stringify(init.settings), JSON.stringify(booting.storage), post,
    { archive, settingsError: init.settingsError, outlives: init.outlives });
  phases.started = Math.round(performance.now() - t0);
  page.postMessage({ type: 'ready', bootMs: performance.now() - t0, bootMode: mode, phases });
  early.splice(0).forEach(([m, port]) => handle(m, port));
  if (leaving) dest.page_left();
}

function handle(m, port) {
  if (m.type === 'events') dest.accept(m.batch);
  else if (m.type === 'mirror') dest.mirror(m.key, m.value);
  else if (m.type === 'call') {
    Promise.resolve(dest[m.method](...(m.args || []))).then((value) => port.postMessage({ type: 'reply', id: m.id, value: String(value) }),
      (err) => port.postMessage({ type: 'reply', id: m.id, error: String(err && err.message) }));
  }
}
