"""The runtime reaches the browser compressed and cached: versioned URLs, immutable, gzip."""

import json
import re

from server.http.pages import IMMUTABLE


async def _config(client) -> dict:
    response = await client.get("/pyscript.json")
    assert response.headers["Cache-Control"] == "no-cache"
    return await response.json()


async def _boot_module(client) -> tuple[str, str, str]:
    """PyScript's interpreter module (web/boot.mjs as served), the Pyodide it starts and its snapshot."""
    boot = (await _config(client))["interpreter"]
    text = await (await client.get(boot)).text()
    pyodide = re.search(r'new URL\("(/pyodide/[^/"]+/)"', text).group(1)
    snapshot = re.search(r'new URL\("(/pyodide/[^"]+\.bin)"', text).group(1)
    return boot, pyodide, snapshot


async def test_runtime_urls_are_versioned_and_immutable(client):
    config = await _config(client)
    boot, pyodide, snapshot = await _boot_module(client)
    assert re.fullmatch(r"/py/boot-[0-9a-f]{16}\.mjs", boot)  # named by its content
    assert re.fullmatch(r"/pyodide/[^/]+/", pyodide)  # /pyodide/<version>/
    assert re.fullmatch(r"/pyodide/[^/]+/snapshot-[0-9a-f]{16}\.bin", snapshot)  # changes with the wheels too
    for url in [boot, pyodide + "pyodide.mjs", snapshot, *config["files"]]:
        response = await client.get(url)
        assert response.status == 200, url
        assert response.headers["Cache-Control"] == IMMUTABLE, url
    assert (await client.get("/py/pyclient.zip")).status == 404  # only the content-hashed name


async def test_vendored_javascript_comes_with_its_source_maps(client):
    """Lighthouse's Best Practices: the JavaScript served from npm packages names a map that exists."""
    _, pyodide, _ = await _boot_module(client)
    integrity = re.findall(r'(/pyscript/[^"]+/core-[^"/]+\.js)"', await (await client.get("/")).text())
    for script in [pyodide + "pyodide.mjs", *integrity]:
        text = await (await client.get(script)).text()
        source_map = script.rsplit("/", 1)[0] + "/" + re.search(r"//# sourceMappingURL=(\S+)", text).group(1)
        response = await client.get(source_map)
        assert response.status == 200, source_map
        assert json.loads(await response.read())["version"] == 3


async def test_pyscript_module_carries_the_compile_hint_and_its_map_still_lines_up(client):
    """PyScript's module is compiled while it streams in, not on the main thread when it runs;
    its source map gained one empty line for the hint, so every mapping still points at its code."""
    from server.vendor import COMPILE_HINT
    page = await (await client.get("/")).text()
    chunks = re.findall(r'(/pyscript/[^"]+/core-[^"/]+\.js)"', page)
    assert chunks
    for script in chunks:
        served = await (await client.get(script)).read()
        assert served.startswith(COMPILE_HINT)
        name = re.search(rb"//# sourceMappingURL=(\S+)", served).group(1).decode()
        mapping = json.loads(await (await client.get(script.rsplit("/", 1)[0] + "/" + name)).read())
        assert mapping["mappings"].startswith(";") and not mapping["mappings"].startswith(";;")


async def test_webassembly_and_the_snapshot_come_precompressed(client):
    _, pyodide, snapshot = await _boot_module(client)
    compressed = await client.get(snapshot, headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    assert compressed.headers["Content-Encoding"] == "gzip"
    wasm = pyodide + "pyodide.asm.wasm"
    compressed = await client.get(wasm, headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    plain = await client.get(wasm, headers={"Accept-Encoding": "identity"}, auto_decompress=False)
    assert compressed.headers["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in plain.headers
    assert int(compressed.headers["Content-Length"]) < int(plain.headers["Content-Length"]) / 2
    assert (await plain.read())[:4] == b"\0asm"


async def test_the_page_is_compressed_and_its_assets_versioned(client):
    response = await client.get("/", headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    assert response.headers["Content-Encoding"] == "gzip"
    html = await client.get("/")
    text = await html.text()
    assert "/static/app.css?v=" in text and "/static/shell.js?v=" in text
    version = text.split("/static/app.css?v=")[1].split('"')[0]
    cached = await client.get(f"/static/app.css?v={version}")
    assert cached.headers["Cache-Control"] == IMMUTABLE
    for asset in ("app.css", "shell.js"):  # Lighthouse: "Enable text compression"
        response = await client.get(f"/static/{asset}?v={version}", headers={"Accept-Encoding": "gzip"},
                                    auto_decompress=False)
        assert response.headers["Content-Encoding"] == "gzip", asset
    stale = await client.get("/static/app.css?v=0000")
    assert stale.headers["Cache-Control"] == "no-cache"


async def test_an_anonymous_page_paints_sign_in_without_asking_the_api(client):
    text = await (await client.get("/")).text()
    assert 'data-session="0"' in text
    assert '<section id="auth">' in text and '<section id="boot" aria-live="polite" hidden>' in text


async def test_the_page_is_cross_origin_isolated(client):
    response = await client.get("/")
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Embedder-Policy"] == "require-corp"
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]


async def test_a_share_that_reaches_the_server_is_not_kept(client):
    """Without the service worker a share would arrive here: it is refused unread."""
    response = await client.post("/share", data={"text": "private"}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/?share=unavailable"


async def test_an_invite_link_preview_names_no_room_and_no_member(client):
    from tests.helpers import register

    alice = await register(client, "alice")
    room = (await (await alice.post("/api/rooms", {"name": "Secret plans", "members": []})).json())["room"]
    invite = await (await alice.post(f"/api/rooms/{room['id']}/invites", {})).json()
    path = invite["invite"]["path"] if "invite" in invite else invite["path"]
    await client.post("/api/logout", headers=alice.headers())
    page = await (await client.get(path)).text()
    assert '<meta property="og:title" content="You&#39;re invited to a SealRoom room">' in page
    assert 'name="twitter:card" content="summary"' in page
    assert "Secret plans" not in page and "alice" not in page
    assert "You&#39;re invited to a SealRoom room." in page  # the explanation before sign-up


def test_the_page_gets_no_cpython_only_client_module():
    """The CLI and the native backend import aiohttp, cryptography, platformdirs
    and tqdm, which Pyodide does not have: they stay out of the page's zip."""
    import io
    import zipfile
    from pathlib import Path

    import pyclient
    from server.vendor import build_pyclient_zip

    names = zipfile.ZipFile(io.BytesIO(build_pyclient_zip(Path(pyclient.__file__).parent))).namelist()
    assert "pyclient/protocol/envelope.py" in names and "pyclient/crypto/pure.py" in names
    assert "pyclient/account.py" in names
    assert not [name for name in names if name.startswith("pyclient/cli/") or name == "pyclient/crypto/native.py"]


def test_client_bytecode_ships_only_with_the_source_it_was_compiled_from(tmp_path, monkeypatch):
    """Bytecode compiled for yesterday's client never runs beside today's source:
    the page's Python trusts those pycs without checking them (server/vendor.mjs)."""
    import io
    import zipfile

    from server import vendor
    from server.config import REPO_ROOT

    monkeypatch.setattr(vendor, "BYTECODE_DIR", tmp_path / "bytecode")
    node_modules = REPO_ROOT / "node_modules"
    client = tmp_path / "pyclient"
    client.mkdir()
    (client / "__init__.py").write_text("VERSION = 1\n")
    compiled = vendor._pyclient_bytecode_path(vendor.build_pyclient_zip(client), node_modules)
    compiled.parent.mkdir()
    with zipfile.ZipFile(compiled, "w") as archive:
        archive.writestr("pyclient/__pycache__/__init__.cpython-314.pyc", b"bytecode of VERSION = 1")

    def names() -> set[str]:
        return set(zipfile.ZipFile(io.BytesIO(vendor.pyclient_zip(client, node_modules))).namelist())

    assert names() == {"pyclient/__init__.py", "pyclient/__pycache__/__init__.cpython-314.pyc"}
    (client / "__init__.py").write_text("VERSION = 2\n")
    assert names() == {"pyclient/__init__.py"}


async def test_pyscript_files_the_page_loads_carry_subresource_integrity(client):
    import base64
    import hashlib
    import re

    page = await (await client.get("/")).text()
    tags = re.findall(r'(?:src|href)="(/pyscript/[^"]+)" integrity="(sha384-[^"]+)"', page)
    assert {url.rsplit("/", 1)[1] for url, _ in tags} >= {"core.js", "core.css"}
    assert any(re.fullmatch(r"core-\w+\.js", url.rsplit("/", 1)[1]) for url, _ in tags)  # the module core.js imports
    for url, integrity in tags:
        body = await (await client.get(url, headers={"Accept-Encoding": "identity"})).read()
        assert integrity == "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode(), url
