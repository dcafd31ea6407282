"""Test-only pages, mounted only when ``SEALROOM_TEST_PAGES=1``.

They let the browser tests and ``make bench`` run code inside the page's
Pyodide (cross-backend checks, long-task recording, timings) without adding
any hook to the production page. Production never mounts these routes: the
files live under ``tests/``, and nothing under ``web/`` refers to them.
The pages keep the same CSP as the app (no inline script).
"""

import json

from aiohttp import web

from .. import app_keys
from . import pages
from ..config import REPO_ROOT

PAGES_DIR = REPO_ROOT / "tests" / "browser" / "pages"
VECTORS_DIR = REPO_ROOT / "tests" / "vectors"
RUNNER = REPO_ROOT / "tests" / "vectors" / "runner.py"
_CONTENT_TYPES = {".html": "text/html", ".py": "text/x-python", ".js": "text/javascript"}

routes = web.RouteTableDef()


@routes.get("/test/pyscript.json")
async def test_pyscript_config(request: web.Request) -> web.Response:
    config = pages.pyscript_config_for(request.app)
    config["files"]["/test/vector_runner.py"] = "./vector_runner.py"
    return web.json_response(config, headers={"Cache-Control": "no-cache"})


@routes.get("/test/vector_runner.py")
async def vector_runner(request: web.Request) -> web.Response:
    return web.Response(body=RUNNER.read_bytes(), content_type="text/x-python")


@routes.get("/test/vectors/index.json")
async def vector_index(request: web.Request) -> web.Response:
    names = sorted(p.name for p in VECTORS_DIR.glob("*.json"))
    return web.json_response(names, headers={"Cache-Control": "no-cache"})


@routes.get("/test/vectors/{name}")
async def vector_file(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    path = VECTORS_DIR / name
    if not name.endswith(".json") or "/" in name or not path.is_file():
        raise web.HTTPNotFound()
    json.loads(path.read_text())  # serve only well-formed vector files
    return web.Response(body=path.read_bytes(), content_type="application/json")


@routes.get("/test/{name}")
async def page_file(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    path = PAGES_DIR / name
    content_type = _CONTENT_TYPES.get(path.suffix)
    if content_type is None or "/" in name or not path.is_file():
        raise web.HTTPNotFound()
    body = path.read_bytes()
    if path.suffix == ".html":  # the pinned PyScript's versioned URL
        body = body.replace(b"/pyscript/", request.app[app_keys.pyscript_files]["urls"]["pyscript"].encode())
    return web.Response(body=body, content_type=content_type, headers={"Cache-Control": "no-cache"})
