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
import sys
import tomllib
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

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
        if not path.is_file() or (out / "vendor") in path.parents:
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
