"""The browser runtime, prepared once at set-up: ``python -m server.vendor``.

Pyodide and PyScript come from the pinned npm packages. They are copied into
``build/vendor/<package>/<version>/`` with a gzip copy of every compressible
file beside it, so the server can send ``Content-Encoding: gzip`` without
compressing 10 MB of WebAssembly per request (aiohttp's FileResponse picks
the ``.gz`` sibling when the browser accepts it). The version in the path
lets the browser cache them as immutable: a new pin is a new URL.

Beside them go two files made by the pinned Pyodide under Node
(``server/vendor.mjs``), named by a hash of their content since they change
with more than the Pyodide version: its memory snapshot (Python already
started, with the standard library, Pyodide and the browser wheels imported),
and the bytecode of PyScript's own Python package.

``python -m server.vendor pyclient`` compiles the client's bytecode for the
client's current source into ``build/bytecode/``; the server ships it inside
the pyclient zip only while the source is exactly the one it was compiled from.
"""

import gzip
import hashlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from .config import REPO_ROOT

VENDOR_DIR = REPO_ROOT / "build" / "vendor"
BYTECODE_DIR = REPO_ROOT / "build" / "bytecode"
VENDOR_SCRIPT = Path(__file__).with_name("vendor.mjs")
# Only these Pyodide files are served; the rest of the package stays private.
# The source map is the one pyodide.mjs names (PyScript's come with its dist).
PYODIDE_FILES = ("pyodide.mjs", "pyodide.mjs.map", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip",
                 "pyodide-lock.json")
# Already compressed: gzip would only cost time.
STORED = (".zip", ".whl", ".png", ".woff2")
# What the snapshot imports: the page's boot needs all of them (pyclient, and
# PyScript's own package), so they cost nothing there. One left out is only
# imported at boot, from source: `make bench` lists any such module.
SNAPSHOT_IMPORTS = (
    "asyncio", "base64", "dataclasses", "datetime", "gettext", "hashlib", "hmac", "html", "inspect", "ipaddress",
    "json", "secrets", "typing", "unicodedata", "urllib.parse",
    "pyodide.code", "pyodide.ffi", "pyodide.webloop",
    "pyasn1.codec.der.decoder", "pyasn1.codec.der.encoder", "pyasn1.error", "pyasn1.type.namedtype",
    "pyasn1.type.univ", "pyaes", "rsa", "rsa.core",
)
# V8's explicit compile hint: every function in the file is compiled with it, on
# the streaming thread while it downloads, instead of lazily on the main thread
# when PyScript's module runs (that took one 100 ms main-thread task on a cold load).
COMPILE_HINT = b"//# allFunctionsCalledOnLoad\n"
SNAPSHOT_GLOB = "snapshot-*.bin"
PYSCRIPT_BYTECODE_GLOB = "pyscript-bytecode-*.zip"
# CPython only (the cryptography library, aiohttp, platformdirs, tqdm): never shipped to the page.
NOT_FOR_THE_BROWSER = ("cli/", "crypto/native.py")


def package_version(node_modules: Path, package: str) -> str:
    return json.loads((node_modules / package / "package.json").read_text())["version"]


def pyodide_dir(node_modules: Path) -> Path:
    return VENDOR_DIR / "pyodide" / package_version(node_modules, "pyodide")


def pyscript_dir(node_modules: Path) -> Path:
    return VENDOR_DIR / "pyscript" / package_version(node_modules, "@pyscript/core")


def _gzip(path: Path) -> None:
    if path.suffix in STORED or path.suffix == ".gz" or path.stat().st_size < 1024:
        return
    target = path.with_name(path.name + ".gz")
    partial = target.with_name(target.name + ".part")
    with path.open("rb") as source, gzip.open(partial, "wb", compresslevel=9) as sink:
        shutil.copyfileobj(source, sink)
    partial.replace(target)


def found(directory: Path, pattern: str) -> Path | None:
    matches = sorted(directory.glob(pattern))
    return matches[-1] if matches else None


def _run_pyodide(target: Path, *args: str) -> Path:
    """``node server/vendor.mjs COMMAND target ARGS`` into a hash-named file (``target``'s ``*``)."""
    partial = target.with_name(target.name.replace("*", "partial"))
    subprocess.run(["node", str(VENDOR_SCRIPT), args[0], str(partial), *args[1:]], cwd=REPO_ROOT, check=True)
    digest = hashlib.sha256(partial.read_bytes()).hexdigest()[:16]
    return partial.replace(target.with_name(target.name.replace("*", digest)))


def build_pyclient_zip(pyclient_dir: Path) -> bytes:
    """The client's source as the page unpacks it; the same bytes for the same source (fixed dates)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(pyclient_dir.rglob("*.py")):
            relative = path.relative_to(pyclient_dir).as_posix()
            if not relative.startswith(NOT_FOR_THE_BROWSER):
                entry = zipfile.ZipInfo((Path("pyclient") / relative).as_posix())
                entry.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(entry, path.read_bytes())
    return buffer.getvalue()


def _pyclient_bytecode_path(source_zip: bytes, node_modules: Path) -> Path:
    key = hashlib.sha256(source_zip + package_version(node_modules, "pyodide").encode()).hexdigest()[:16]
    return BYTECODE_DIR / f"pyclient-{key}.zip"


def _add_compile_hint(script: Path) -> None:
    """Put ``COMPILE_HINT`` on the script's first line, and move its source map's lines down by one."""
    script.write_bytes(COMPILE_HINT + script.read_bytes())
    source_map = script.with_name(script.name + ".map")
    if source_map.exists():
        mapping = json.loads(source_map.read_text())
        mapping["mappings"] = ";" + mapping["mappings"]  # an empty first generated line
        source_map.write_text(json.dumps(mapping))


def compile_pyclient(pyclient_dir: Path, node_modules: Path) -> None:
    source_zip = build_pyclient_zip(pyclient_dir)
    target = _pyclient_bytecode_path(source_zip, node_modules)
    if target.exists():
        return
    shutil.rmtree(BYTECODE_DIR, ignore_errors=True)
    BYTECODE_DIR.mkdir(parents=True)
    sources = BYTECODE_DIR / "sources.zip"
    sources.write_bytes(source_zip)
    _run_pyodide(BYTECODE_DIR / "*.zip", "bytecode", str(sources)).replace(target)
    sources.unlink()


def pyclient_zip(pyclient_dir: Path, node_modules: Path) -> bytes:
    """The client's source, with its bytecode when ``compile_pyclient`` compiled exactly this source."""
    source_zip = build_pyclient_zip(pyclient_dir)
    bytecode = _pyclient_bytecode_path(source_zip, node_modules)
    if not bytecode.exists():
        return source_zip
    buffer = io.BytesIO(source_zip)
    with zipfile.ZipFile(buffer, "a") as archive, zipfile.ZipFile(bytecode) as compiled:
        for entry in compiled.infolist():
            archive.writestr(entry, compiled.read(entry))
    return buffer.getvalue()


def build(node_modules: Path, wheels_dir: Path) -> None:
    shutil.rmtree(VENDOR_DIR, ignore_errors=True)
    pyodide = pyodide_dir(node_modules)
    pyodide.mkdir(parents=True)
    for name in PYODIDE_FILES:
        shutil.copy2(node_modules / "pyodide" / name, pyodide / name)
    _run_pyodide(pyodide / SNAPSHOT_GLOB, "snapshot", json.dumps(SNAPSHOT_IMPORTS),
                 *map(str, sorted(wheels_dir.glob("*.whl"))))
    _run_pyodide(pyodide / PYSCRIPT_BYTECODE_GLOB, "bytecode")
    pyscript = pyscript_dir(node_modules)
    shutil.copytree(node_modules / "@pyscript" / "core" / "dist", pyscript)
    for chunk in pyscript.glob("core-*.js"):  # the module the page's loader imports
        _add_compile_hint(chunk)
    for path in [*pyodide.iterdir(), *pyscript.rglob("*")]:
        if path.is_file():
            _gzip(path)


if __name__ == "__main__":
    NODE_MODULES = REPO_ROOT / "node_modules"
    if sys.argv[1:] == ["pyclient"]:
        compile_pyclient(REPO_ROOT / "pyclient", NODE_MODULES)
    else:
        build(NODE_MODULES, REPO_ROOT / "build" / "wheels")
