// Compiles Python source to bytecode with Pyodide's own interpreter, run by Node (build.py calls it).
//
// Why: a browser that imports .py files compiles them on every first visit, and in wasm that was most of Python's
// start (cold start 4.8 s -> 1.5 s in Node for the destination's 199 modules). A .pyc only loads in the exact
// Python it was made by (magic number, bytecode), and the machine that builds the site may have no Python 3.14,
// so Pyodide compiles them itself; Node comes with npm, which the build already needs.
//
// Usage: node tools/pyodide_compile.mjs <pyodide dir> <source dir> <output dir>
// Every <source dir>/**/*.py becomes <output dir>/**/*.pyc: optimize=2 (no docstrings, no asserts), no column
// tables (PYTHONNODEBUGRANGES), unchecked-hash pycs (no timestamps: the same source gives the same bytes).
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const [pyodideDir, sourceDir, outputDir] = process.argv.slice(2);
if (!outputDir) {
  console.error('usage: node tools/pyodide_compile.mjs <pyodide dir> <source dir> <output dir>');
  process.exit(2);
}
const indexURL = path.resolve(pyodideDir) + '/';
const { loadPyodide } = await import(pathToFileURL(indexURL + 'pyodide.mjs').href);
const py = await loadPyodide({ indexURL, env: { PYTHONNODEBUGRANGES: '1' }, stdout: () => {}, stderr: (m) => console.error(m) });
py.mountNodeFS('/cio_src', path.resolve(sourceDir));
py.mountNodeFS('/cio_out', path.resolve(outputDir));
let count;
try {
  count = py.runPython(`
import os, py_compile, sys
assert not sys.flags.optimize and not sys._xoptions
done = 0
for root, dirs, files in os.walk('/cio_src'):
    dirs.sort()
    for name in sorted(files):
        if name.endswith('.py'):
            rel = os.path.relpath(os.path.join(root, name), '/cio_src')
            target = os.path.join('/cio_out', rel + 'c')
            os.makedirs(os.path.dirname(target), exist_ok=True)
            py_compile.compile(os.path.join(root, name), cfile=target, dfile=rel, doraise=True, optimize=2,
                               invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
            done += 1
done
`);
} catch (err) {
  // The Python traceback alone (names the file and line), not Node's dump of Pyodide's minified source.
  console.error(String(err && err.message).trim().split('\n').slice(-6).join('\n'));
  process.exit(1);
}
console.log(`compiled ${count} files with Python ${py.runPython('import sys; sys.version.split()[0]')}`);
