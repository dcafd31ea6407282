"""The page, the PyScript configuration and the client's Python files.

Everything the browser loads comes from this server: Pyodide and PyScript
from the pinned npm packages, pure-Python wheels built at set-up, and the
``pyclient`` package zipped from the source tree at start-up.
"""

import hashlib
import io
import zipfile
from pathlib import Path

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session

from .. import app_keys, i18n
from ..config import Config
from .sessions import csrf_token

routes = web.RouteTableDef()
# Only these npm files are served; the rest of node_modules stays private.
PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json")
VENDOR_WHEELS = ("rsa", "pyasn1", "pyaes", "segno")


class SetupError(Exception):
    pass


def build_pyclient_zip(pyclient_dir: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(pyclient_dir.rglob("*.py")):
            archive.write(path, Path("pyclient") / path.relative_to(pyclient_dir))
    return buffer.getvalue()


def find_wheels(config: Config) -> list[str]:
    names = []
    for project in VENDOR_WHEELS:
        found = sorted(config.wheels_dir.glob(f"{project}-*.whl"))
        if not found:
            raise SetupError(f"The {project} wheel is missing from {config.wheels_dir}: run 'make setup'.")
        names.append(found[-1].name)
    return names


def runtime_version(config: Config, wheels: list[str]) -> str:
    """Changes whenever a pinned browser package changes, to renew the SW cache."""
    digest = hashlib.sha256((config.node_modules_dir.parent / "package-lock.json").read_bytes())
    digest.update("\n".join(wheels).encode())
    return digest.hexdigest()[:16]


def check_vendor_files(config: Config) -> None:
    missing = [name for name in PYODIDE_FILES if not (config.node_modules_dir / "pyodide" / name).exists()]
    if not (config.node_modules_dir / "@pyscript" / "core" / "dist" / "core.js").exists():
        missing.append("@pyscript/core")
    if missing:
        raise SetupError(f"Pyodide/PyScript files are missing ({', '.join(missing)}): run 'make setup'.")


@routes.get("/")
@aiohttp_jinja2.template("app.html")
async def index(request: web.Request) -> dict:
    language = i18n.pick_language(request)
    catalog = request.app[app_keys.catalogs][language]
    # Whether a session cookie is present decides what is painted first: the
    # sign-in form at once, or the chat's loading state. The client checks the
    # session itself; this only saves an anonymous visitor a failed /api/me.
    signed_in = bool((await get_session(request)).get("sid"))
    return {"csrf": await csrf_token(request), "lang": language, "catalog": catalog, "signed_in": signed_in,
            "_": lambda text: i18n.translate(catalog, text)}


@routes.get("/lang/{language}")
async def choose_language(request: web.Request) -> web.Response:
    language = request.match_info["language"]
    if language not in i18n.LANGUAGES:
        raise web.HTTPNotFound()
    response = web.HTTPSeeOther("/")
    response.set_cookie(i18n.COOKIE, language, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    raise response


@routes.get("/pyscript.json")
async def pyscript_config(request: web.Request) -> web.Response:
    files = {f"/wheels/{name}": "./*" for name in request.app[app_keys.pyscript_files]["wheels"]}
    files["/py/pyclient.zip"] = "./*"
    # No "packages" key at all: even an empty list makes PyScript fetch micropip.
    return web.json_response({"interpreter": "/pyodide/pyodide.mjs", "files": files},
                             headers={"Cache-Control": "no-cache"})


@routes.get("/py/pyclient.zip")
async def pyclient_zip(request: web.Request) -> web.Response:
    return web.Response(body=request.app[app_keys.pyclient_zip], content_type="application/zip",
                        headers={"Cache-Control": "no-cache"})


@routes.get("/sw.js")
async def service_worker(request: web.Request) -> web.Response:
    """At the root so its scope is the whole site; versioned by the pinned runtime."""
    config = request.app[app_keys.config]
    script = (config.web_dir / "static" / "sw.js").read_text()
    return web.Response(text=script.replace("__VERSION__", request.app[app_keys.pyscript_files]["version"]),
                        content_type="text/javascript", headers={"Cache-Control": "no-cache"})


@routes.get("/manifest.webmanifest")
async def manifest(request: web.Request) -> web.FileResponse:
    path = request.app[app_keys.config].web_dir / "static" / "manifest.webmanifest"
    return web.FileResponse(path, headers={"Content-Type": "application/manifest+json"})


@routes.get("/pyodide/{name}")
async def pyodide_file(request: web.Request) -> web.FileResponse:
    name = request.match_info["name"]
    if name not in PYODIDE_FILES:
        raise web.HTTPNotFound()
    return web.FileResponse(request.app[app_keys.config].node_modules_dir / "pyodide" / name)


def add_static_routes(app: web.Application, config: Config) -> None:
    app.router.add_static("/pyscript/", config.node_modules_dir / "@pyscript" / "core" / "dist")
    app.router.add_static("/wheels/", config.wheels_dir)
    app.router.add_static("/static/", config.web_dir / "static")
