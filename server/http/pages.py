"""The page, the PyScript configuration and the client's Python files.

Everything the browser loads comes from this server: Pyodide and PyScript
from the pinned npm packages (prepared by ``server.vendor``), pure-Python
wheels built at set-up, and the ``pyclient`` package zipped from the source
tree at start-up. Runtime files live under versioned or content-hashed URLs
and are cached as immutable; the page and its small files revalidate.
"""

import base64
import hashlib
from pathlib import Path

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session

from .. import app_keys, i18n, vendor
from ..config import Config
from ..i18n import Message
from .common import catalog
from .oidc import failure_message
from .sessions import csrf_token

routes = web.RouteTableDef()
IMMUTABLE = "public, max-age=31536000, immutable"
COMPRESSIBLE = ("text/html", "application/json", "text/javascript", "text/css", "application/manifest+json")
STATIC_TEXT = (".css", ".js", ".py", ".json", ".svg")
VENDOR_WHEELS = ("rsa", "pyasn1", "pyaes", "segno")


class SetupError(Exception):
    pass


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


def _hashed(stem: str, body: bytes, suffix: str) -> str:
    return f"/py/{stem}-{hashlib.sha256(body).hexdigest()[:16]}{suffix}"


def runtime_urls(config: Config, wheels: list[str], pyclient_zip: bytes) -> dict:
    """Where the page finds each part of the runtime; every URL changes with its content."""
    pyodide = vendor.package_version(config.node_modules_dir, "pyodide")
    pyscript = vendor.package_version(config.node_modules_dir, "@pyscript/core")
    pyodide_dir = vendor.pyodide_dir(config.node_modules_dir)
    return {"pyodide": f"/pyodide/{pyodide}/", "pyscript": f"/pyscript/{pyscript}/",
            "snapshot": f"/pyodide/{pyodide}/{vendor.found(pyodide_dir, vendor.SNAPSHOT_GLOB).name}",
            "pyscript_bytecode": f"/pyodide/{pyodide}/{vendor.found(pyodide_dir, vendor.PYSCRIPT_BYTECODE_GLOB).name}",
            "pyclient": _hashed("pyclient", pyclient_zip, ".zip"),
            "wheels": [f"/wheels/{name}" for name in wheels],
            "static": static_version(config), "integrity": pyscript_integrity(config)}


def generated_files(config: Config, urls: dict, pyclient_zip: bytes) -> dict[str, tuple[bytes, str]]:
    """The runtime files the server makes itself, by URL: the pyclient zip, and
    the module PyScript imports as its interpreter (web/boot.mjs, which
    starts Pyodide). Their URLs carry a hash of their content, so they are immutable."""
    boot = (config.web_dir / "boot.mjs").read_text().replace("__PYODIDE__", urls["pyodide"]).replace(
        "__SNAPSHOT__", urls["snapshot"]).encode()
    urls["boot"] = _hashed("boot", boot, ".mjs")
    return {urls["pyclient"]: (pyclient_zip, "application/zip"), urls["boot"]: (boot, "text/javascript")}


def _sri(path: Path) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()


def pyscript_integrity(config: Config) -> dict:
    """Subresource Integrity for what the page itself loads from PyScript: its
    loader, its stylesheet and the module the loader imports (preloaded with the
    same check). PyScript fetches Pyodide and the wheels inside its worker,
    where no integrity attribute can reach."""
    dist = vendor.pyscript_dir(config.node_modules_dir)
    chunks = sorted(dist.glob("core-*.js"))
    return {"core.js": _sri(dist / "core.js"), "core.css": _sri(dist / "core.css"),
            "chunks": {path.name: _sri(path) for path in chunks}}


def static_version(config: Config) -> str:
    digest = hashlib.sha256()
    for path in sorted((config.web_dir / "static").rglob("*")):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def check_vendor_files(config: Config) -> None:
    try:
        pyodide = vendor.pyodide_dir(config.node_modules_dir)
        pyscript = vendor.pyscript_dir(config.node_modules_dir)
    except FileNotFoundError:
        raise SetupError("The npm packages pyodide and @pyscript/core are missing: run 'make setup'.") from None
    missing = [name for name in vendor.PYODIDE_FILES if not (pyodide / name).exists()]
    missing += [pattern for pattern in (vendor.SNAPSHOT_GLOB, vendor.PYSCRIPT_BYTECODE_GLOB)
                if vendor.found(pyodide, pattern) is None]
    if not (pyscript / "core.js").exists():
        missing.append("@pyscript/core")
    if missing:
        raise SetupError(f"Pyodide/PyScript files are missing from {vendor.VENDOR_DIR} ({', '.join(missing)}): "
                         "run 'make setup'.")


@routes.get("/")
@aiohttp_jinja2.template("app.html")
async def index(request: web.Request) -> dict:
    page_catalog = catalog(request)
    translations = page_catalog.translations
    # Whether a session cookie is present decides what is painted first: the
    # sign-in form at once, or the chat's loading state. The client checks the
    # session itself; this only saves an anonymous visitor a failed /api/me.
    signed_in = bool((await get_session(request)).get("sid"))
    # A sign-in through a provider that failed: the address holds only a code, the sentence is ours.
    failure = request.query.get("oidc_error")
    return {"sign_in_failure": failure_message(failure).translate(translations) if failure is not None else "",
            "csrf": await csrf_token(request), "lang": page_catalog.language, "catalog": page_catalog.page,
            "signed_in": signed_in, "urls": request.app[app_keys.pyscript_files]["urls"],
            "invited": "invite" in request.query, "providers": sign_in_providers(request.app[app_keys.config]),
            "_": lambda text, **values: Message(text, **values).translate(translations)}


def sign_in_providers(config: Config) -> list[dict]:
    """The "Continue with …" links, painted with the page: from configuration, no request to any provider."""
    return [{"name": p["name"], "label": p.get("label") or p["name"]} for p in config.oidc_providers]


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
    return web.json_response(pyscript_config_for(request.app), headers={"Cache-Control": "no-cache"})


def pyscript_config_for(app: web.Application) -> dict:
    urls = app[app_keys.pyscript_files]["urls"]
    # PyScript writes its own package out as source at every start; its bytecode goes in first.
    files = {url: "./*" for url in [*urls["wheels"], urls["pyscript_bytecode"], urls["pyclient"]]}
    # No "packages" key at all: even an empty list makes PyScript fetch micropip.
    return {"interpreter": urls["boot"], "files": files}


@routes.get("/py/{name}")
async def generated_file(request: web.Request) -> web.Response:
    found = request.app[app_keys.pyscript_files]["generated"].get(request.path)
    if found is None:
        raise web.HTTPNotFound()
    body, content_type = found
    return web.Response(body=body, content_type=content_type, headers={"Cache-Control": IMMUTABLE})


@routes.post("/share")
async def share_without_service_worker(request: web.Request) -> web.Response:
    """A share reached the server because no service worker took it (the app is
    not installed in this browser): the body is never read, so nothing shared
    is kept, and the page says so."""
    raise web.HTTPSeeOther("/?share=unavailable")


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


def add_static_routes(app: web.Application, config: Config) -> None:
    urls = app[app_keys.pyscript_files]["urls"]
    app.router.add_static(urls["pyodide"], vendor.pyodide_dir(config.node_modules_dir))
    app.router.add_static(urls["pyscript"], vendor.pyscript_dir(config.node_modules_dir))
    app.router.add_static("/wheels/", config.wheels_dir)
    app.router.add_static("/static/", config.web_dir / "static")


@web.middleware
async def cache_and_compress(request: web.Request, handler):
    """Immutable caching for versioned URLs; gzip for text (the runtime's files come pre-compressed)."""
    response = await handler(request)
    urls = request.app[app_keys.pyscript_files]["urls"]
    path = request.path
    if path.startswith((urls["pyodide"], urls["pyscript"], "/wheels/")) or (
            path.startswith("/static/") and request.query.get("v") == urls["static"]):
        response.headers["Cache-Control"] = IMMUTABLE
    elif path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-cache")
    if (type(response) is web.Response and response.content_type in COMPRESSIBLE
            and response.body is not None and len(response.body) > 1024):
        response.enable_compression()
    elif isinstance(response, web.FileResponse) and path.startswith("/static/") and path.endswith(STATIC_TEXT):
        response.enable_compression()  # the app's own small text files: not worth a .gz copy in the source tree
    return response
