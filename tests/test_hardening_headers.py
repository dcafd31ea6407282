"""Response headers and logs that leak nothing (issue 9, items 7 and 8)."""

import asyncio
import json
import logging

import pytest

from server.http.access_log import RedactingAccessLogger, redact_url
from tests.helpers import register, signed
from tests.test_blobs_api import upload


@pytest.mark.parametrize("path", ["/api/me", "/api/me/key-backup", "/api/rooms", "/api/sessions",
                                  "/api/search?q=bob", "/api/no-such-route"])
async def test_api_answers_are_never_cached(client, path):
    await register(client, "alice")
    response = await client.get(path)
    assert response.headers["Cache-Control"] == "no-store", path


async def test_sealed_private_key_is_never_cached_even_on_error(client):
    await register(client, "alice", key_index=None)
    response = await client.get("/api/me/key-backup")
    assert response.status == 404
    assert response.headers["Cache-Control"] == "no-store"


async def test_blob_download_carries_the_security_headers(client, new_client):
    alice = await register(client, "alice", 0)
    room = (await (await alice.post("/api/rooms", {"name": "Files"})).json())["room"]
    blob_id = await upload(alice, room["id"], b"ciphertext")
    response = await signed(alice, "GET", f"/api/blobs/{blob_id}")
    assert response.status == 200
    headers = response.headers
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("path", ["/", "/api/me", "/static/app.css", "/no-such-page"])
async def test_server_header_names_no_versions(client, path):
    response = await client.get(path)
    server = response.headers.get("Server", "")
    assert "aiohttp" not in server.lower() and "python" not in server.lower(), server
    assert not any(char.isdigit() for char in server), server


async def test_static_files_carry_the_security_headers(client):
    response = await client.get("/static/app.css")
    assert response.status == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in response.headers


# ---- item 8: the access log ----------------------------------------------------

@pytest.mark.parametrize("url, secret", [
    ("/?invite=Zm9vYmFyc2VjcmV0dG9rZW4", "Zm9vYmFyc2VjcmV0dG9rZW4"),
    ("/api/search?q=dr+smith", "smith"),
    ("/api/search?lang=vi&Q=nguy%E1%BB%85n", "nguy"),
    ("https://chat.example/?invite=abc123secret#x", "abc123secret"),
])
def test_redact_url_removes_invite_tokens_and_search_queries(url, secret):
    redacted = redact_url(url)
    assert secret not in redacted and "REDACTED" in redacted


def test_redact_url_keeps_harmless_queries():
    assert redact_url("/api/rooms/ab/messages?before=12") == "/api/rooms/ab/messages?before=12"
    assert redact_url("/static/app.css") == "/static/app.css"


async def test_access_log_redacts_invite_tokens_and_search_queries(aiohttp_client, config, caplog):
    from aiohttp.test_utils import TestServer

    from server.app import create_app

    caplog.set_level(logging.INFO, logger="aiohttp.access")  # before the first connection: each checks it once
    server = TestServer(create_app(config))
    await server.start_server(access_log_class=RedactingAccessLogger)  # as server/__main__.py runs it
    client = await aiohttp_client(server)
    alice = await register(client, "alice")
    room = (await (await alice.post("/api/rooms", {"name": "Plans"})).json())["room"]
    invite = (await (await alice.post(f"/api/rooms/{room['id']}/invites", {})).json())["token"]
    await client.get(f"/?invite={invite}", headers={"Referer": f"http://x/?invite={invite}"})
    await client.get("/api/search", params={"q": "secretperson"})
    for _ in range(200):  # the line is written just after the answer is sent: wait for it
        lines = [record.getMessage() for record in caplog.records if record.name == "aiohttp.access"]
        if any("/api/search" in line for line in lines):
            break
        await asyncio.sleep(0.01)
    assert any("invite=" in line for line in lines) and any("/api/search" in line for line in lines), lines
    text = json.dumps(lines)
    assert invite not in text and "secretperson" not in text
    assert "invite=REDACTED" in text and "q=REDACTED" in text
