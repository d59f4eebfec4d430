// Boots Pyodide with the cio_browser wheel: restores the build's memory snapshot when there is one (much faster
// than starting Python), otherwise starts Python and loads the wheel. Shared by the page loader and the worker.
export async function bootPython(base) {
  const manifest = await (await fetch(new URL('manifest.json', base))).json();
  const indexURL = new URL(manifest.pyodide, base).href;
  const { loadPyodide } = await import(indexURL + 'pyodide.mjs');
  const quiet = { stdout: () => {}, stderr: (m) => console.warn('Customer.io (python): ' + m) };
  if (manifest.snapshot && globalThis.DecompressionStream) {
    try {
      const snapshot = fetch(new URL(manifest.snapshot, base)).then((r) => {
        if (!r.ok) throw new Error('snapshot HTTP ' + r.status);
        return new Response(r.body.pipeThrough(new DecompressionStream('gzip'))).arrayBuffer();
      });
      const wheel = fetch(new URL(manifest.wheels.cio_browser, base)).then((r) => r.arrayBuffer());
      const py = await loadPyodide({ indexURL, _loadSnapshot: snapshot, ...quiet });
      // Files are not part of a snapshot: unpack the (small) wheel again for modules imported later.
      py.unpackArchive(await wheel, 'wheel', { extractDir: manifest.site_packages });
      return { py, mode: 'snapshot', manifest };
    } catch (err) {
      console.warn('Customer.io: memory snapshot not used (' + err.message + '); starting Python normally.');
    }
  }
  // Wheels download while the runtime starts; a failed wheel only logs, so importing it is the real check.
  const packages = (manifest.boot_wheels || ['cio_browser']).map((w) => new URL(manifest.wheels[w], base).href);
  const py = await loadPyodide({ indexURL, packages, ...quiet });
  return { py, mode: 'start', manifest };
}
