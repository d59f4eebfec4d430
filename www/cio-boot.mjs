// Boots Pyodide with the cio_browser wheel. Shared by the page loader (boot "idle"/"eager") and the worker, into
// which build.py bundles it; build.py also writes the site's manifest into BUILT, so no request waits for it.
//
// First visit: Python starts the ordinary way on the trimmed standard library. Once the destination is ready, the
// page has makeSnapshot() run in a separate worker: it starts Python again (from the HTTP cache), imports
// cio_browser, takes a memory snapshot and keeps its non-zero pages in the origin private file system (OPFS).
// Return visits restore it instead of starting Python (no network bytes: the snapshot never leaves the visitor's
// browser). A snapshot that cannot be read or restored is deleted and Python starts normally.
const BUILT = /*@cio-manifest@*/null;
// The storage layout is Python's (cio_browser/layout.py): build.py writes it over this placeholder.
const LAYOUT = {/*CIO_STORAGE_LAYOUT*/};
const SNAPSHOT_FOLDER = LAYOUT.snapshotFolder;
const PRELOAD = 'import cio_browser, cio_browser.browser, cio_browser.classic, cio_browser.subscriptions, cio_browser.presets\nimport asyncio, json';

function get(url) {
  // Low priority: the page's own images and scripts go first.
  return fetch(url, { priority: 'low' }).then((r) => {
    if (!r.ok) throw new Error(url + ': HTTP ' + r.status);
    return r.arrayBuffer();
  });
}

// The snapshot lives in OPFS, not Cache Storage: a dedicated worker reads it with a synchronous access handle
// straight into the wasm memory it restores (≈ 20 ms for 12.5 MB here, where Cache Storage took 80-190 ms and a copy).
async function snapshotFolder(create) {
  try {
    return await (await navigator.storage.getDirectory()).getDirectoryHandle(SNAPSHOT_FOLDER, { create });
  } catch (err) { return null; }   // no OPFS (or no folder yet): no snapshot
}

async function snapshotFile(folder, name) {
  try { return folder ? await folder.getFileHandle(name) : null; } catch (err) { return null; }
}

// A memory snapshot is Pyodide's whole wasm memory (≈ 31 MB after the import), of which ≈ 12 MB is not zero. It is
// kept as its non-zero 4 KiB pages, uncompressed: reading them takes a few tens of ms, where gunzipping the whole
// memory took 0.3-0.5 s of every return visit. Layout (little-endian uint32): magic, memory
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
  return [new Uint8Array(head.buffer), ...runs.map(([offset, length]) => memory.subarray(offset, offset + length))];
}

// `read(into, at)` fills the Uint8Array `into` from the stored bytes at offset `at` and returns how many it read.
function unpackSnapshot(read, size) {
  const head = new Uint32Array(3);
  if (read(new Uint8Array(head.buffer), 0) !== 12 || head[0] !== SNAPSHOT_MAGIC) throw new Error('unknown snapshot format');
  const runs = new Uint32Array(head[2] * 2);
  let at = 12 + runs.byteLength;
  if (at > size || read(new Uint8Array(runs.buffer), 12) !== runs.byteLength) throw new Error('truncated snapshot');
  const memory = new Uint8Array(head[1]);
  for (let i = 0; i < runs.length; i += 2) {
    const [offset, length] = [runs[i], runs[i + 1]];
    if (offset + length > memory.length || read(memory.subarray(offset, offset + length), at) !== length) {
      throw new Error('truncated snapshot');
    }
    at += length;
  }
  if (at !== size) throw new Error('snapshot is ' + size + ' bytes, expected ' + at);
  return memory;
}

// Reads a stored snapshot: in a dedicated worker through a read-only synchronous access handle (two tabs can hold
// one at once), each run straight into place; elsewhere (the page's own boot modes, a browser without read-only
// handles) from the file's bytes.
async function readSnapshot(file) {
  let handle = null;
  if (file.createSyncAccessHandle) handle = await file.createSyncAccessHandle({ mode: 'read-only' }).catch(() => null);
  if (handle) {
    try {
      return unpackSnapshot((into, at) => handle.read(into, { at }), handle.getSize());
    } finally { handle.close(); }
  }
  const bytes = new Uint8Array(await (await file.getFile()).arrayBuffer());
  return unpackSnapshot((into, at) => { const part = bytes.subarray(at, at + into.length); into.set(part); return part.length; },
    bytes.length);
}

async function writeSnapshot(folder, name, parts) {
  const file = await folder.getFileHandle(name, { create: true });
  const handle = await file.createSyncAccessHandle();   // makeSnapshot runs in a dedicated worker
  try {
    handle.truncate(0);
    let at = 0;
    for (const part of parts) at += handle.write(part, { at });
    handle.flush();
  } finally { handle.close(); }
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

// Files are not part of a snapshot (modules are): every boot installs the wheels, then Python looks afresh.
async function installWheels(py, wheels, dest) {
  for (const w of wheels) {
    const bytes = await w;
    if (!writeStoredZip(py, bytes, dest)) py.unpackArchive(bytes, 'wheel', { extractDir: dest });
  }
  py.runPython('import importlib\nimportlib.invalidate_caches()');
}

// One snapshot per Pyodide build and cio_browser wheel: a snapshot only restores into the exact build it came from.
function snapshotName(manifest) {
  return manifest.versions.pyodide + '-' + manifest.build + '.snapshot';
}

// `mayDownload` resolves when Python's downloads may start (the page's `load`): a return visit with a stored
// snapshot needs no network, so it starts at once; a first visit waits, so the page's own resources go first.
export async function bootPython(base, mayDownload = Promise.resolve()) {
  const t0 = performance.now();
  const phases = {};
  const mark = (name) => { phases[name] = Math.round(performance.now() - t0); };
  const manifest = BUILT || await (await fetch(new URL('manifest.json', base))).json();
  const indexURL = new URL(manifest.pyodide, base).href;
  const name = snapshotName(manifest);
  const folder = await snapshotFolder(false);
  const hit = await snapshotFile(folder, name);
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
  if (hit) {
    try {
      // A promise: read while Pyodide's JavaScript loads (Pyodide needs the snapshot's size before the wasm).
      const saved = readSnapshot(hit).then((memory) => { mark('snapshot-read'); return memory; });
      const py = await loadPyodide({ ...options, _loadSnapshot: saved });
      mark('runtime');
      await installWheels(py, wheels, manifest.site_packages);
      mark('wheels');
      return { py, mode: 'snapshot', manifest, phases };
    } catch (err) {
      console.warn('Customer.io: stored memory snapshot not used (' + err.message + '); starting Python normally.');
      folder.removeEntry(name).catch(() => {});
      await mayDownload;
    }
  }
  const py = await loadPyodide(options);
  mark('runtime');
  await installWheels(py, wheels, manifest.site_packages);
  mark('wheels');
  py.runPython('import ' + manifest.stdlib_guard);
  return { py, mode: 'start', manifest, phases };
}

// Makes the memory snapshot return visits restore and keeps it in OPFS. Runs in a dedicated worker of its own,
// started by the page after the destination is ready on a visit that had none: an instance made with
// _makeSnapshot wraps JavaScript globals in a recording proxy that breaks DOM getters, so it cannot be the
// instance the destination runs in. Returns false when the browser has no OPFS with synchronous access handles.
export async function makeSnapshot(base) {
  const manifest = BUILT || await (await fetch(new URL('manifest.json', base))).json();
  const folder = await snapshotFolder(true);
  if (!folder || !globalThis.FileSystemSyncAccessHandle) return false;
  const name = snapshotName(manifest);
  if (await snapshotFile(folder, name)) return true;
  const indexURL = new URL(manifest.pyodide, base).href;
  const wheels = manifest.boot_wheels.map((w) => get(wheelURL(manifest, w, base)));
  const { loadPyodide } = await import(indexURL + 'pyodide.mjs');
  const py = await loadPyodide({ indexURL, stdLibURL: new URL(manifest.stdlib, base).href,
    lockFileContents: manifest.lock, _makeSnapshot: true, stdout: () => {}, stderr: () => {} });
  await installWheels(py, wheels, manifest.site_packages);
  py.runPython('import ' + manifest.stdlib_guard + '\n' + PRELOAD);
  const parts = packSnapshot(py.makeMemorySnapshot());
  for await (const old of folder.keys()) if (old !== name) await folder.removeEntry(old).catch(() => {});
  // Written under a temporary name and then renamed where the browser can, so a visit never reads half of one
  // (where it cannot, a half-written file fails unpackSnapshot's checks and is deleted).
  const part = name + '.part';
  await writeSnapshot(folder, part, parts);
  const written = await folder.getFileHandle(part);
  if (written.move) await written.move(name);
  else { await writeSnapshot(folder, name, parts); await folder.removeEntry(part); }
  return true;
}
