// Baseline for the loader: the textbook way to get cio_browser into a page. Same manifest, same Pyodide, same
// boot wheels as cio-browser.js, started at once (no idle wait), with nothing else on the page.
const base = new URL('/', location.href);
const manifest = await (await fetch(new URL('manifest.json', base))).json();
const indexURL = new URL(manifest.pyodide, base).href;
const { loadPyodide } = await import(indexURL + 'pyodide.mjs');
const wheels = manifest.boot_wheels.map((name) => new URL(manifest.wheels[name], base).href);
const pyodide = await loadPyodide({ indexURL, packages: wheels });
performance.mark('bench:runtime');
pyodide.pyimport('cio_browser');
performance.mark('bench:ready');
window.benchBare = { pyodide };
