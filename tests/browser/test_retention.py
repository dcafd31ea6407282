"""Expiry and recovery as people see them, in real Chromium against a real server."""

import shutil
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.browser import media
from tests.browser.conftest import REPO, start_server
from tests.browser.test_attachments import attach, attachment, saved_bytes

PDF = media.pdf()


@pytest.fixture
def server(tmp_path, request):
    """The usual server; ``indirect`` parametrization adds environment variables."""
    server = start_server(tmp_path / "data", tmp_path / "server.log", **getattr(request, "param", {}))
    yield server
    server.stop()


def _admin(server, *argv: str) -> str:
    result = subprocess.run([sys.executable, "-m", "server.admin", *argv], cwd=REPO, env=server.env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("server", [{"SEALROOM_ROOM_RETENTION_SECONDS": "45",
                                     "SEALROOM_SWEEP_INTERVAL_SECONDS": "1"}], indirect=True)
def test_countdown_warns_then_the_expired_room_leaves_the_page(people, server):
    alice, bob = people("alice"), people("bob")
    alice.register()
    bob.register()
    alice.create_room("Short-lived", ["bob"])
    bob.open_room("Short-lived")
    for person in (alice, bob):
        countdown = person.page.locator("#room-list button .countdown")
        expect(countdown).to_contain_text("Deleted in")
        expect(countdown).to_have_attribute("data-warning", "hour")  # under an hour left
        expect(person.page.locator("#room-countdown")).to_have_attribute("data-warning", "hour")
        expect(person.page.locator("#toast")).to_contain_text("less than an hour")
    room_id = alice.page.get_attribute("#room-list button", "data-room")

    for person in (alice, bob):
        expect(person.page.locator("#room-list button")).to_have_count(0, timeout=90_000)
        expect(person.page.locator("#room")).to_be_hidden()
    assert alice.page.request.get(f"{server.url}/api/rooms/{room_id}").status == 404
    _admin(server, "stats")
    assert "EXPIRED" not in _admin(server, "rooms", "list")  # swept, not only hidden


def test_restore_drill_the_same_people_read_the_same_verified_messages(people, server, tmp_path):
    alice, bob = people("alice"), people("bob")
    alice.register()
    bob.register()
    alice.create_room("Drill", ["bob"])
    alice.send("Before the disaster: the spare key is under the mat")
    bob.open_room("Drill")
    bob.send("Noted, thanks")
    attach(alice, [("plan.pdf", "application/pdf", PDF)])
    alice.send("The evacuation plan")
    expect(alice.messages()).to_have_count(3)
    expect(bob.messages()).to_have_count(3)

    out = _admin(server, "backup", "--output", str(tmp_path / "backups"))  # while the server runs
    assert "Backup written to" in out
    [backup] = (tmp_path / "backups").iterdir()
    assert "is intact" in _admin(server, "backup", "--verify", str(backup))

    server.stop()
    shutil.rmtree(server.data_dir)
    assert "Restored 1 room(s)" in _admin(server, "restore", str(backup))
    server.start()

    for name in ("alice", "bob"):
        person = people(name)  # a fresh browser: the key comes back from the encrypted key backup
        person.goto()
        person.sign_in_form()
        person.open_room("Drill")
        expect(person.messages()).to_have_count(3)
        expect(person.page.locator('#messages .message[data-status="verified"]')).to_have_count(3)
        expect(person.messages().nth(0).locator(".body")).to_have_text(
            "Before the disaster: the spare key is under the mat")
        expect(person.messages().nth(1).locator(".body")).to_have_text("Noted, thanks")
        box = attachment(person, "plan.pdf")
        box.locator(".attachment-open").click()
        expect(box).to_have_attribute("data-state", "verified")
        assert saved_bytes(person, box) == PDF
