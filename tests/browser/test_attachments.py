"""Encrypted attachments between two browsers: round trips, tampering, crashes, bad input."""

import os
import signal
import sqlite3

import pytest
from playwright.sync_api import expect

from tests.browser import media


@pytest.fixture
def pair(people):
    alice, bob = people("alice"), people("bob")
    alice.register()
    bob.register()
    alice.create_room("Media", ["bob"])
    bob.open_room("Media")
    return alice, bob


def attach(person, files: list[tuple[str, str, bytes]]) -> None:
    person.attach([{"name": name, "mimeType": mime, "buffer": data} for name, mime, data in files])


def saved_bytes(person, attachment) -> bytes:
    with person.page.expect_download() as download:
        attachment.locator(".attachment-save").click()
    return open(download.value.path(), "rb").read()


def attachment(person, name: str):
    return person.page.locator(f'#messages .attachment[data-name="{name}"]').last


def test_media_round_trip_is_byte_identical(pair, browser):
    alice, bob = pair
    files = [("photo.png", "image/png", media.png()), ("clip.webm", "video/webm", media.webm(browser)),
             ("voice.wav", "audio/wav", media.wav()), ("menu.pdf", "application/pdf", media.pdf()),
             ("notes.zip", "application/zip", media.zip_archive())]
    attach(alice, files)
    expect(alice.page.locator("#pending-files li")).to_have_count(5)
    alice.page.fill("#composer-text", "holiday files")
    alice.page.click("#send")
    expect(alice.page.locator("#pending-files li")).to_have_count(0)

    message = bob.messages().last
    expect(message).to_have_attribute("data-status", "verified")
    expect(message.locator(".body")).to_have_text("holiday files")
    for name, mime, data in files:
        box = attachment(bob, name)
        if not mime.startswith(("image/", "video/", "audio/")):
            expect(box.locator(".attachment-open")).to_be_visible()  # other files wait for a click
            box.locator(".attachment-open").click()
        expect(box).to_have_attribute("data-state", "verified")
        expect(box.locator(".attachment-status")).to_have_text("✓ Verified from alice")
        assert saved_bytes(bob, box) == data, name
    image = attachment(bob, "photo.png").locator("img.preview")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.naturalWidth") == 16
    video = attachment(bob, "clip.webm").locator("video.preview")
    for _ in range(50):  # metadata loads asynchronously
        if video.evaluate("v => v.readyState") >= 1:
            break
        bob.page.wait_for_timeout(100)
    assert video.evaluate("v => v.readyState") >= 1 and video.evaluate("v => v.error") is None
    audio = attachment(bob, "voice.wav").locator("audio.preview")
    assert audio.evaluate("a => a.error") is None


def _blob_path(server, size: int):
    database = sqlite3.connect(server.data_dir / "sealroom.db")
    (blob_id,) = database.execute("SELECT id FROM blobs WHERE size = ?", (size,)).fetchone()
    database.close()
    return server.data_dir / "blobs" / blob_id[:2] / blob_id


CHUNK = 1024 * 1024 + 32


@pytest.mark.parametrize("tamper, expected", [
    ("flip", "chunk 2 of 3 failed its MAC"),
    ("truncate", "truncated"),
    ("swap", "chunk 1 of 3 failed its MAC"),
])
def test_altered_blob_is_refused_and_never_shown(pair, server, tamper, expected):
    alice, bob = pair
    data = os.urandom(2 * 1024 * 1024 + 5000)
    attach(alice, [("data.bin", "application/octet-stream", data)])
    alice.page.click("#send")
    expect(attachment(alice, "data.bin")).to_be_visible()
    path = _blob_path(server, len(data) + 3 * 32)
    blob = bytearray(path.read_bytes())
    if tamper == "flip":
        blob[CHUNK + 100] ^= 0x01
    elif tamper == "truncate":
        del blob[-500:]
    else:
        blob = blob[CHUNK:2 * CHUNK] + blob[:CHUNK] + blob[2 * CHUNK:]
    path.write_bytes(bytes(blob))

    box = attachment(bob, "data.bin")
    box.locator(".attachment-open").click()
    expect(box).to_have_attribute("data-state", "refused")
    expect(box).to_have_attribute("data-failed", "bad_mac")
    expect(box.locator(".attachment-status")).to_contain_text(expected)
    expect(box.locator(".attachment-save")).to_have_count(0)
    expect(bob.page.locator("#toast")).to_have_text("⚠ “data.bin” failed verification and was not opened.")


def test_server_killed_mid_upload_leaves_no_blob_and_retry_works(pair, server):
    alice, bob = pair
    data = os.urandom(24 * 1024 * 1024)
    attach(alice, [("big.bin", "application/octet-stream", data)])
    alice.page.click("#send")
    expect(alice.page.locator("#upload-panel")).to_be_visible()
    for _ in range(200):
        if int(alice.page.locator("#upload-progress").evaluate("p => p.value")) > 0:
            break
        alice.page.wait_for_timeout(50)
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait()
    expect(alice.page.locator("#composer-error")).to_contain_text("cannot be reached")
    expect(alice.page.locator("#pending-files li")).to_have_count(1)  # nothing lost
    expect(alice.page.locator("#toast")).to_contain_text("Upload failed: The server cannot be reached.")

    database = sqlite3.connect(server.data_dir / "sealroom.db")
    assert database.execute("SELECT count(*) FROM blobs").fetchone() == (0,)
    database.close()
    server.start()
    alice.page.wait_for_timeout(2500)  # the page's WebSocket reconnects
    alice.page.click("#send")
    box = attachment(bob, "big.bin")
    box.locator(".attachment-open").click()
    expect(box).to_have_attribute("data-state", "verified", timeout=60_000)
    assert saved_bytes(bob, box) == data


def test_empty_oversize_and_disguised_names_are_handled(people, tmp_path):
    from tests.browser.conftest import start_server

    small = start_server(tmp_path / "small", tmp_path / "small.log", SEALROOM_MAX_UPLOAD_BYTES=str(1024 * 1024))
    try:
        alice, bob = people("alice"), people("bob")
        for person in (alice, bob):
            person.server = small
        alice.register()
        bob.register()
        alice.create_room("Edge", ["bob"])
        bob.open_room("Edge")
        uploads = []
        alice.page.on("request", lambda r: "/uploads" in r.url and uploads.append(r.url))
        attach(alice, [("empty.txt", "text/plain", b""), ("huge.bin", "application/octet-stream", os.urandom(1024 * 1024 + 1))])
        expect(alice.page.locator("#composer-error")).to_contain_text("“empty.txt” is empty")
        expect(alice.page.locator("#composer-error")).to_contain_text("the limit is 1.0 MiB")
        expect(alice.page.locator("#pending-files li")).to_have_count(0)
        assert uploads == []

        disguised = "invoice\u202efdp.exe"
        attach(alice, [(disguised, "application/octet-stream", b"MZ not really"), ("../../etc/passwd", "text/plain", b"x")])
        alice.page.click("#send")
        for shown in ("invoicefdp.exe", "_.._etc_passwd"):
            box = attachment(bob, shown)
            box.locator(".attachment-open").click()
            expect(box).to_have_attribute("data-state", "verified")
            with bob.page.expect_download() as download:
                box.locator(".attachment-save").click()
            assert download.value.suggested_filename == shown
    finally:
        small.stop()


def test_upload_can_be_cancelled_and_keeps_the_files(pair, server):
    alice, _ = pair
    attach(alice, [("big.bin", "application/octet-stream", os.urandom(40 * 1024 * 1024))])
    alice.page.click("#send")
    expect(alice.page.locator("#upload-panel")).to_be_visible()
    alice.page.click("#upload-cancel")
    expect(alice.page.locator("#composer-error")).to_contain_text("Upload cancelled")
    expect(alice.page.locator("#pending-files li")).to_have_count(1)
    database = sqlite3.connect(server.data_dir / "sealroom.db")
    assert database.execute("SELECT count(*) FROM uploads").fetchone() == (0,)
    assert database.execute("SELECT count(*) FROM blobs").fetchone() == (0,)
    database.close()
    assert not [p for p in (server.data_dir / "blobs").rglob("*") if p.is_file()]


def _script_marker(name: str) -> str:
    return f"fetch(location.origin + '/xss-ran/{name}')"


HOSTILE_FILES = [
    ("page.html", "text/html", f"<html><body><script>{_script_marker('html')}</script></body></html>".encode()),
    ("drawing.svg", "image/svg+xml",
     f'<svg xmlns="http://www.w3.org/2000/svg" onload="{_script_marker("svg")}"><circle r="5"/></svg>'.encode()),
    ("feed.xml", "application/xhtml+xml",
     f'<html xmlns="http://www.w3.org/1999/xhtml"><script>{_script_marker("xml")}</script></html>'.encode()),
    ("tool.js", "text/javascript", _script_marker("js").encode()),
    ("odd.bin", "application/x-made-up", b"<script>" + _script_marker("unknown").encode() + b"</script>"),
    ("photo.png", "image/png", media.png()),
]


def test_attachment_html_never_runs_in_origin(pair, browser):
    """A member's HTML, SVG, XML or script file is saved as octet-stream, never a document of ours."""
    alice, bob = pair
    attach(alice, HOSTILE_FILES)
    alice.page.click("#send")
    expect(bob.messages().last).to_have_attribute("data-status", "verified")

    urls = {}
    for name, _, _ in HOSTILE_FILES:
        box = attachment(bob, name)
        if box.locator(".attachment-open").count():
            box.locator(".attachment-open").click()
        expect(box).to_have_attribute("data-state", "verified")
        urls[name] = box.locator("a.attachment-save, .preview").evaluate_all("nodes => nodes.map(n => n.href || n.src)")
    expect(attachment(bob, "drawing.svg").locator(".preview")).to_have_count(0)  # SVG never previews
    expect(attachment(bob, "photo.png").locator("img.preview")).to_be_visible()

    context = bob.page.context
    ran = []
    context.on("request", lambda request: "/xss-ran/" in request.url and ran.append(request.url))
    for name, opened in urls.items():  # every preview and download URL, opened in a tab of its own
        for url in opened:
            tab = context.new_page()
            if name == "photo.png":
                tab.goto(url)
                assert tab.evaluate("document.contentType") == "image/png"
            else:  # typed application/octet-stream: the tab saves it and shows no document
                with tab.expect_download() as download, pytest.raises(Exception, match="Download is starting"):
                    tab.goto(url)
                assert download.value.suggested_filename
            tab.close()
    # Control: the same kind of payload typed as HTML does run, so the detector works.
    control = bob.page.evaluate(
        "src => URL.createObjectURL(new Blob([src], {type: 'text/html'}))",
        f"<script>{_script_marker('control')}</script>")
    tab = context.new_page()
    with tab.expect_request("**/xss-ran/control"):
        tab.goto(control)
    tab.close()
    assert [url for url in ran if not url.endswith("/control")] == []
