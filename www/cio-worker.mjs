// Web Worker for boot: "worker": Pyodide, the mapping and delivery run here, off the page's main thread.
// On a return visit the page starts it before `load`: it downloads nothing before the page's 'go' (sent at
// `load`) unless the stored memory snapshot makes the network unnecessary.
// The page keeps localStorage (workers have none): it sends the stored events in and applies the writes that
// Python posts back. Python also posts the request bodies it has mapped ('leave-plan'), so the page can send
// them itself when it is closed. The same script, sent {type: 'snapshot'}, makes the memory snapshot instead.
// build.py bundles both imports into this file (one request instead of a chain).
import { bootPython, makeSnapshot } from './cio-boot.mjs';
import { archive } from './cio-store.mjs';

let dest = null;
const early = [];
let allowDownloads;
const mayDownload = new Promise((resolve) => { allowDownloads = resolve; });

self.onmessage = (e) => {
  if (e.data.type === 'snapshot') {
    makeSnapshot(e.data.base).then((saved) => self.postMessage({ type: 'snapshot', saved }),
      (err) => self.postMessage({ type: 'snapshot', saved: false, message: String(err && err.message) }));
  } else if (e.data.type === 'go') allowDownloads();
  else if (e.data.type === 'init') boot(e.data).catch((err) => self.postMessage({ type: 'failed', message: String(err && err.message) }));
  else if (dest) handle(e.data);
  else early.push(e.data);
};

async function boot(init) {
  const t0 = performance.now();
  const { py, mode, phases } = await bootPython(init.base, mayDownload);
  const browser = py.pyimport('cio_browser.browser');
  phases.imported = Math.round(performance.now() - t0);
  dest = browser.start_worker(JSON.stringify(init.settings), JSON.stringify(init.storage), (msg) => self.postMessage(msg),
    { archive, settingsError: init.settingsError });
  phases.started = Math.round(performance.now() - t0);
  self.postMessage({ type: 'ready', bootMs: performance.now() - t0, bootMode: mode, phases });
  early.splice(0).forEach(handle);
}

function handle(m) {
  if (m.type === 'events') dest.accept(m.batch);
  else if (m.type === 'mirror') dest.mirror(m.key, m.value);
  else if (m.type === 'call') {
    Promise.resolve(dest[m.method](...(m.args || []))).then((value) => self.postMessage({ type: 'reply', id: m.id, value: String(value) }),
      (err) => self.postMessage({ type: 'reply', id: m.id, error: String(err && err.message) }));
  }
}
