// Boots Pyodide with the cio_browser wheel. Shared by the page loader (boot "idle"/"eager") and the worker, into
// which build.py bundles it; build.py also writes the site's manifest into BUILT, so no request waits for it.
//
// First visit: Python starts the ordinary way on the trimmed standard library. Once the destination is ready, the
// page has makeSnapshot() run in a separate worker: it starts Python again (from the HTTP cache), imports
// cio_browser, takes a memory snapshot and keeps it, gzipped, in Cache Storage. Return visits restore it instead
// of starting Python (no network bytes: the snapshot never leaves the visitor's browser). A snapshot that cannot
// be read or restored is deleted and Python starts normally.
const BUILT = /*@cio-manifest@*/null;
// The storage layout is Python's (cio_browser/layout.py): build.py writes it over this placeholder.
const LAYOUT = {/*CIO_STORAGE_LAYOUT*/};
const SNAPSHOT_CACHE = LAYOUT.snapshotCache;
const PRELOAD = 'import cio_browser, cio_browser.browser, cio_browser.classic, cio_browser.subscriptions, cio_browser.presets\nimport asyncio, json';

function get(url) {
  // Low priority: the page's own images and scripts go first.
  return fetch(url, { priority: 'low' }).then((r) => {
    if (!r.ok) throw new Error(url + ': HTTP ' + r.status);
    return r.arrayBuffer();
  });
}

async function openCache() {
  try { return globalThis.caches ? await caches.open(SNAPSHOT_CACHE) : null; } catch (err) { return null; }
}

// The stored snapshot's bytes (gunzipped as they stream out of Cache Storage).
async function readSnapshot(hit) {
  const body = hit.headers.get('x-cio-encoding') === 'gzip' ? hit.body.pipeThrough(new DecompressionStream('gzip')) : hit.body;
  return new Uint8Array(await new Response(body).arrayBuffer());
}

// The wheel the worker unpacks: the compiled twin where build.py made one (no source compiled in the browser).
function wheelURL(manifest, w, base) {
  return new URL((manifest.compiled || {})[w] || manifest.wheels[w], base).href;
}

// One snapshot per Pyodide build and cio_browser wheel: a snapshot only restores into the exact build it came from.
function snapshotKey(manifest, base) {
  return new URL('__cio_snapshot/' + manifest.versions.pyodide + '-' + manifest.build, base).href;
}

// `mayDownload` resolves when Python's downloads may start (the page's `load`): a return visit with a stored
// snapshot needs no network, so it starts at once; a first visit waits, so the page's own resources go first.
export async function bootPython(base, mayDownload = Promise.resolve()) {
  const t0 = performance.now();
  const phases = {};
  const mark = (name) => { phases[name] = Math.round(performance.now() - t0); };
  const manifest = BUILT || await (await fetch(new URL('manifest.json', base))).json();
  const indexURL = new URL(manifest.pyodide, base).href;
  const key = snapshotKey(manifest, base);
  const cache = await openCache();
  const hit = cache && await cache.match(key).catch(() => null);
  if (!hit) await mayDownload;
  // Everything starts now, in parallel: Pyodide's loader, the wheels (the snapshot's bytes too). loadPyodide
  // then starts pyodide.asm.mjs and the wasm (and the standard library) together.
  const loader = import(indexURL + 'pyodide.mjs');
  const wheels = manifest.boot_wheels.map((w) => get(wheelURL(manifest, w, base)));
  const { loadPyodide } = await loader;
  mark('loader');
  const options = {
    indexURL, stdLibURL: new URL(manifest.stdlib, base).href, lockFileContents: manifest.lock,
    stdout: () => {}, stderr: (m) => console.warn('Customer.io (python): ' + m)
  };
  const unpack = async (py) => {
    for (const w of wheels) py.unpackArchive(await w, 'wheel', { extractDir: manifest.site_packages });
  };
  if (hit) {
    try {
      // A promise: Pyodide reads the snapshot while it fetches and compiles the wasm.
      const saved = readSnapshot(hit).then((bytes) => { mark('snapshot-read'); return bytes; });
      const py = await loadPyodide({ ...options, _loadSnapshot: saved });
      mark('runtime');
      await unpack(py);   // files are not part of a snapshot, modules are
      mark('wheels');
      return { py, mode: 'snapshot', manifest, phases };
    } catch (err) {
      console.warn('Customer.io: stored memory snapshot not used (' + err.message + '); starting Python normally.');
      cache.delete(key).catch(() => {});
      await mayDownload;
    }
  }
  const py = await loadPyodide(options);
  mark('runtime');
  await unpack(py);
  mark('wheels');
  py.runPython('import ' + manifest.stdlib_guard);
  return { py, mode: 'start', manifest, phases };
}

// Makes the memory snapshot return visits restore and keeps it in Cache Storage. Runs in a worker of its own,
// started by the page after the destination is ready on a visit that had none: an instance made with
// _makeSnapshot wraps JavaScript globals in a recording proxy that breaks DOM getters, so it cannot be the
// instance the destination runs in. Returns false when the browser has no Cache Storage or CompressionStream.
export async function makeSnapshot(base) {
  const manifest = BUILT || await (await fetch(new URL('manifest.json', base))).json();
  const cache = await openCache();
  if (!cache || !globalThis.CompressionStream) return false;
  const key = snapshotKey(manifest, base);
  if (await cache.match(key)) return true;
  const indexURL = new URL(manifest.pyodide, base).href;
  const wheels = manifest.boot_wheels.map((w) => get(wheelURL(manifest, w, base)));
  const { loadPyodide } = await import(indexURL + 'pyodide.mjs');
  const py = await loadPyodide({ indexURL, stdLibURL: new URL(manifest.stdlib, base).href,
    lockFileContents: manifest.lock, _makeSnapshot: true, stdout: () => {}, stderr: () => {} });
  for (const w of wheels) py.unpackArchive(await w, 'wheel', { extractDir: manifest.site_packages });
  py.runPython('import ' + manifest.stdlib_guard + '\n' + PRELOAD);
  const gz = new Blob([py.makeMemorySnapshot()]).stream().pipeThrough(new CompressionStream('gzip'));
  const body = await new Response(gz).blob();
  for (const old of await cache.keys()) if (old.url !== key) await cache.delete(old);
  await cache.put(key, new Response(body, { headers: { 'x-cio-encoding': 'gzip', 'content-type': 'application/octet-stream' } }));
  return true;
}
