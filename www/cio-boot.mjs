// Boots Pyodide with the cio_browser wheel. Shared by the page loader (boot "idle"/"eager") and the worker, into
// which build.py bundles it; build.py also writes the site's manifest into BUILT, so no request waits for it.
//
// First visit: Python starts the ordinary way on the trimmed standard library. Once the destination is ready, the
// page has makeSnapshot() run in a separate worker: it starts Python again (from the HTTP cache), imports
// cio_browser, takes a memory snapshot and keeps its non-zero pages in Cache Storage. Return visits restore it instead
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

// A memory snapshot is Pyodide's whole wasm memory (≈ 31 MB after the import), of which ≈ 12 MB is not zero. It is
// kept as its non-zero 4 KiB pages, uncompressed: reading 12 MB out of Cache Storage takes a few tens of ms, where
// gunzipping the whole memory took 0.3-0.5 s of every return visit. Layout (little-endian uint32): magic, memory
// size, run count, then (offset, length) per run of non-zero pages, then the runs' bytes in order.
const SNAPSHOT_MAGIC = 0x31534943;   // "CIS1"
const PAGE = 4096;

function packSnapshot(memory) {
  const words = new Uint32Array(memory.slice().buffer);   // aligned copy
  const pageWords = PAGE / 4;
  const runs = [];
  let open = -1;
  for (let page = 0; page * pageWords < words.length; page++) {
    let used = false;
    for (let i = page * pageWords, end = Math.min(words.length, i + pageWords); i < end; i++) if (words[i]) { used = true; break; }
    if (used && open < 0) open = page * PAGE;
    if (!used && open >= 0) { runs.push([open, page * PAGE - open]); open = -1; }
  }
  if (open >= 0) runs.push([open, words.length * 4 - open]);
  const head = new Uint32Array(3 + runs.length * 2);
  head.set([SNAPSHOT_MAGIC, memory.length, runs.length]);
  runs.forEach(([offset, length], i) => head.set([offset, length], 3 + 2 * i));
  return new Blob([head, ...runs.map(([offset, length]) => memory.subarray(offset, offset + length))]);
}

function unpackSnapshot(buffer) {
  const [magic, size, count] = new Uint32Array(buffer, 0, 3);
  if (magic !== SNAPSHOT_MAGIC) throw new Error('unknown snapshot format');
  const runs = new Uint32Array(buffer, 12, count * 2);
  const memory = new Uint8Array(size);
  let at = 12 + count * 8;
  for (let i = 0; i < count; i++) {
    memory.set(new Uint8Array(buffer, at, runs[2 * i + 1]), runs[2 * i]);   // a RangeError if it does not fit
    at += runs[2 * i + 1];
  }
  if (at !== buffer.byteLength) throw new Error('snapshot is ' + buffer.byteLength + ' bytes, expected ' + at);
  return memory;
}

// The wheel the worker unpacks: the compiled twin where build.py made one (no source compiled in the browser).
function wheelURL(manifest, w, base) {
  return new URL((manifest.compiled || {})[w] || manifest.wheels[w], base).href;
}

// The wheels are zips of *stored* entries (build.py), so the worker writes their files straight into Pyodide's file
// system: Python's zipfile and shutil, which unpackArchive runs, took 0.1-0.2 s of a return visit. Returns false for
// an archive it does not expect (compressed entries, absolute or `..` paths); unpackArchive takes that one.
function writeStoredZip(py, bytes, dest) {
  const u8 = new Uint8Array(bytes);
  const view = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  let end = u8.length - 22;
  while (end >= 0 && view.getUint32(end, true) !== 0x06054b50) end--;
  if (end < 0) return false;
  const files = [];
  const utf8 = new TextDecoder();
  for (let i = 0, at = view.getUint32(end + 16, true); i < view.getUint16(end + 10, true); i++) {
    if (view.getUint32(at, true) !== 0x02014b50) return false;
    const size = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const name = utf8.decode(u8.subarray(at + 46, at + 46 + nameLength));
    if (view.getUint16(at + 10, true) !== 0 || size !== view.getUint32(at + 24, true) || name.startsWith('/')
        || name.split('/').includes('..')) return false;
    const local = view.getUint32(at + 42, true);
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    files.push([dest + '/' + name, u8.subarray(start, start + size)]);
    at += 46 + nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
  }
  for (const [path, data] of files) {
    if (path.endsWith('/')) { py.FS.mkdirTree(path); continue; }
    py.FS.mkdirTree(path.slice(0, path.lastIndexOf('/')));
    py.FS.writeFile(path, data);
  }
  return true;
}

function unpackWheel(py, bytes, dest) {
  if (!writeStoredZip(py, bytes, dest)) py.unpackArchive(bytes, 'wheel', { extractDir: dest });
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
    for (const w of wheels) unpackWheel(py, await w, manifest.site_packages);
    py.runPython('import importlib\nimportlib.invalidate_caches()');
  };
  if (hit) {
    try {
      // A promise: Pyodide reads the snapshot while it fetches and compiles the wasm.
      const saved = hit.arrayBuffer().then((buffer) => { const memory = unpackSnapshot(buffer); mark('snapshot-read'); return memory; });
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
// instance the destination runs in. Returns false when the browser has no Cache Storage.
export async function makeSnapshot(base) {
  const manifest = BUILT || await (await fetch(new URL('manifest.json', base))).json();
  const cache = await openCache();
  if (!cache) return false;
  const key = snapshotKey(manifest, base);
  if (await cache.match(key)) return true;
  const indexURL = new URL(manifest.pyodide, base).href;
  const wheels = manifest.boot_wheels.map((w) => get(wheelURL(manifest, w, base)));
  const { loadPyodide } = await import(indexURL + 'pyodide.mjs');
  const py = await loadPyodide({ indexURL, stdLibURL: new URL(manifest.stdlib, base).href,
    lockFileContents: manifest.lock, _makeSnapshot: true, stdout: () => {}, stderr: () => {} });
  for (const w of wheels) unpackWheel(py, await w, manifest.site_packages);
  py.runPython('import importlib\nimportlib.invalidate_caches()\nimport ' + manifest.stdlib_guard + '\n' + PRELOAD);
  const body = packSnapshot(py.makeMemorySnapshot());
  for (const old of await cache.keys()) if (old.url !== key) await cache.delete(old);
  await cache.put(key, new Response(body, { headers: { 'content-type': 'application/octet-stream' } }));
  return true;
}
