"""build.py assembles a self-contained site: manifest, files and no CDN references outside vendor/.

These tests never download: they run only when ``.cache/`` already holds every pinned artifact (run
``python build.py`` once) and build with ``offline=True``, so a cache miss fails loudly instead of fetching.
One build (~1-2 s, mostly un-gzipping Pyodide) is shared by the module.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.util
import io
import json
import os
import re
import shutil
import sys
import tomllib
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from cio_browser.sink import IMMUTABLE_PREFIX

ROOT = Path(__file__).resolve().parents[2]
CDN_HOSTS = (b"cdn.jsdelivr.net", b"cdn.segment.com", b"unpkg.com")


def _load_build_py() -> ModuleType:
    """Load build.py by path: ``import build`` could pick up PyPA's ``build`` package if it is installed."""
    spec = importlib.util.spec_from_file_location("cio_browser_build_script", ROOT / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class body runs
    spec.loader.exec_module(module)
    return module


build_py = _load_build_py()
MISSING = build_py.missing_downloads()
needs_cache = pytest.mark.skipif(
    bool(MISSING), reason=f"not in .cache/ (run `python build.py` once to download): {', '.join(MISSING)}"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("site") / "dist"
    manifest = build_py.build(out, offline=True, quiet=True)
    return out, manifest


@needs_cache
def test_manifest_names_existing_files(site: tuple[Path, dict]) -> None:
    out, manifest = site
    assert json.loads((out / "manifest.json").read_text()) == manifest
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert manifest["version"] == version
    assert set(manifest["wheels"]) == {"cio_browser", "python_dateutil", "tzdata", "pyodide_http"}
    assert list(manifest["wheels"])[-1] == "cio_browser"  # dependencies first
    # cio_browser needs only the standard library at run time, so it boots alone (the others are shipped for
    # PyScript pages that want them)
    assert manifest["boot_wheels"] == ["cio_browser"]
    for url in manifest["wheels"].values():
        assert url.startswith("/wheels/") and url.endswith("-none-any.whl")
        assert (out / url.lstrip("/")).is_file(), url
    assert Path(manifest["wheels"]["cio_browser"]).name.startswith(f"cio_browser-{version}-0")

    pyodide = out / manifest["pyodide"].strip("/")
    for name in ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json"):
        assert (pyodide / name).is_file(), name
    analytics = out / manifest["analytics"].strip("/")
    assert (analytics / "index.js").is_file() and (analytics / "standalone.js").is_file()
    chunks = sorted(p.name for p in (analytics / "analytics-next" / "bundles").glob("*.bundle.*.js"))
    assert chunks and all((analytics / c).is_file() for c in chunks)
    assert (out / manifest["pyscript"].strip("/") / "core.js").is_file()
    assert not list(out.rglob("*.map"))
    assert manifest["sizes"]["total"] > manifest["sizes"]["pyodide"] > 10_000_000


@needs_cache
def test_no_cdn_reference_outside_vendor(site: tuple[Path, dict]) -> None:
    out, _ = site
    for path in out.rglob("*"):
        third_party = (out / "vendor") in path.parents and (out / build_py.OWN_VENDOR_DIR) not in path.parents
        if not path.is_file() or third_party:
            continue
        blobs = [path.read_bytes()]
        if path.suffix == ".whl":
            with zipfile.ZipFile(path) as zf:
                blobs = [zf.read(n) for n in zf.namelist()]
        for blob in blobs:
            assert not [h for h in CDN_HOSTS if h in blob], path


@needs_cache
def test_cio_browser_wheel_is_pure_and_records_match(site: tuple[Path, dict]) -> None:
    out, manifest = site
    wheel = out / manifest["wheels"]["cio_browser"].lstrip("/")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert {n.split("/")[0] for n in names} == {"cio_browser", f"cio_browser-{manifest['version']}.dist-info"}
        info = f"cio_browser-{manifest['version']}.dist-info"
        assert "Tag: py3-none-any" in zf.read(f"{info}/WHEEL").decode()
        assert f"Version: {manifest['version']}" in zf.read(f"{info}/METADATA").decode()
        rows = list(csv.reader(io.StringIO(zf.read(f"{info}/RECORD").decode())))
        assert {r[0] for r in rows} == set(names)
        for name, digest, size in rows:
            if name.endswith("RECORD"):
                continue
            data = zf.read(name)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert (digest, int(size)) == (f"sha256={expected}", len(data)), name


def test_offline_cache_miss_fails_with_exit_code_2_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(build_py.RegistryError) as exc:
        build_py.build(tmp_path / "dist", cache_dir=tmp_path / "cache", offline=True)
    assert exc.value.exit_code == 2
    assert "pyodide@" in str(exc.value)
    assert not (tmp_path / "dist").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".dist")]


# ---- first visit: fewer bytes (issue 9) --------------------------------------------------------------------


@needs_cache
def test_browser_wheel_holds_only_browser_code_stored_without_the_readme(site: tuple[Path, dict]) -> None:
    out, manifest = site
    with zipfile.ZipFile(out / manifest["wheels"]["cio_browser"].lstrip("/")) as zf:
        names = zf.namelist()
        assert "cio_browser/browser.py" in names and "cio_browser/delivery/engine.py" in names
        assert not [n for n in names if n.startswith(("cio_browser/sink", "cio_browser/relay", "cio_browser/trackapi"))]
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}  # brotli compresses it whole
        meta = zf.read(f"cio_browser-{manifest['version']}.dist-info/METADATA").decode()
        assert "# cio_browser" not in meta and "Description-Content-Type" not in meta
    # pip install still gets the local endpoint: pyproject's packages are not filtered
    assert "cio_browser" in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    assert (ROOT / "cio_browser" / "sink.py").is_file()


@pytest.mark.parametrize("rel, excluded", [
    ("cio_browser/sink.py", True), ("cio_browser/relay.py", True), ("cio_browser/relay/app.py", True),
    ("cio_browser/relay_config.py", True), ("cio_browser/trackapi.py", True), ("cio_browser/trackapi/v2.py", True),
    ("cio_browser/browser.py", False), ("cio_browser/delivery/engine.py", False), ("cio_browser/settings.py", False),
])
def test_server_only_modules_are_kept_out_of_the_browser_wheel_by_pattern(rel: str, excluded: bool) -> None:
    assert build_py.browser_excluded(rel) is excluded


#: PEP 552 flags of an unchecked hash-based pyc: loaded as is, no timestamp in the bytes (reproducible builds).
UNCHECKED_HASH_PYC = 0b01


def _pyc_headers(zf: zipfile.ZipFile) -> set[tuple[bytes, int]]:
    return {(zf.read(n)[:4], int.from_bytes(zf.read(n)[4:8], "little")) for n in zf.namelist() if n.endswith(".pyc")}


@needs_cache
def test_trimmed_stdlib_is_the_listed_files_and_the_guard_as_bytecode_only(site: tuple[Path, dict]) -> None:
    """No source in the archive the browser imports from: nothing is compiled in a visitor's browser."""
    out, manifest = site
    listed = build_py.stdlib_keep()
    sources, trimmed = build_py.stdlib_sources(out / manifest["pyodide"].strip("/") / "python_stdlib.zip")
    with zipfile.ZipFile(out / manifest["stdlib"].lstrip("/")) as zf:
        names = set(zf.namelist())
        assert names == {n + "c" for n in listed} | {f"{manifest['stdlib_guard']}.pyc"}
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}
        headers = _pyc_headers(zf)
    # one Python made them all (Pyodide's, under Node), as unchecked hash-based pycs
    assert len(headers) == 1 and next(iter(headers))[1] == UNCHECKED_HASH_PYC, headers
    guard = sources[f"{manifest['stdlib_guard']}.py"].decode()
    # what the destination imports at run time is there; what it never imports is not
    for needed in ("json/__init__.py", "asyncio/__init__.py", "email/utils.py", "pyodide/ffi/__init__.py",
                   "_pyodide/_base.py", "dataclasses.py", "re/__init__.py", "urllib/parse.py"):
        assert needed + "c" in names, needed
    for unused in ("xml/dom/__init__.py", "unittest/__init__.py", "pydoc.py", "email/message.py"):
        module = unused[:-3].replace("/__init__", "").replace("/", ".")
        assert unused + "c" not in names and repr(module) in guard and module in trimmed
    assert (out / manifest["pyodide"].strip("/") / "python_stdlib.zip").is_file()  # PyScript pages keep it all
    assert len(names) < 200  # of Pyodide's 614 files


@needs_cache
def test_worker_unpacks_a_compiled_twin_of_the_cio_browser_wheel(site: tuple[Path, dict]) -> None:
    """Same package, same build tag, every module as bytecode from the same Python as the standard library."""
    out, manifest = site
    source, compiled = (out / manifest["wheels"]["cio_browser"].lstrip("/"),
                        out / manifest["compiled"]["cio_browser"].lstrip("/"))
    assert compiled.name == source.name.replace("-py3-none-any.whl", "-cp314-none-any.whl")
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(compiled) as cz, \
            zipfile.ZipFile(out / manifest["stdlib"].lstrip("/")) as std:
        expected = {n + "c" if n.endswith(".py") else n for n in src.namelist()}
        assert set(cz.namelist()) == expected
        assert _pyc_headers(cz) == _pyc_headers(std)
        info = f"cio_browser-{manifest['version']}.dist-info"
        assert "Tag: cp314-none-any" in cz.read(f"{info}/WHEEL").decode()
        rows = list(csv.reader(io.StringIO(cz.read(f"{info}/RECORD").decode())))
        for name, digest, _size in rows[:-1]:
            data = cz.read(name)
            assert digest == "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


@needs_cache
def test_bytecode_is_cached_by_source_and_a_syntax_error_names_the_file(
        site: tuple[Path, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pyodide compiles what is new once; a rebuild of the same sources never starts Node again."""
    out, manifest = site
    pyodide = out / manifest["pyodide"].strip("/")
    first = build_py.compile_for_pyodide({"pkg/m.py": b"VALUE = 41 + 1\n"}, pyodide, tmp_path, lambda _m: None)
    with zipfile.ZipFile(out / manifest["stdlib"].lstrip("/")) as std:
        assert (first["pkg/m.py"][:4], UNCHECKED_HASH_PYC) in _pyc_headers(std)
    monkeypatch.setattr(build_py.shutil, "which", lambda _name: None)  # no Node: only the cache can answer
    assert build_py.compile_for_pyodide({"pkg/m.py": b"VALUE = 41 + 1\n"}, pyodide, tmp_path, print) == first
    with pytest.raises(build_py.BuildError, match="Node.js"):
        build_py.compile_for_pyodide({"pkg/m.py": b"VALUE = 43\n"}, pyodide, tmp_path, print)
    monkeypatch.undo()
    with pytest.raises(build_py.BuildError, match=r"pkg/broken\.py"):
        build_py.compile_for_pyodide({"pkg/broken.py": b"def f(:\n"}, pyodide, tmp_path, print)


def test_stdlib_guard_names_a_trimmed_module_loudly(tmp_path: Path) -> None:
    """The guard, run under CPython: an import of a trimmed module fails with the fix in the message."""
    source = build_py.STDLIB_GUARD % "{'xml', 'xml.dom', 'cio_fake_trimmed'}"
    (tmp_path / "guard_under_test.py").write_text(source)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import guard_under_test\n"
            "try:\n    import cio_fake_trimmed\nexcept ModuleNotFoundError as e:\n    print('ERR', e)\n"
            "import json; print('json ok')")
    import subprocess
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True)
    assert "ERR Customer.io: the standard-library module 'cio_fake_trimmed' is not in cio_browser's" in out.stdout
    assert "stdlib-modules.txt" in out.stdout and "json ok" in out.stdout
    assert "cio_fake_trimmed" in out.stderr  # also reported on its own (console.error in a browser)


@needs_cache
def test_assets_are_precompressed_and_archives_compress(site: tuple[Path, dict]) -> None:
    import gzip

    import brotli

    out, manifest = site
    pyodide = out / manifest["pyodide"].strip("/")
    for path in (pyodide / "pyodide.asm.wasm", pyodide / "pyodide.asm.mjs", out / manifest["stdlib"].lstrip("/"),
                 out / manifest["wheels"]["cio_browser"].lstrip("/"), out / "cio-browser.js", out / worker_path(out)):
        data = path.read_bytes()
        br, gz = path.with_name(path.name + ".br"), path.with_name(path.name + ".gz")
        assert brotli.decompress(br.read_bytes()) == data and gzip.decompress(gz.read_bytes()) == data, path
        assert br.stat().st_size < gz.stat().st_size < len(data), path
    # stored entries: the trimmed stdlib compresses to a quarter, the wheel to under a third
    stdlib = out / manifest["stdlib"].lstrip("/")
    assert (stdlib.with_name(stdlib.name + ".br")).stat().st_size < stdlib.stat().st_size / 4


@needs_cache
def test_first_visit_bytes_stay_under_4_mb_with_brotli(site: tuple[Path, dict]) -> None:
    """What the destination itself downloads on a first visit, as the browser receives it (brotli)."""
    out, manifest = site
    pyodide = manifest["pyodide"]
    urls = ["/cio-browser.js", "/" + worker_path(out), pyodide + "pyodide.mjs", pyodide + "pyodide.asm.mjs",
            pyodide + "pyodide.asm.wasm", manifest["stdlib"],
            *((manifest["compiled"].get(w) or manifest["wheels"][w]) for w in manifest["boot_wheels"])]
    total = sum((out / (u.lstrip("/") + ".br")).stat().st_size for u in urls)
    assert total <= 4_000_000, total
    assert "snapshot" not in manifest  # the build makes none: the visitor's browser does


def worker_path(out: Path) -> str:
    """The built worker's path, as the loader has it (build.py writes it into cio-browser.js)."""
    found = re.findall(r'var WORKER = "([^"]+)";', (out / "cio-browser.js").read_text())
    assert len(found) == 1, "cio-browser.js names its worker once"
    return found[0]


@needs_cache
def test_the_worker_is_named_by_its_content_under_the_immutable_vendor_folder(site: tuple[Path, dict]) -> None:
    """A return visit starts the worker from the HTTP cache with no revalidation: its path changes with it."""
    out, _ = site
    path = worker_path(out)
    digest = hashlib.sha256((out / path).read_bytes()).hexdigest()[:12]
    assert path == f"vendor/cio-browser/{digest}/cio-worker.mjs"
    assert path.startswith(IMMUTABLE_PREFIX.lstrip("/")) and not (out / "cio-worker.mjs").exists()


@needs_cache
def test_a_cdn_reference_in_our_worker_fails_the_build_although_it_sits_in_vendor(
        site: tuple[Path, dict], tmp_path: Path) -> None:
    out, manifest = site
    copy = tmp_path / "site"
    shutil.copytree(out, copy, copy_function=os.link)   # hard links: fast; the file we edit is replaced, not written
    worker = copy / worker_path(copy)
    text = worker.read_text()
    worker.unlink()
    worker.write_text(text + "\n// import('https://cdn.jsdelivr.net/pyodide/x.mjs')\n")
    with pytest.raises(build_py.BuildError, match="cio-worker.mjs references cdn.jsdelivr.net"):
        build_py.verify(copy, manifest, build_py.BuildResult(manifest={}))


@needs_cache
def test_boot_module_carries_the_manifest_and_the_worker_is_one_file(site: tuple[Path, dict]) -> None:
    out, manifest = site
    boot = (out / "cio-boot.mjs").read_text()
    assert build_py.MANIFEST_MARKER not in boot
    assert json.dumps(manifest["stdlib"]) in boot
    worker = (out / worker_path(out)).read_text()
    assert "import {" not in worker and "async function bootPython" in worker and "const archive" in worker
    assert "lockFileContents: manifest.lock" in boot and manifest["lock"]["packages"] == {}
