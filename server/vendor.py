"""The browser runtime, prepared once at set-up: ``python -m server.vendor``.

Pyodide and PyScript come from the pinned npm packages. They are copied into
``build/vendor/<package>/<version>/`` with a gzip copy of every compressible
file beside it, so the server can send ``Content-Encoding: gzip`` without
compressing 10 MB of WebAssembly per request (aiohttp's FileResponse picks
the ``.gz`` sibling when the browser accepts it). The version in the path
lets the browser cache them as immutable: a new pin is a new URL.
"""

import gzip
import json
import shutil
import sys
from pathlib import Path

from .config import REPO_ROOT

VENDOR_DIR = REPO_ROOT / "build" / "vendor"
# Only these Pyodide files are served; the rest of the package stays private.
PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json")
# Already compressed: gzip would only cost time.
STORED = (".zip", ".whl", ".png", ".woff2")


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


def build(node_modules: Path) -> None:
    shutil.rmtree(VENDOR_DIR, ignore_errors=True)
    pyodide = pyodide_dir(node_modules)
    pyodide.mkdir(parents=True)
    for name in PYODIDE_FILES:
        shutil.copy2(node_modules / "pyodide" / name, pyodide / name)
    pyscript = pyscript_dir(node_modules)
    shutil.copytree(node_modules / "@pyscript" / "core" / "dist", pyscript)
    for path in [*pyodide.iterdir(), *pyscript.rglob("*")]:
        if path.is_file():
            _gzip(path)


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO_ROOT / "node_modules")
