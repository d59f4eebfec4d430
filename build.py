#!/usr/bin/env python3
"""Assemble the static, self-contained cio_browser site in ``dist/``.

Why this exists: the destination runs in the page on Pyodide, and the page must never reach a CDN (privacy,
offline demos, reproducible benchmarks). So everything the page loads -- Pyodide, analytics.js 2.0, PyScript and
the Python wheels -- is vendored from *pinned* registry artifacts into one folder any static server can serve.

Layout produced (served at the site root)::

    dist/
      index.html, cio-browser.js, ...        copied from www/ (recursively)
      manifest.json                          what the JS loader reads: URLs of everything below
      vendor/pyodide-<v>/                    only the files loadPyodide fetches
      vendor/analytics-next-<v>/             UMD build + lazy chunks (also under analytics-next/bundles/)
      vendor/pyscript-<v>/                   PyScript's dist/ without source maps
      wheels/*.whl                           pure-Python wheels for Pyodide's Python, cio_browser included

Downloads are cached in ``.cache/`` (keyed by name + version and checked against pinned hashes), so a second run
touches no network. ``dist/`` is built in a temporary sibling directory and swapped in at the end, so a failed
build never leaves a half-written site behind.

What a visitor downloads is kept small (issue 9): the standard library is trimmed to the files the destination
imports (``stdlib-modules.txt``, found by running it: tools/trace_stdlib.py), archives are written with *stored*
entries so transfer compression works on them, and every text or archive file gets pre-compressed ``.br`` and
``.gz`` siblings for servers that send them with ``Content-Encoding``. No memory snapshot is built here: the
visitor's own browser makes one after its first boot and keeps it in Cache Storage (cio-boot.mjs), so every
build path makes the same site and the build needs no browser.

CLI: ``python build.py [--out dist] [--quiet] [--offline]``; exit 2 when a download fails, 1 for other failures.
Library: ``build(out, offline=False, quiet=True) -> manifest dict`` (``offline=True`` never touches the network).
Standard library plus ``brotli`` (PyPI; ``pip install -e '.[build]'``), which the build checks for first.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import csv
import fnmatch
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

# --------------------------------------------------------------------------------------------------------------
# Pins. Bumping a version means bumping its hash too: the build refuses artifacts that differ from the pin, so
# a registry (or proxy) can never silently change what ships. Get the new values with
#   npm view <pkg>@<version> dist.integrity          (npm tarballs, SRI sha512)
#   pip download --no-deps --only-binary=:all: --python-version <py> <pkg>==<v> -d x && sha256sum x/*.whl
# --------------------------------------------------------------------------------------------------------------

PYODIDE_VERSION = "314.0.7"
ANALYTICS_NEXT_VERSION = "1.84.3"
PYSCRIPT_VERSION = "0.7.31"
#: Python of the pinned Pyodide (pyodide-lock.json ``info.python``); wheels are resolved for it, not for the
#: CPython running this script. The build checks the lock file agrees.
PYODIDE_PYTHON = "3.14"


@dataclass(frozen=True)
class NpmPin:
    """An npm package pinned to a version and its registry integrity (``npm view <spec> dist.integrity``)."""

    name: str
    version: str
    integrity: str

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def tarball(self) -> str:
        """File name ``npm pack`` gives the tarball (``@scope/name`` becomes ``scope-name``)."""
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"


@dataclass(frozen=True)
class WheelPin:
    """A PyPI wheel pinned to a version and its sha256. ``key`` is the manifest key (import-style name)."""

    key: str
    name: str
    version: str
    sha256: str

    @property
    def spec(self) -> str:
        return f"{self.name}=={self.version}"


PYODIDE = NpmPin(
    "pyodide",
    PYODIDE_VERSION,
    "sha512-0YvXxEhfEdpLfb/XkM2BFAeMROq0iMUX2bzzH9pOttyMcWkwq+HbE5uyuGD82LN7y2q+SNvi/6V5JEsOlD2R1A==",
)
ANALYTICS_NEXT = NpmPin(
    "@segment/analytics-next",
    ANALYTICS_NEXT_VERSION,
    "sha512-5l7cPBzScxhfJ0zdcKQI4daDvMIWWUk7hClT1xGRelnHUltIEoQ9w8+ZpFPoWJMpX8D7IA1nVAfJbpiKi3XaKw==",
)
PYSCRIPT = NpmPin(
    "@pyscript/core",
    PYSCRIPT_VERSION,
    "sha512-GqM1aonc1N4RTkNZ1zJ8jJk8+i2cqeztZslPsAiQtn+wHHkUX9Z1FgIg4HjCvhBylB68UKmbTVTzOobpgPIMVQ==",
)
NPM_PINS: tuple[NpmPin, ...] = (PYODIDE, ANALYTICS_NEXT, PYSCRIPT)

#: Third-party wheels, dependencies first: ``pyodide.loadPackage`` does no dependency resolution for URLs.
WHEEL_PINS: tuple[WheelPin, ...] = (
    WheelPin("tzdata", "tzdata", "2026.6", "0a10eec6e13ef16b627fabed9a5f2ba61a62b1c67f327305f4e7e412a70b4aec"),
    WheelPin(
        "python_dateutil",
        "python-dateutil",
        "4.0.0",
        "a5e246f79eb80475e691bf93862cead98decd8a498cf53ba0516fcdc0f50dc1c",
    ),
    WheelPin(
        "pyodide_http", "pyodide-http", "0.2.2", "cf006ea593c1643b5badeb4d42ed24a6eebd830276171fa1f82de0777b3fb608"
    ),
)

#: What ``loadPyodide`` fetches in a browser (checked in pyodide.mjs 314.0.7: ``${indexURL}pyodide.asm.mjs``,
#: ``pyodide.asm.wasm``, ``python_stdlib.zip`` and, unless lockFileURL/lockFileContents is given,
#: ``pyodide-lock.json``), plus the two entry points. ``pyodide.js`` is the classic-script build.
PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json")
PYODIDE_OPTIONAL_FILES = ("pyodide.js",)

#: Hosts the page must never contact. Outside vendor/ a hit fails the build; inside vendor/ it is reported only
#: (the libraries carry default CDN URLs that the loader overrides: indexURL, _cdn, PyScript's interpreter).
CDN_HOSTS = (
    "cdn.jsdelivr.net",
    "fastly.jsdelivr.net",
    "cdn.segment.com",
    "unpkg.com",
    "esm.sh",
    "cdnjs.cloudflare.com",
)

ROOT = Path(__file__).resolve().parent
DEFAULT_OUT = ROOT / "dist"
CACHE_DIR = ROOT / ".cache"
WWW_DIR = ROOT / "www"
PACKAGE = "cio_browser"
#: Names the build writes at the site root; www/ must not contain them.
GENERATED_NAMES = frozenset({"vendor", "wheels", "manifest.json"})
DOWNLOAD_TIMEOUT_S = 300  # per download; npm and pip retry on their own within it
#: Fixed zip timestamp (the zip epoch) so the cio_browser wheel is byte-for-byte reproducible.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)

#: Files of the cio_browser package that never run in the browser: the local endpoint (and anything split out
#: of it, such as a Track API model), the server-side relay. ``pip install`` still installs them (pyproject's
#: packages); only the browser wheel leaves them out. Patterns are fnmatch patterns on the path in the package.
BROWSER_EXCLUDE = ("cio_browser/sink.py", "cio_browser/sink/*", "cio_browser/relay*", "cio_browser/trackapi*")
#: The standard-library files the destination imports in Pyodide, one per line (tools/trace_stdlib.py).
STDLIB_LIST = ROOT / "stdlib-modules.txt"
#: Written into the trimmed standard library. Imported first at boot: an import of a module that exists in
#: Pyodide's full standard library but was trimmed away fails with a message naming the fix, and is also
#: reported with console.error, because library code often swallows ImportError (a silent fallback in a
#: visitor's browser is worse than a loud failure in our tests).
STDLIB_GUARD = '''"""Installed by cio_browser's boot: names modules trimmed out of this standard library, loudly."""
import sys

TRIMMED = frozenset(%s)


class TrimmedStdlibFinder:
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name.partition(".")[0] not in TRIMMED:
            return None
        message = (f"Customer.io: the standard-library module {name!r} is not in cio_browser's trimmed standard "
                   "library; add it to stdlib-modules.txt (tools/trace_stdlib.py) and rebuild")
        try:
            from js import console
            console.error(message)
        except Exception:
            print(message, file=sys.stderr)
        raise ModuleNotFoundError(message, name=name)


sys.meta_path.append(TrimmedStdlibFinder)
'''
STDLIB_GUARD_MODULE = "_cio_stdlib_guard"
#: Pre-compressed siblings are written for these suffixes (text and archives with stored entries).
PRECOMPRESS = frozenset({".html", ".js", ".mjs", ".css", ".json", ".wasm", ".zip", ".whl", ".txt", ".svg", ".map"})
#: brotli quality: 11 is the smallest; results are cached by content hash, so it costs once per file version.
BROTLI_QUALITY = 11

EXIT_FAILED = 1
EXIT_REGISTRY = 2


class BuildError(Exception):
    """A build failure with a message meant for a human and the exit code the CLI should return."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class RegistryError(BuildError):
    """A download failed (registry unreachable, proxy, missing version) or is unavailable offline: exit 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_REGISTRY)


@dataclass
class Part:
    """One row of the report table."""

    name: str
    source: str
    path: str
    files: int = 0
    size: int = 0
    indent: bool = False


@dataclass
class BuildResult:
    """Everything ``main`` prints; ``build`` returns only the manifest."""

    manifest: dict
    parts: list[Part] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    vendor_cdn: list[str] = field(default_factory=list)
    downloaded: list[str] = field(default_factory=list)
    seconds: float = 0.0


Log = Callable[[str], None]


# --------------------------------------------------------------------------------------------------------------
# Hashing and small helpers
# --------------------------------------------------------------------------------------------------------------


def _file_digest(path: Path, algorithm: str) -> bytes:
    h = hashlib.new(algorithm)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.digest()


def _sri_sha512(path: Path) -> str:
    """npm's integrity format, so pins can be copied from ``npm view … dist.integrity``."""
    return "sha512-" + base64.b64encode(_file_digest(path, "sha512")).decode()


def _sha256_hex(path: Path) -> str:
    return _file_digest(path, "sha256").hex()


_NOISE = re.compile(
    r"Unknown user config|A complete log of this run|^npm (?:error|ERR!)\s+at |^npm (?:error|ERR!)\s{2,}\w+: |"
    r"^npm (?:error|ERR!)\s*[{}]?\s*$|Running pip as the 'root' user"
)


def _tail(text: str, lines: int = 8) -> str:
    """The meaningful end of a subprocess's output: the real error without stack traces or progress noise."""
    kept = [ln.rstrip() for ln in text.strip().splitlines() if ln.strip() and not _NOISE.search(ln)]
    return "\n    ".join(kept[-lines:]) or "(no output)"


def _tree_size(path: Path) -> tuple[int, int]:
    """(file count, bytes) under ``path``; a file counts as itself."""
    if path.is_file():
        return 1, path.stat().st_size
    files = [p for p in path.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def _mb(size: int) -> str:
    return f"{size / 1e6:.2f}"


def _run(cmd: list[str], *, what: str, registry_hint: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run a download command; turn every way it can fail into one actionable RegistryError."""
    try:
        proc = subprocess.run(
            cmd, cwd=cwd, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT_S, stdin=subprocess.DEVNULL
        )
    except FileNotFoundError as exc:
        raise RegistryError(f"could not download {what}: {cmd[0]!r} is not installed or not on PATH") from exc
    except subprocess.TimeoutExpired as exc:
        raise RegistryError(
            f"could not download {what}: no answer after {DOWNLOAD_TIMEOUT_S} s; {registry_hint}"
        ) from exc
    if proc.returncode != 0:
        output = _tail(proc.stdout + "\n" + proc.stderr)
        raise RegistryError(f"could not download {what}: {output}\n  {registry_hint}")
    return proc


@contextlib.contextmanager
def _locked(cache_dir: Path) -> Iterator[None]:
    """Serialise builds sharing a cache: several engineers and test workers run this concurrently."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not POSIX: best effort, no lock
        yield
        return
    with (cache_dir / ".build.lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --------------------------------------------------------------------------------------------------------------
# Downloads (cached, verified)
# --------------------------------------------------------------------------------------------------------------

NPM_HINT = "check network/proxy settings (npm config get registry)"
PIP_HINT = "check network/proxy settings (pip config list; index-url/extra-index-url/proxy)"


def _cached_npm(pin: NpmPin, cache_dir: Path) -> Path | None:
    path = cache_dir / "npm" / pin.tarball
    if path.is_file() and _sri_sha512(path) == pin.integrity:
        return path
    return None


def fetch_npm(pin: NpmPin, cache_dir: Path, *, offline: bool, log: Log, downloaded: list[str]) -> Path:
    """Return the cached tarball of ``pin``, running ``npm pack`` first if it is missing or corrupt.

    ``npm pack <spec>`` fetches the registry tarball as-is (npm checks the registry's integrity) without creating
    node_modules; we then check it against our own pin. It packs into a private temp dir and is moved into place
    only when complete, so an interrupted download never poisons the cache.
    """
    if (hit := _cached_npm(pin, cache_dir)) is not None:
        return hit
    if offline:
        raise RegistryError(f"{pin.spec} is not in {cache_dir / 'npm'} and downloads are disabled (offline)")
    npm_dir = cache_dir / "npm"
    npm_dir.mkdir(parents=True, exist_ok=True)
    log(f"  npm pack {pin.spec} …")
    with tempfile.TemporaryDirectory(dir=npm_dir, prefix=".pack-") as tmp:
        _run(
            ["npm", "pack", pin.spec, "--pack-destination", tmp, "--ignore-scripts", "--loglevel=error"],
            what=f"{pin.spec} from the npm registry",
            registry_hint=NPM_HINT,
            cwd=Path(tmp),
        )
        produced = sorted(Path(tmp).glob("*.tgz"))
        if len(produced) != 1:
            raise RegistryError(f"could not download {pin.spec}: npm pack produced {[p.name for p in produced]}")
        got = _sri_sha512(produced[0])
        if got != pin.integrity:
            raise BuildError(
                f"{pin.spec} from the registry has integrity {got} but build.py pins {pin.integrity}.\n"
                f"  If you bumped the version on purpose, update the pin (npm view {pin.spec} dist.integrity);"
                " otherwise a proxy or mirror is serving a different tarball."
            )
        final = npm_dir / pin.tarball
        os.replace(produced[0], final)
    downloaded.append(pin.spec)
    return final


def _cached_wheel(pin: WheelPin, cache_dir: Path) -> Path | None:
    folder = cache_dir / "wheels" / f"{pin.name}-{pin.version}"
    for path in sorted(folder.glob("*.whl")):
        if _sha256_hex(path) == pin.sha256:
            return path
    return None


def fetch_wheel(pin: WheelPin, cache_dir: Path, *, offline: bool, log: Log, downloaded: list[str]) -> Path:
    """Return the cached wheel of ``pin``, running ``pip download`` for Pyodide's Python first if needed.

    ``--python-version`` makes pip pick wheels for Pyodide's Python rather than this CPython (without it pip
    refuses wheels that require a newer Python); ``--require-hashes`` makes pip itself enforce the pin.
    """
    if (hit := _cached_wheel(pin, cache_dir)) is not None:
        return hit
    if offline:
        raise RegistryError(f"{pin.spec} is not in {cache_dir / 'wheels'} and downloads are disabled (offline)")
    folder = cache_dir / "wheels" / f"{pin.name}-{pin.version}"
    folder.parent.mkdir(parents=True, exist_ok=True)
    log(f"  pip download {pin.spec} …")
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".pip-") as tmp:
        req = Path(tmp) / "requirements.txt"
        req.write_text(f"{pin.spec} --hash=sha256:{pin.sha256}\n")
        cmd = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--python-version", PYODIDE_PYTHON, "--require-hashes", "-r", str(req), "-d", str(Path(tmp) / "out"),
            "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
        ]  # fmt: skip
        try:
            _run(cmd, what=f"{pin.spec} from PyPI", registry_hint=PIP_HINT)
        except RegistryError as exc:
            if "DO NOT MATCH THE HASHES" in str(exc):
                raise BuildError(
                    f"{pin.spec} from the index does not match the sha256 pinned in build.py ({pin.sha256}).\n"
                    "  If you bumped the version on purpose, update the pin; otherwise the index serves another file."
                ) from exc
            raise
        produced = sorted((Path(tmp) / "out").glob("*.whl"))
        if len(produced) != 1 or _sha256_hex(produced[0]) != pin.sha256:
            raise BuildError(f"pip download {pin.spec} produced {[p.name for p in produced]}, not the pinned wheel")
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir()
        final = folder / produced[0].name
        os.replace(produced[0], final)
    downloaded.append(pin.spec)
    return final


def missing_downloads(cache_dir: Path = CACHE_DIR) -> list[str]:
    """Specs not (validly) in the cache. Lets tests skip instead of downloading."""
    missing = [p.spec for p in NPM_PINS if _cached_npm(p, cache_dir) is None]
    return missing + [p.spec for p in WHEEL_PINS if _cached_wheel(p, cache_dir) is None]


# --------------------------------------------------------------------------------------------------------------
# Vendoring npm tarballs
# --------------------------------------------------------------------------------------------------------------


def extract_selected(tgz: Path, dest: Path, select: Callable[[str], list[str]]) -> list[str]:
    """Copy chosen regular files out of an npm tarball without unpacking the rest.

    ``select`` gets a member path relative to the package root (``package/`` stripped) and returns the paths,
    relative to ``dest``, to write it to (none, one, or several). Destination names come from our selectors,
    never verbatim from the archive, so a hostile member name cannot escape ``dest``.
    """
    written: list[str] = []
    with tarfile.open(tgz, "r:gz") as tf:
        for member in tf:
            if not member.isfile():
                continue
            rel = member.name.split("/", 1)[1] if "/" in member.name else member.name
            targets = select(rel)
            if not targets:
                continue
            data = tf.extractfile(member)
            assert data is not None  # isfile() members always have data
            payload = data.read()
            for target in targets:
                out = (dest / target).resolve()
                if dest.resolve() not in out.parents:
                    raise BuildError(f"refusing to write {target!r} outside {dest}")
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(payload)
                written.append(target)
    return written


def _read_member(tgz: Path, rel: str) -> bytes:
    with tarfile.open(tgz, "r:gz") as tf:
        for member in tf:
            if member.isfile() and member.name.split("/", 1)[-1] == rel:
                data = tf.extractfile(member)
                assert data is not None
                return data.read()
    raise BuildError(f"{tgz.name} has no {rel}")


def vendor_pyodide(tgz: Path, dest: Path) -> list[str]:
    """Only the runtime files: the tarball also has consoles, type declarations and maps we never serve."""
    wanted = set(PYODIDE_FILES) | set(PYODIDE_OPTIONAL_FILES)
    written = extract_selected(tgz, dest, lambda rel: [rel] if rel in wanted else [])
    if missing := sorted(set(PYODIDE_FILES) - set(written)):
        raise BuildError(f"{PYODIDE.spec} lacks runtime files {missing}: has the package layout changed?")
    lock = json.loads((dest / "pyodide-lock.json").read_text())
    python = str(lock.get("info", {}).get("python", ""))
    if python.rsplit(".", 1)[0] != PYODIDE_PYTHON:
        raise BuildError(
            f"{PYODIDE.spec} runs Python {python} but PYODIDE_PYTHON is {PYODIDE_PYTHON}: update PYODIDE_PYTHON "
            "(wheels are resolved for it)"
        )
    return written


_UMD_JS = re.compile(r"dist/umd/([^/]+\.js)")


def vendor_analytics(tgz: Path, dest: Path) -> list[str]:
    """All UMD ``*.js`` (not maps or .gz); lazy chunks also under ``analytics-next/bundles/``.

    analytics-next sets its webpack public path to ``<window.analytics._cdn>/analytics-next/bundles/``; the page
    sets ``_cdn`` to this folder's URL, so chunks must exist at that sub-path. They stay at the top level too
    (the layout of dist/umd) for anything that loads them relative to index.js.
    """

    def select(rel: str) -> list[str]:
        m = _UMD_JS.fullmatch(rel)
        if not m:
            return []
        name = m.group(1)
        return [name, f"analytics-next/bundles/{name}"] if ".bundle." in name else [name]

    written = extract_selected(tgz, dest, select)
    for required in ("index.js", "standalone.js"):
        if required not in written:
            raise BuildError(f"{ANALYTICS_NEXT.spec} has no dist/umd/{required}: has the package layout changed?")
    chunks = {Path(p).name for p in written if p.startswith("analytics-next/bundles/")}
    for entry in ("index.js", "standalone.js"):
        text = (dest / entry).read_text(encoding="utf-8", errors="replace")
        if "/analytics-next/bundles/" not in text:
            raise BuildError(
                f"{ANALYTICS_NEXT.spec} {entry} no longer loads chunks from <_cdn>/analytics-next/bundles/; "
                "update vendor_analytics and the loader's _cdn"
            )
        # webpack's chunk-name map: `+".bundle."+{10:"89bf…",…}[t]+".js"`. Every hash must have its file.
        m = re.search(r'"\.bundle\."\+\{([^}]*)\}', text)
        hashes = re.findall(r'"([0-9a-f]{8,})"', m.group(1)) if m else []
        if lost := [h for h in hashes if not any(f".bundle.{h}.js" in c for c in chunks)]:
            raise BuildError(f"{ANALYTICS_NEXT.spec} {entry} references chunks that are not shipped: {lost}")
    return written


_REL_IMPORT = re.compile(r"""(?:\bfrom|\bimport)\s*\(?\s*["'](\./[^"']+)["']""")


def vendor_pyscript(tgz: Path, dest: Path) -> list[str]:
    """PyScript's ``dist/`` (core.js, its hashed chunks, CSS) without source maps."""
    written = extract_selected(
        tgz,
        dest,
        lambda rel: [rel[5:]] if rel.startswith("dist/") and "/" not in rel[5:] and not rel.endswith(".map") else [],
    )
    for required in ("core.js", "core.css"):
        if required not in written:
            raise BuildError(f"{PYSCRIPT.spec} has no dist/{required}: has the package layout changed?")
    broken = sorted(
        f"{name} -> {target}"
        for name in written
        if name.endswith(".js")
        for target in _REL_IMPORT.findall((dest / name).read_text(encoding="utf-8", errors="replace"))
        if not (dest / target).is_file()
    )
    if broken:
        raise BuildError(f"{PYSCRIPT.spec}: relative imports point at files not shipped: {broken}")
    return written


# --------------------------------------------------------------------------------------------------------------
# The cio_browser wheel
# --------------------------------------------------------------------------------------------------------------


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def project_version() -> str:
    """The single source of truth for the version is pyproject.toml."""
    return str(_pyproject()["project"]["version"])


def _normalize(name: str) -> str:
    """Wheel-filename form of a distribution name (PEP 427/503): runs of ``-_.`` become ``_``, lower case."""
    return re.sub(r"[-_.]+", "_", name).lower()


#: Sub-packages of cio_browser that run on a server only (they need the ``relay`` extra): never in the browser
#: wheel, whose every byte a visitor downloads. ``pip install`` still gets them. BROWSER_EXCLUDE's patterns also
#: cover them (and any future ``relay*`` module); this set names the sub-packages.
SERVER_ONLY = frozenset({"relay"})


def browser_excluded(rel: str) -> bool:
    """True for package files that only run on a server (BROWSER_EXCLUDE): they stay out of the browser wheel."""
    parts = rel.split("/")
    return any(fnmatch.fnmatchcase(rel, pattern) for pattern in BROWSER_EXCLUDE) or (
        len(parts) > 2 and parts[1] in SERVER_ONLY)


def _package_files(warnings: list[str]) -> list[Path]:
    """Every file of the ``cio_browser`` package except caches, dotfiles and server-only modules.

    We take all files, not only the packages listed in pyproject's [tool.setuptools], because in the browser
    this wheel is the only way code arrives; a sub-package missing from that list is reported so `pip install .`
    does not silently diverge from the browser build.
    """
    pkg = ROOT / PACKAGE
    if not (pkg / "__init__.py").is_file():
        raise BuildError(f"{pkg}/__init__.py not found: nothing to put in the {PACKAGE} wheel")
    files = sorted(
        p
        for p in pkg.rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and not any(part.startswith(".") for part in p.relative_to(ROOT).parts)
        and p.suffix not in {".pyc", ".pyo"}
        and not browser_excluded(p.relative_to(ROOT).as_posix())
    )
    declared = _pyproject().get("tool", {}).get("setuptools", {}).get("packages")
    if isinstance(declared, list):
        on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in files if p.name == "__init__.py"}
        if undeclared := sorted(on_disk - set(declared)):
            warnings.append(
                f"sub-packages {undeclared} ship in the browser wheel but are missing from [tool.setuptools] "
                "packages in pyproject.toml (pip install . would leave them out)"
            )
    return files


def _metadata(project: dict) -> str:
    """Core metadata 2.1 from the [project] table (the fields a wheel installer and importlib.metadata use)."""
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
    ]
    if summary := project.get("description"):
        lines.append(f"Summary: {summary}")
    lic = project.get("license")
    if isinstance(lic, dict) and lic.get("text"):
        lines.append(f"License: {lic['text']}")
    elif isinstance(lic, str):
        lines.append(f"License-Expression: {lic}")
    if requires_python := project.get("requires-python"):
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {dep}" for dep in project.get("dependencies", [])]
    for extra, deps in project.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f'Requires-Dist: {dep}; extra == "{extra}"' for dep in deps]
    # No long description: the README would ride along to every visitor (pip's own metadata keeps it).
    return "\n".join(lines) + "\n"


def _record(entries: list[tuple[str, bytes]], dist_info: str) -> tuple[str, bytes]:
    """The wheel's RECORD entry (PEP 376/427): every member's sha256 and size, RECORD itself without either."""
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for arcname, data in entries:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        writer.writerow([arcname, f"sha256={digest}", len(data)])
    writer.writerow([f"{dist_info}/RECORD", "", ""])
    return f"{dist_info}/RECORD", record.getvalue().encode()


def build_cio_wheel(dest_dir: Path, warnings: list[str]) -> tuple[Path, str]:
    """Build ``cio_browser-<version>-<build>-py3-none-any.whl`` with zipfile; return (path, build tag).

    Why not ``pip wheel .``: it takes seconds (isolated build env) and this runs on every build. The package
    is pure Python, so a wheel is a zip with METADATA, WHEEL and RECORD (PEP 427/491); entries are sorted and
    timestamped at the zip epoch, so the same sources give the same bytes.

    Why a build tag: the version in pyproject.toml does not change when the source does, but browsers and CDNs
    cache by URL. The build tag (PEP 427: starts with a digit) is a hash of the wheel's content, so every
    source change gets a new URL, while the version (and ``importlib.metadata.version``) stays the one in
    pyproject.toml. Pyodide's ``loadPackage`` reads only name and version from the file name, so this is safe.
    """
    project = _pyproject()["project"]
    name, version = _normalize(project["name"]), str(project["version"])
    files = _package_files(warnings)

    entries: list[tuple[str, bytes]] = []
    for path in files:
        data = path.read_bytes()
        if path.suffix == ".py":
            try:
                compile(data, str(path), "exec", dont_inherit=True)
            except SyntaxError as exc:
                raise BuildError(
                    f"{path.relative_to(ROOT)}:{exc.lineno}: {exc.msg}; the wheel would not import"
                ) from exc
        entries.append((path.relative_to(ROOT).as_posix(), data))

    version_line = re.search(
        rb'^__version__\s*=\s*["\']([^"\']+)["\']', (ROOT / PACKAGE / "__init__.py").read_bytes(), re.M
    )
    if version_line and version_line.group(1).decode() != version:
        warnings.append(
            f"{PACKAGE}/__init__.py says __version__ = {version_line.group(1).decode()!r} but pyproject.toml says "
            f"{version!r}; the wheel uses pyproject's"
        )

    dist_info = f"{name}-{version}.dist-info"
    entries.append((f"{dist_info}/METADATA", _metadata(project).encode()))
    content_hash = hashlib.sha256()
    for arcname, data in entries:
        content_hash.update(arcname.encode() + b"\0" + hashlib.sha256(data).digest())
    build_tag = "0" + content_hash.hexdigest()[:12]
    wheel_meta = (
        "Wheel-Version: 1.0\nGenerator: cio_browser build.py\nRoot-Is-Purelib: true\n"
        f"Build: {build_tag}\nTag: py3-none-any\n"
    )
    entries.append((f"{dist_info}/WHEEL", wheel_meta.encode()))

    entries.append(_record(entries, dist_info))

    dest_dir.mkdir(parents=True, exist_ok=True)
    wheel = dest_dir / f"{name}-{version}-{build_tag}-py3-none-any.whl"
    _write_stored_zip(wheel, entries)
    return wheel, build_tag


def build_compiled_wheel(source_wheel: Path, compiled: dict[str, bytes]) -> Path:
    """Write the boot's twin of ``source_wheel``: the same package with every ``.py`` replaced by its ``.pyc``.

    ``compiled`` maps ``name.py`` to the bytecode Pyodide's Python made of it (:func:`compile_for_pyodide`). The
    bytecode only loads in that Python, so the twin is tagged ``cp314-none-any``; the source wheel stays the one
    PyScript pages and ``pip`` use. The worker unpacks this one: no source is compiled in a visitor's browser.
    """
    name, version, build_tag = source_wheel.name.split("-")[:3]
    tag = f"cp{PYODIDE_PYTHON.replace('.', '')}-none-any"
    dist_info = f"{name}-{version}.dist-info"
    entries: list[tuple[str, bytes]] = []
    with zipfile.ZipFile(source_wheel) as zf:
        for member in zf.namelist():
            if member.endswith(".py"):
                entries.append((member + "c", compiled[member]))
            elif member == f"{dist_info}/WHEEL":
                entries.append((member, zf.read(member).replace(b"Tag: py3-none-any", f"Tag: {tag}".encode())))
            elif member != f"{dist_info}/RECORD":
                entries.append((member, zf.read(member)))
    entries.append(_record(entries, dist_info))
    wheel = source_wheel.with_name(f"{name}-{version}-{build_tag}-{tag}.whl")
    _write_stored_zip(wheel, entries)
    return wheel


def wheel_sources(wheel: Path) -> dict[str, bytes]:
    """The ``.py`` members of a wheel, by name."""
    with zipfile.ZipFile(wheel) as zf:
        return {m: zf.read(m) for m in zf.namelist() if m.endswith(".py")}


def _write_stored_zip(path: Path, entries: list[tuple[str, bytes]]) -> None:
    """A reproducible zip with *stored* entries: deflated entries would defeat the server's brotli/gzip (an
    archive of stored text compresses as a whole, better than entry by entry)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for arcname, data in entries:
            info = zipfile.ZipInfo(arcname, date_time=ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_STORED
            zf.writestr(info, data)


# --------------------------------------------------------------------------------------------------------------
# The trimmed standard library
# --------------------------------------------------------------------------------------------------------------


def stdlib_keep() -> list[str]:
    """The files listed in stdlib-modules.txt (comments and blank lines skipped)."""
    if not STDLIB_LIST.is_file():
        raise BuildError(f"{STDLIB_LIST.name} is missing: run tools/trace_stdlib.py to list the modules the page needs")
    lines = STDLIB_LIST.read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


def _module_name(path: str) -> str | None:
    """``a/b/__init__.py`` -> ``a.b``, ``a/b.py`` -> ``a.b``; None for data files."""
    if not path.endswith(".py"):
        return None
    parts = path[:-3].split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) or None


def stdlib_sources(full: Path) -> tuple[dict[str, bytes], list[str]]:
    """The listed files of Pyodide's stdlib plus the guard module, as source; and the trimmed module names."""
    keep = stdlib_keep()
    with zipfile.ZipFile(full) as zf:
        names = set(zf.namelist())
        if missing := sorted(set(keep) - names):
            raise BuildError(f"{STDLIB_LIST.name} lists files {missing} that {full.name} does not have")
        sources = {name: zf.read(name) for name in sorted(keep)}
    kept_modules = {m for m in map(_module_name, keep) if m}
    trimmed = sorted(m for m in map(_module_name, names) if m and m not in kept_modules)
    guard = STDLIB_GUARD % ("{\n    " + ",\n    ".join(repr(m) for m in trimmed) + ",\n}")
    compile(guard, STDLIB_GUARD_MODULE, "exec", dont_inherit=True)
    sources[f"{STDLIB_GUARD_MODULE}.py"] = guard.encode()
    return sources, trimmed


def build_stdlib(sources: dict[str, bytes], compiled: dict[str, bytes], dest_dir: Path) -> Path:
    """Write ``cio-stdlib-<hash>.zip``: the trimmed standard library as bytecode only, stored.

    Python imports a sourceless ``.pyc`` from a zip as it is, so nothing is compiled in the visitor's browser.
    Pyodide's own ``python_stdlib.zip`` (source) stays for PyScript pages, which need far more of it.
    """
    entries = [(name + "c", compiled[name]) for name in sorted(sources) if name.endswith(".py")]
    entries += [(name, data) for name, data in sorted(sources.items()) if not name.endswith(".py")]
    digest = hashlib.sha256()
    for name, data in entries:
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    path = dest_dir / f"cio-stdlib-{digest.hexdigest()[:12]}.zip"
    _write_stored_zip(path, entries)
    return path


# --------------------------------------------------------------------------------------------------------------
# Bytecode, compiled by Pyodide's own Python
# --------------------------------------------------------------------------------------------------------------

#: Run by Node: compiles with Pyodide's interpreter (optimize=2, no column tables, unchecked-hash pycs).
PYC_SCRIPT = ROOT / "tools" / "pyodide_compile.mjs"
PYC_TIMEOUT_S = 600


def compile_for_pyodide(sources: dict[str, bytes], pyodide_dir: Path, cache_dir: Path, log: Log) -> dict[str, bytes]:
    """``{"a/b.py": source}`` -> ``{"a/b.py": bytecode}`` for Pyodide's Python, made by that Python under Node.

    Why here: importing source in the browser compiles it on every first visit (most of Python's cold start in
    wasm). Only Pyodide's interpreter makes bytecode it will load, so the build runs it in Node (which comes with
    npm). Each file's bytecode is cached under ``.cache/pyc`` by its source, name, Pyodide version and the
    compile script, so a rebuild compiles only what changed (or nothing).
    """
    script = PYC_SCRIPT.read_bytes()

    def key(name: str, data: bytes) -> str:
        h = hashlib.sha256(f"{PYODIDE_VERSION}\0{name}\0".encode())
        h.update(hashlib.sha256(script).digest() + data)
        return h.hexdigest()

    store = cache_dir / "pyc"
    keys = {name: key(name, data) for name, data in sources.items()}
    missing = [name for name in sources if not (store / f"{keys[name]}.pyc").is_file()]
    if missing:
        node = shutil.which("node")
        if node is None:
            raise BuildError("Node.js (`node`, installed with npm) is needed to compile Python for Pyodide; "
                             "install it (apt-get install -y nodejs npm) and rebuild")
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="cio-pyc-") as tmp:
            src, out = Path(tmp, "src"), Path(tmp, "out")
            for name in missing:
                (src / name).parent.mkdir(parents=True, exist_ok=True)
                (src / name).write_bytes(sources[name])
            out.mkdir()
            try:
                proc = subprocess.run([node, str(PYC_SCRIPT), str(pyodide_dir), str(src), str(out)],
                                      capture_output=True, text=True, timeout=PYC_TIMEOUT_S, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired as exc:
                raise BuildError(f"compiling Python for Pyodide took over {PYC_TIMEOUT_S} s") from exc
            if proc.returncode != 0:
                raise BuildError(f"compiling Python for Pyodide failed:\n{_tail(proc.stderr or proc.stdout, 12)}")
            store.mkdir(parents=True, exist_ok=True)
            for name in missing:
                compiled = out / (name + "c")
                if not compiled.is_file():
                    raise BuildError(f"Pyodide did not compile {name}")
                tmp_file = store / f"{keys[name]}.{os.getpid()}.tmp"
                tmp_file.write_bytes(compiled.read_bytes())
                tmp_file.replace(store / f"{keys[name]}.pyc")
        log(f"  compiled {len(missing)} Python files for Pyodide in {time.perf_counter() - started:.1f} s")
    return {name: (store / f"{keys[name]}.pyc").read_bytes() for name in sources}


# --------------------------------------------------------------------------------------------------------------
# Pre-compressed variants
# --------------------------------------------------------------------------------------------------------------


def _brotli() -> ModuleType:
    try:
        import brotli
    except ImportError:
        raise BuildError(
            "build.py needs the brotli package to pre-compress the site: python3 -m pip install brotli "
            "(or pip install -e '.[build]')"
        ) from None
    return brotli


def precompress(out: Path, cache_dir: Path, log: Log) -> tuple[int, int]:
    """Write ``<file>.br`` (brotli 11) and ``<file>.gz`` (gzip 9) next to every compressible file.

    A variant is kept only when smaller than the file. Results are cached in ``.cache/compressed/`` by content
    hash, so brotli's slow top quality is paid once per file version. Returns (files, seconds spent compressing).
    """
    brotli = _brotli()
    cache = cache_dir / "compressed"
    cache.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    count = 0
    for path in sorted(p for p in out.rglob("*") if p.is_file() and p.suffix in PRECOMPRESS):
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        for suffix, make in ((".br", lambda d: brotli.compress(d, quality=BROTLI_QUALITY)),
                             (".gz", lambda d: gzip.compress(d, compresslevel=9, mtime=0))):
            cached = cache / f"{digest}{suffix}"
            if not cached.is_file():
                tmp = cached.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_bytes(make(data))
                os.replace(tmp, cached)
            if cached.stat().st_size < len(data):
                shutil.copyfile(cached, path.with_name(path.name + suffix))
        count += 1
    return count, int(time.perf_counter() - started)


# --------------------------------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------------------------------

_CDN_RE = re.compile("(?<![A-Za-z0-9-])(" + "|".join(re.escape(h) for h in CDN_HOSTS) + ")(?![A-Za-z0-9-])")


def _cdn_hits(data: bytes) -> dict[str, int]:
    found: dict[str, int] = {}
    for m in _CDN_RE.finditer(data.decode("latin-1")):
        found[m.group(1)] = found.get(m.group(1), 0) + 1
    return found


def _fmt_hits(hits: dict[str, int]) -> str:
    return ", ".join(f"{host} x{n}" for host, n in sorted(hits.items()))


def wheel_tags(filename: str) -> tuple[str, str, str]:
    """(python, abi, platform) tags of a wheel file name; build tags are allowed."""
    parts = filename[: -len(".whl")].split("-")
    if len(parts) not in (5, 6):
        raise BuildError(f"{filename} is not a valid wheel file name")
    return parts[-3], parts[-2], parts[-1]


def _requires(wheel: Path) -> list[str]:
    """Unconditional Requires-Dist names of a wheel (extras skipped: we never install extras)."""
    with zipfile.ZipFile(wheel) as zf:
        meta = next((n for n in zf.namelist() if n.endswith(".dist-info/METADATA")), None)
        text = zf.read(meta).decode("utf-8") if meta else ""
    names = []
    for line in text.split("\n\n", 1)[0].splitlines():
        if line.startswith("Requires-Dist:"):
            req, _, marker = line[len("Requires-Dist:") :].partition(";")
            if "extra" in marker:
                continue
            names.append(_normalize(re.split(r"[\s<>=!~\[(;]", req.strip(), maxsplit=1)[0]))
    return names


def boot_order(wheels: dict[str, Path], root: str = PACKAGE) -> list[str]:
    """Keys of the wheels ``root`` needs (itself included), dependencies first.

    ``loadPackage`` with URLs resolves no dependencies, so the loader must list them itself; deriving the list
    from the wheels' own Requires-Dist keeps it right when a dependency is added (python-dateutil 4 pulled in
    tzdata). Wheels nothing requires (pyodide_http) are shipped but left out of the boot.
    """
    order: list[str] = []

    def visit(key: str, path: tuple[str, ...]) -> None:
        if key in order or key not in wheels or key in path:
            return
        for dep in _requires(wheels[key]):
            visit(dep, (*path, key))
        order.append(key)

    visit(root, ())
    return order


def verify(out: Path, manifest: dict, result: BuildResult) -> None:
    """Fail on anything that would break the page offline; report what is merely worth knowing."""
    errors: list[str] = []

    # 1. Every URL in the manifest resolves to a file (directories: their entry points).
    expected = [manifest["pyodide"] + f for f in PYODIDE_FILES]
    expected += [manifest["analytics"] + f for f in ("index.js", "standalone.js")]
    expected += [manifest["pyscript"] + f for f in ("core.js", "core.css")]
    expected += list(manifest["wheels"].values()) + list(manifest["compiled"].values()) + [manifest["stdlib"]]
    if not manifest["boot_wheels"] or manifest["boot_wheels"][-1] != PACKAGE:
        errors.append(f"boot_wheels {manifest['boot_wheels']} must end with {PACKAGE}")
    errors += [
        f"boot_wheels names {k!r}, which is not in wheels"
        for k in manifest["boot_wheels"]
        if k not in manifest["wheels"]
    ]
    errors += [
        f"manifest names {url} but dist{url} does not exist"
        for url in expected
        if not (out / url.lstrip("/")).is_file()
    ]

    # 2. Wheels: pure Python (Pyodide cannot use anything else from PyPI) and no missing dependencies
    #    (loadPackage with URLs resolves nothing: a missing dependency only shows up as an ImportError in the page).
    shipped = set(manifest["wheels"])
    for key, url in manifest["wheels"].items():
        wheel = out / url.lstrip("/")
        if not wheel.is_file():
            continue
        py, abi, plat = wheel_tags(wheel.name)
        if "py3" not in py.split(".") or abi != "none" or plat != "any":
            errors.append(f"{wheel.name} is not pure Python (tags {py}-{abi}-{plat}); Pyodide needs py3-none-any")
        for dep in _requires(wheel):
            if dep not in shipped:
                result.warnings.append(
                    f"{key} requires {dep}, which is not in dist/wheels/ (loadPackage will not fetch it)"
                )

    # 3. No CDN host outside the third-party folders of vendor/ (including inside wheels); inside them only report.
    vendor, own = out / "vendor", out / OWN_VENDOR_DIR
    for path in sorted(p for p in out.rglob("*") if p.is_file() and p.suffix not in (".br", ".gz")):
        rel = path.relative_to(out).as_posix()
        if vendor in path.parents and own not in path.parents:
            if hits := _cdn_hits(path.read_bytes()):
                result.vendor_cdn.append(f"{rel}: {_fmt_hits(hits)}")
            continue
        if path.suffix == ".whl":
            own = path.name.startswith(f"{_normalize(PACKAGE)}-")
            with zipfile.ZipFile(path) as zf:
                for member in zf.namelist():
                    if hits := _cdn_hits(zf.read(member)):
                        msg = f"{rel}!{member} references {_fmt_hits(hits)}"
                        (errors if own else result.warnings).append(msg)
            continue
        if hits := _cdn_hits(path.read_bytes()):
            errors.append(f"{rel} references {_fmt_hits(hits)}: the page must load everything from its own origin")

    if errors:
        raise BuildError("verification failed:\n  - " + "\n  - ".join(errors))


# --------------------------------------------------------------------------------------------------------------
# Assembly
# --------------------------------------------------------------------------------------------------------------


def _check_out(out: Path, cache_dir: Path) -> None:
    """Refuse output paths where swapping in a fresh dist/ would delete something that is not a build."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise BuildError(f"--out {out} exists and is not a plain directory")
    if out == ROOT or out in ROOT.parents or out == Path.home():
        raise BuildError(f"refusing to build into {out}: replacing it would delete the repository")
    for source in (WWW_DIR, cache_dir, ROOT / PACKAGE, ROOT / "tests"):
        if out == source or source in out.parents:
            raise BuildError(f"refusing to build into {out}: it is or is inside {source}, which the build reads")
    if out.is_dir() and any(out.iterdir()) and not (out / "manifest.json").is_file():
        raise BuildError(f"refusing to replace {out}: it is not empty and has no manifest.json from a previous build")


def _copy_www(dest: Path, result: BuildResult) -> None:
    """Copy the site's own pages as they are; they must not shadow generated names."""
    if not WWW_DIR.is_dir():
        result.warnings.append(f"{WWW_DIR} does not exist: dist/ has no pages")
        return
    if clash := sorted(p.name for p in WWW_DIR.iterdir() if p.name in GENERATED_NAMES):
        raise BuildError(f"www/ contains {clash}, which the build generates; rename them")
    shutil.copytree(
        WWW_DIR, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".DS_Store")
    )
    write_storage_layout(dest / "cio-browser.js")
    write_storage_layout(dest / "cio-boot.mjs")


#: Where the JS glue receives the storage layout that cio_browser/layout.py defines (one definition, Python's).
LAYOUT_PLACEHOLDER = "{/*CIO_STORAGE_LAYOUT*/}"


def storage_layout() -> dict:
    """``cio_browser.layout.for_glue()``, read from this source tree (the package need not be installed)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_cio_layout", ROOT / PACKAGE / "layout.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.for_glue()


def write_storage_layout(glue: Path) -> None:
    """Write the storage layout over the glue's placeholder; a glue without one is a build error."""
    if not glue.is_file():
        return
    text = glue.read_text(encoding="utf-8")
    if text.count(LAYOUT_PLACEHOLDER) != 1:
        raise BuildError(f"{glue.name} must contain {LAYOUT_PLACEHOLDER} exactly once (the storage layout goes there)")
    glue.write_text(text.replace(LAYOUT_PLACEHOLDER, json.dumps(storage_layout(), separators=(",", ":"))),
                    encoding="utf-8")


def _assemble(tmp: Path, cache_dir: Path, *, offline: bool, log: Log, result: BuildResult) -> dict:
    """Fill ``tmp`` with the site and return its manifest; downloads first, so a registry failure writes nothing."""
    tarballs = {
        pin: fetch_npm(pin, cache_dir, offline=offline, log=log, downloaded=result.downloaded) for pin in NPM_PINS
    }
    wheels = {
        pin: fetch_wheel(pin, cache_dir, offline=offline, log=log, downloaded=result.downloaded) for pin in WHEEL_PINS
    }

    _copy_www(tmp, result)
    www_files, www_size = _tree_size(tmp)

    vendor_dirs = {
        "pyodide": (PYODIDE, f"vendor/pyodide-{PYODIDE_VERSION}", vendor_pyodide),
        "analytics": (ANALYTICS_NEXT, f"vendor/analytics-next-{ANALYTICS_NEXT_VERSION}", vendor_analytics),
        "pyscript": (PYSCRIPT, f"vendor/pyscript-{PYSCRIPT_VERSION}", vendor_pyscript),
    }
    sizes: dict = {}
    for key, (pin, rel, vendor) in vendor_dirs.items():
        vendor(tarballs[pin], tmp / rel)
        files, size = _tree_size(tmp / rel)
        sizes[key] = size
        result.parts.append(Part(pin.name, f"npm {pin.spec}", f"{rel}/", files, size))

    wheel_dir = tmp / "wheels"
    wheel_dir.mkdir()
    manifest_wheels: dict[str, str] = {}
    wheel_sizes: dict[str, int] = {}
    wheel_rows: list[Part] = []
    for pin, cached in wheels.items():
        shutil.copyfile(cached, wheel_dir / cached.name)
        manifest_wheels[pin.key] = f"/wheels/{cached.name}"
        wheel_sizes[pin.key] = cached.stat().st_size
        wheel_rows.append(Part(pin.name, f"PyPI {pin.spec}", f"wheels/{cached.name}", 1, wheel_sizes[pin.key], True))
    started = time.perf_counter()
    own, build_tag = build_cio_wheel(wheel_dir, result.warnings)
    log(f"  built {own.name} in {time.perf_counter() - started:.2f} s")
    version = project_version()
    manifest_wheels[PACKAGE] = f"/wheels/{own.name}"  # last: it depends on the others
    wheel_sizes[PACKAGE] = own.stat().st_size
    wheel_rows.append(Part(PACKAGE, f"this repo, {version}", f"wheels/{own.name}", 1, wheel_sizes[PACKAGE], True))
    result.parts.append(
        Part("wheels", f"for Python {PYODIDE_PYTHON}", "wheels/", len(wheel_rows), sum(wheel_sizes.values()))
    )
    result.parts += wheel_rows
    result.parts.append(Part("www", "this repo, www/", "./", www_files, www_size))

    pyodide_dir = tmp / vendor_dirs["pyodide"][1]
    lock = json.loads((pyodide_dir / "pyodide-lock.json").read_text())
    std_sources, trimmed = stdlib_sources(pyodide_dir / "python_stdlib.zip")
    own_sources = wheel_sources(own)
    compiled = compile_for_pyodide({**std_sources, **own_sources}, pyodide_dir, cache_dir, log)
    stdlib = build_stdlib(std_sources, compiled, pyodide_dir)
    result.parts.append(Part("  trimmed stdlib", f"{len(std_sources) - 1} of Pyodide's files, compiled",
                             stdlib.relative_to(tmp).as_posix(), 1, stdlib.stat().st_size, True))
    own_compiled = build_compiled_wheel(own, compiled)
    result.parts.append(Part(f"  {PACKAGE}, compiled", "what the worker unpacks", f"wheels/{own_compiled.name}", 1,
                             own_compiled.stat().st_size, True))
    compiled_wheels = {PACKAGE: f"/wheels/{own_compiled.name}"}
    boot = boot_order({key: tmp / url.lstrip("/") for key, url in manifest_wheels.items()})
    wheel_total = sum(wheel_sizes.values())
    sizes.update(wheels=wheel_sizes, www=www_size, stdlib=stdlib.stat().st_size)
    # What the destination downloads (uncompressed sizes): Pyodide's runtime with the trimmed standard library,
    # analytics.js (UMD), the boot wheels. pyodide-lock.json and python_stdlib.zip are not fetched.
    sizes["boot"] = (
        sum((pyodide_dir / f).stat().st_size for f in ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm"))
        + stdlib.stat().st_size
        + (tmp / vendor_dirs["analytics"][1] / "index.js").stat().st_size
        + sum((tmp / (compiled_wheels.get(key) or manifest_wheels[key]).lstrip("/")).stat().st_size for key in boot)
    )
    sizes["total"] = sizes["pyodide"] + sizes["analytics"] + sizes["pyscript"] + wheel_total + www_size

    overlap = [
        f"{pin.name} {pin.version} (Pyodide's lock file has {lock['packages'][pin.name]['version']})"
        for pin in WHEEL_PINS
        if pin.name in lock.get("packages", {})
    ]
    if overlap:
        result.notes.append(
            "also listed in pyodide-lock.json, so load these by URL (manifest), never by name: " + "; ".join(overlap)
        )

    return {
        "version": version,
        "build": build_tag,
        "pyodide": f"/{vendor_dirs['pyodide'][1]}/",
        "analytics": f"/{vendor_dirs['analytics'][1]}/",
        "pyscript": f"/{vendor_dirs['pyscript'][1]}/",
        "wheels": manifest_wheels,
        # What the loader unpacks: cio_browser and its dependencies, dependencies first; the compiled twin of a
        # wheel where there is one (its bytecode only loads in this Pyodide's Python).
        "boot_wheels": boot,
        "compiled": compiled_wheels,
        # The trimmed standard library (loadPyodide's stdLibURL) and the module that guards it.
        "stdlib": "/" + stdlib.relative_to(tmp).as_posix(),
        "stdlib_guard": STDLIB_GUARD_MODULE,
        "stdlib_trimmed": len(trimmed),
        # loadPyodide's lockFileContents: the lock file's info without its 119 KB package list, which the
        # destination never uses (wheels are unpacked by URL), so pyodide-lock.json is not fetched.
        "lock": {"info": lock["info"], "packages": {}},
        "site_packages": f"/lib/python{PYODIDE_PYTHON}/site-packages",
        "versions": {
            "pyodide": PYODIDE_VERSION,
            "python": str(lock["info"]["python"]),
            "analytics_next": ANALYTICS_NEXT_VERSION,
            "pyscript": PYSCRIPT_VERSION,
        },
        "sizes": sizes,
    }


#: In www/cio-boot.mjs: replaced by the manifest, so the boot needs no request for it.
MANIFEST_MARKER = "/*@cio-manifest@*/null"
#: In www/cio-browser.js: replaced by the path of the built worker (vendor/cio-browser/<content hash>/cio-worker.mjs).
WORKER_MARKER = "/*@cio-worker@*/'cio-worker.mjs'"
#: Our own files under vendor/ (immutable caching): checked like the rest of the site, not as a third party's.
OWN_VENDOR_DIR = "vendor/cio-browser"
#: The worker's imports that build.py bundles into cio-worker.mjs (one request instead of a chain of them).
WORKER_BUNDLE = (
    ("import { bootPython, makeSnapshot } from './cio-boot.mjs';", "cio-boot.mjs"),
    ("import { archive } from './cio-store.mjs';", "cio-store.mjs"),
)


def _bundled(import_line: str, module: str) -> str:
    """``module`` as a block that defines the names ``import_line`` imports (no name leaks between modules)."""
    names = re.search(r"\{([^}]*)\}", import_line)
    assert names is not None
    if re.search(r"^\s*import\s", module, re.M):
        raise BuildError(f"a module bundled into cio-worker.mjs must not use static imports: {import_line}")
    body = re.sub(r"^export\s+", "", module, flags=re.M)
    return (f"// ---- {import_line.split(chr(39))[1]}, bundled by build.py ----\n"
            f"const {{{names.group(1)}}} = (() => {{\n{body}\nreturn {{{names.group(1)}}};\n}})();")


def inline_boot(out: Path, manifest: dict) -> None:
    """Write the manifest into cio-boot.mjs and bundle the worker's imports into cio-worker.mjs.

    Why: every request in series before loadPyodide costs a round trip on a visitor's link (60-150 ms). Once the
    page starts the worker, it knows every URL at once and starts the wasm, the standard library, Pyodide's
    JavaScript and the wheel in parallel.
    """
    boot_path, worker_path = out / "cio-boot.mjs", out / "cio-worker.mjs"
    boot = boot_path.read_text(encoding="utf-8")
    if boot.count(MANIFEST_MARKER) != 1:
        raise BuildError(f"www/cio-boot.mjs must contain {MANIFEST_MARKER} exactly once")
    boot_path.write_text(boot.replace(MANIFEST_MARKER, json.dumps(manifest, separators=(",", ":"))), encoding="utf-8")
    worker = worker_path.read_text(encoding="utf-8")
    for line, name in WORKER_BUNDLE:
        if worker.count(line) != 1:
            raise BuildError(f"www/cio-worker.mjs must contain {line!r} exactly once (build.py bundles it)")
        worker = worker.replace(line, _bundled(line, (out / name).read_text(encoding="utf-8")))
    if re.search(r"^\s*import\s", worker, re.M):
        raise BuildError("www/cio-worker.mjs has an import build.py does not bundle; add it to WORKER_BUNDLE")
    # The worker moves to a path named by its content, under the immutable /vendor/: a return visit then starts it
    # from the HTTP cache without a revalidation round trip (60-150 ms on a visitor's link). The loader, whose URL
    # sites keep stable, learns the path here.
    digest = hashlib.sha256(worker.encode("utf-8")).hexdigest()[:12]
    versioned = out / OWN_VENDOR_DIR / digest / "cio-worker.mjs"
    versioned.parent.mkdir(parents=True)
    versioned.write_text(worker, encoding="utf-8")
    worker_path.unlink()
    loader_path = out / "cio-browser.js"
    loader = loader_path.read_text(encoding="utf-8")
    if loader.count(WORKER_MARKER) != 1:
        raise BuildError(f"www/cio-browser.js must contain {WORKER_MARKER} exactly once (the worker's path goes there)")
    loader_path.write_text(loader.replace(WORKER_MARKER, json.dumps(versioned.relative_to(out).as_posix())),
                           encoding="utf-8")


def build_report(
    out: Path = DEFAULT_OUT, *, cache_dir: Path = CACHE_DIR, offline: bool = False, log: Log | None = None
) -> BuildResult:
    """Build into ``out`` and return the manifest plus what the CLI reports (parts, warnings, notes).

    The whole site is written to a temporary sibling of ``out`` and swapped in with two renames, so readers of
    ``out`` (a running test server) see the old build or the new one, and a failure leaves the old one intact.
    """
    started = time.perf_counter()
    log = log or (lambda _msg: None)
    out = Path(out).resolve()
    cache_dir = Path(cache_dir).resolve()
    _check_out(out, cache_dir)
    _brotli()  # fail before downloading anything when the build cannot finish
    result = BuildResult(manifest={})
    with _locked(cache_dir):
        out.parent.mkdir(parents=True, exist_ok=True)
        for stale in [*out.parent.glob(f".{out.name}.build-*"), *out.parent.glob(f".{out.name}.old-*")]:
            shutil.rmtree(stale, ignore_errors=True)  # left by a killed build; we hold the lock, so not in use
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.build-", dir=out.parent))
        try:
            manifest = _assemble(tmp, cache_dir, offline=offline, log=log, result=result)
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
            inline_boot(tmp, manifest)
            verify(tmp, manifest, result)
            files, seconds = precompress(tmp, cache_dir, log)
            result.notes.append(f"pre-compressed {files} files (.br, .gz) in {seconds} s")
            tmp.chmod(0o755)  # mkdtemp makes it 0700; static servers running as another user must read it
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            if out.exists():
                os.rename(out, old)
            os.rename(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    result.manifest = manifest
    result.seconds = time.perf_counter() - started
    return result


def build(out: Path = DEFAULT_OUT, *, cache_dir: Path = CACHE_DIR, offline: bool = False, quiet: bool = True) -> dict:
    """Build the site into ``out`` and return the manifest (what tests and benchmarks need).

    ``offline=True`` never downloads: a missing cache entry raises RegistryError instead.
    """
    return build_report(out, cache_dir=cache_dir, offline=offline, log=None if quiet else print).manifest



# --------------------------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------------------------


def format_table(result: BuildResult, out: Path) -> str:
    """The human report: one row per part (wheels indented), sizes in MB of 10^6 bytes like browsers show."""
    rows = [
        (("  " if p.indent else "") + p.name, p.source, p.path, f"{p.files}", _mb(p.size), f"{p.size:,}")
        for p in result.parts
    ]
    total = result.manifest["sizes"]["total"]
    files = sum(p.files for p in result.parts if not p.indent)
    footer = ("total", "", "", f"{files}", _mb(total), f"{total:,}")
    head = ("part", "source", f"in {out.name}/", "files", "MB", "bytes")
    widths = [max(len(r[i]) for r in [head, *rows, footer]) for i in range(len(head))]

    def line(r: tuple[str, ...]) -> str:
        left = "  ".join(c.ljust(w) for c, w in zip(r[:3], widths[:3], strict=True))
        return left + "  " + "  ".join(c.rjust(w) for c, w in zip(r[3:], widths[3:], strict=True))

    rule = "-" * len(line(head))
    lines = [f"assembled {out}", line(head), rule, *map(line, rows), rule, line(footer)]
    boot = result.manifest["sizes"]["boot"]
    lines.append(f"boot download (Pyodide runtime + analytics index.js + boot_wheels): {_mb(boot)} MB")
    lines.append(f"downloaded this run: {', '.join(result.downloaded) or 'nothing (all cached)'}")
    if result.vendor_cdn:
        lines.append("CDN URLs inside vendor/ (library defaults, unused as long as the page passes indexURL, sets")
        lines.append("window.analytics._cdn and gives PyScript a local interpreter):")
        lines += [f"  - {n}" for n in result.vendor_cdn]
    if result.notes:
        lines.append("notes:")
        lines += [f"  - {n}" for n in result.notes]
    if result.warnings:
        lines.append("WARNINGS:")
        lines += [f"  - {w}" for w in result.warnings]
    lines.append(f"built in {result.seconds:.2f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="print nothing unless the build fails")
    parser.add_argument("--offline", action="store_true", help="use the .cache/ only; fail instead of downloading")
    # Accepted so older scripts keep working: the build makes no snapshot any more (the visitor's browser does).
    parser.add_argument("--no-snapshot", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        result = build_report(args.out, offline=args.offline, log=None if args.quiet else print)
    except BuildError as exc:
        print(f"build.py: error: {exc}", file=sys.stderr)
        return exc.exit_code
    if not args.quiet:
        print(format_table(result, args.out.resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
