"""The ``sealroom`` CLI against a real server over TCP (aiohttp_server), as
two or three people with their own profiles; one test runs the installed
console script against a spawned ``python -m server`` process."""

import asyncio
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pyclient.cli.client import Client, unb64
from pyclient.cli.main import run
from pyclient.cli.store import Profile
from pyclient.crypto.native import NativeBackend
from pyclient.protocol.keys import format_safety_number, safety_number

PASSWORD = "correct horse battery staple"
PASSPHRASE = "a long key file passphrase"


class Person:
    def __init__(self, name: str, directory: Path, url: str, env: dict | None = None):
        self.name, self.profile, self.url = name, directory / name, url
        self.env = {"SEALROOM_PASSWORD": PASSWORD, "SEALROOM_PASSPHRASE": PASSPHRASE, **(env or {})}

    async def __call__(self, *argv, stdin: str = "", expect: int | None = 0) -> str:
        out, err = io.StringIO(), io.StringIO()
        code = await run(["--profile", str(self.profile), "--quiet", *map(str, argv)],
                         stdin=io.StringIO(stdin), stdout=out, stderr=err, env=self.env)
        self.last_error = err.getvalue()
        if expect is not None:
            assert code == expect, f"{self.name} {argv}: exit {code}\n{out.getvalue()}\n{err.getvalue()}"
        self.code = code
        return out.getvalue()

    def client(self) -> Client:
        return Client(Profile(self.profile), NativeBackend(), lambda: PASSWORD)


@pytest.fixture
def url(app_server) -> str:
    return str(app_server.make_url("")).rstrip("/")


@pytest.fixture
def people(tmp_path, url):
    def make(name: str, **env) -> Person:
        return Person(name, tmp_path, url, env)
    return make


@pytest.fixture
async def alice_and_bob(people, url):
    alice, bob = people("alice"), people("bob")
    await alice("register", url, "--username", "alice")
    await bob("register", url, "--username", "bob")
    await alice("room", "create", "Plans", "--member", "bob")
    return alice, bob


async def test_two_cli_users_exchange_text_and_a_file_verified(alice_and_bob, tmp_path):
    alice, bob = alice_and_bob
    assert "Plans" in await bob("rooms")
    await alice("send", "Plans", "Xin chào, Bob! 👋")
    await bob("send", "Plans", stdin="from standard input\n")
    shown = await bob("read", "Plans")
    assert "✓ [1]" in shown and "alice: Xin chào, Bob! 👋" in shown
    assert "✓ [2]" in shown and "bob: from standard input" in shown

    data = os.urandom(2 * 1024 * 1024 + 123)  # three chunks, the last one short
    source = tmp_path / "report.bin"
    source.write_bytes(data)
    sent = await bob("send-file", "Plans", source, "--text", "the report")
    seq = sent.split("message ")[-1].rstrip(".\n")
    listing = await alice("read", "Plans")
    assert f"✓ [{seq}]" in listing and "bob: the report" in listing and "📎 1. report.bin (2.0 MiB" in listing
    target = tmp_path / "received.bin"
    saved = await alice("get-file", "Plans", seq, "-o", target)
    assert saved.startswith("✓ Saved") and target.read_bytes() == data


async def test_server_never_sees_the_cli_plaintext_or_password(alice_and_bob, app_server, config):
    alice, bob = alice_and_bob
    await alice("send", "Plans", "the secret plan")
    data_files = [p for p in config.data_dir.rglob("*") if p.is_file()]
    for path in data_files:
        content = path.read_bytes()
        assert b"the secret plan" not in content and PASSWORD.encode() not in content


async def test_cli_keeps_keys_in_a_private_600k_key_file(alice_and_bob):
    alice, _bob = alice_and_bob
    for path in (alice.profile / "keys.json", alice.profile / "state.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key_file = json.loads((alice.profile / "keys.json").read_text())
    assert key_file["type"] == "sealroom-key-export" and key_file["iterations"] >= 600_000
    assert "private" not in (alice.profile / "state.json").read_text()


async def test_get_file_never_saves_an_altered_blob(alice_and_bob, tmp_path, config):
    alice, bob = alice_and_bob
    source = tmp_path / "photo.png"
    source.write_bytes(os.urandom(300_000))
    await bob("send-file", "Plans", source)
    (blob,) = [p for p in (config.data_dir / "blobs").rglob("*") if p.is_file()]
    altered = bytearray(blob.read_bytes())
    altered[1000] ^= 1
    blob.write_bytes(bytes(altered))
    target = tmp_path / "out"
    target.mkdir()
    await alice("get-file", "Plans", "1", "-o", target, expect=3)
    assert "failed verification (bad mac)" in alice.last_error
    assert list(target.iterdir()) == []


async def test_read_marks_a_forged_signature_unverified(alice_and_bob, people, url):
    alice, bob = alice_and_bob
    mallory = people("mallory")
    await mallory("register", url, "--username", "mallory")
    await alice("room", "create", "Open", "--member", "bob", "mallory")
    async with mallory.client() as client:  # signs with another private key than the one the server shows
        await client.unlock()
        other = await NativeBackend().generate_keypair(2048)
        client.pairs = [(other.private_key, client.pairs[0][1])]
        room = await client.find_room("Open")
        await client.send(room["id"], {"kind": "text", "body": "I am mallory, trust me"})
    shown = await bob("read", "Open", expect=3)
    assert "⚠ [1]" in shown and "bad signature" in shown and "trust me" not in shown


async def test_verify_prints_the_safety_number_and_a_changed_key_blocks_sending(alice_and_bob):
    alice, bob = alice_and_bob
    await bob("send", "Plans", "before")
    shown = await alice("verify", "bob", "--yes")
    async with alice.client() as a, bob.client() as b:
        me, them = (await a.call("GET", "/api/me"))["user"], (await b.call("GET", "/api/me"))["user"]
        expected = safety_number(me["id"], unb64(me["public_key"]), them["id"], unb64(them["public_key"]))
        assert format_safety_number(expected) in shown and "verified and pinned" in shown
        # Bob's key is replaced (as a rotation, or a server swapping keys would do).
        await b.unlock()
        new = await b.backend.generate_keypair(2048)
        await b.call("POST", "/api/me/key/rotate", {"public_key": json_b64(new.public_key), "key_backup": None,
                                                    "proof": await b._key_proof(new.private_key, new.public_key)})
        b.pairs.insert(0, (new.private_key, new.public_key))
        await b.profile.save_keys(b.backend, PASSWORD, b.user_id, b.pairs)
    await bob("send", "Plans", "after")
    listing = await alice("read", "Plans", expect=3)
    assert "✓ [1]" in listing and "bob: before" in listing
    assert "⚠ [2]" in listing and "unverified key" in listing
    await alice("send", "Plans", "hello?", expect=1)
    assert "key of bob changed" in alice.last_error
    await alice("verify", "bob", "--yes")
    await alice("send", "Plans", "hello again")


def json_b64(data: bytes) -> str:
    import base64
    return base64.b64encode(data).decode()


async def test_key_file_export_then_import_on_another_computer(people, url, tmp_path):
    alice = people("alice")
    await alice("register", url, "--username", "alice", "--no-server-backup")
    await alice("room", "create", "Solo")
    await alice("send", "Solo", "note to self")
    key_file = tmp_path / "alice-key.json"
    await alice("keys", "export", "-o", key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    laptop = people("alice-laptop")
    await laptop("login", url, "--username", "alice", expect=1)
    assert "keys import" in laptop.last_error
    wrong = people("alice-laptop", SEALROOM_PASSPHRASE="not the passphrase")
    await wrong("keys", "import", key_file, expect=1)
    assert "passphrase is wrong" in wrong.last_error
    await laptop("keys", "import", key_file)
    assert "✓ [1]" in await laptop("read", "Solo")


async def test_login_on_a_new_computer_restores_the_server_backup(alice_and_bob, people, url):
    alice, _bob = alice_and_bob
    await alice("send", "Plans", "hi")
    laptop = people("alice-laptop")
    await laptop("login", url, "--username", "alice")
    assert "✓ [1]" in await laptop("read", "Plans")


async def test_read_follow_prints_new_messages_as_they_arrive(alice_and_bob):
    alice, bob = alice_and_bob
    out = io.StringIO()
    follow = asyncio.create_task(run(["--profile", str(alice.profile), "--quiet", "read", "Plans", "--follow"],
                                     stdin=io.StringIO(), stdout=out, stderr=io.StringIO(), env=alice.env))
    try:
        await bob("send", "Plans", "first")
        async with asyncio.timeout(20):
            while "bob: first" not in out.getvalue():
                await asyncio.sleep(0.05)
        await bob("send", "Plans", "live one")
        async with asyncio.timeout(20):
            while "bob: live one" not in out.getvalue():
                await asyncio.sleep(0.05)
    finally:
        follow.cancel()
        await asyncio.gather(follow, return_exceptions=True)
    assert "✓ [2]" in out.getvalue()


async def test_wrong_password_and_unknown_room_get_clear_errors(alice_and_bob, people, url):
    alice, _bob = alice_and_bob
    stranger = people("stranger", SEALROOM_PASSWORD="wrong password")
    await stranger("login", url, "--username", "alice", expect=1)
    assert "Wrong username or password" in stranger.last_error
    await alice("send", "Nowhere", "x", expect=1)
    assert "no room called 'Nowhere'" in alice.last_error
    await alice("--crypto", "pure", "rooms")  # the reference backend is one flag away


def test_console_script_against_a_spawned_server(tmp_path):
    from tests.browser.conftest import start_server

    server = start_server(tmp_path / "data", tmp_path / "server.log")
    try:
        script = Path(sys.executable).with_name("sealroom")
        env = {**os.environ, "SEALROOM_PASSWORD": PASSWORD, "SEALROOM_PROFILE": str(tmp_path / "profile")}
        for argv in (["register", server.url, "--username", "carol"], ["room", "create", "Notes"],
                     ["send", "Notes", "from a real process"], ["read", "Notes"]):
            done = subprocess.run([script, "--quiet", *argv], env=env, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
        assert "✓ [1]" in done.stdout and "carol: from a real process" in done.stdout
    finally:
        server.stop()


async def test_cli_room_life_leave_remove_delete(alice_and_bob, people, url):
    alice, bob = alice_and_bob
    carol = people("carol")
    await carol("register", url, "--username", "carol")
    await alice("room", "create", "Trio", "--member", "bob", "carol")
    await bob("room", "remove", "Trio", "carol", expect=1)
    assert "Only the person who created this room" in bob.last_error
    await alice("room", "remove", "Trio", "carol")
    await carol("read", "Trio", expect=1)
    await bob("room", "leave", "Trio")
    assert "Trio" not in await bob("rooms")
    await alice("send", "Trio", "alone now")  # sealed for alice only: bob and carol are gone
    await alice("room", "delete", "Plans", "--yes")
    assert "Plans" not in await bob("rooms")


async def test_cli_change_password_reseals_keys_and_signs_out_the_other_computer(alice_and_bob, people, url):
    alice, bob = alice_and_bob
    await alice("send", "Plans", "before the change")
    laptop = people("alice-laptop")
    await laptop("login", url, "--username", "alice")
    changer = people("alice", SEALROOM_NEW_PASSWORD="a brand new password")
    out = await changer("password")
    assert "1 other session(s) were signed out" in out
    laptop_old = people("alice-laptop")  # still has the old password: its session ended, sign-in fails
    await laptop_old("rooms", expect=1)
    assert "Wrong username or password" in laptop_old.last_error
    renewed = people("alice", SEALROOM_PASSWORD="a brand new password")
    assert "✓ [1]" in await renewed("read", "Plans")  # the local key file opens with the new password
    fresh = people("alice-phone", SEALROOM_PASSWORD="a brand new password")
    await fresh("login", url, "--username", "alice")  # the server backup opens with the new password
    assert "✓ [1]" in await fresh("read", "Plans")
    wrong = people("alice", SEALROOM_PASSWORD="not my password", SEALROOM_NEW_PASSWORD="whatever123")
    await wrong("password", expect=1)


async def test_cli_account_delete(alice_and_bob, url, people):
    alice, bob = alice_and_bob
    await bob("send", "Plans", "last words")
    await alice("read", "Plans")  # alice pins bob's key as she reads
    await bob("account", "delete", "--yes")
    assert not (bob.profile / "keys.json").exists()
    shown = await alice("read", "Plans")
    assert "✓ [1]" in shown and "bob: last words" in shown  # still verifies, under the key alice pinned
    again = people("bob2")
    await again("register", url, "--username", "bob", expect=1)
    assert "taken" in again.last_error


async def test_a_profile_never_overwrites_another_accounts_keys(alice_and_bob, url):
    alice, _bob = alice_and_bob
    before = (alice.profile / "keys.json").read_bytes()
    await alice("login", url, "--username", "bob", expect=1)
    await alice("register", url, "--username", "alice2", expect=1)
    await alice("login", "http://127.0.0.1:1", "--username", "alice", expect=1)
    assert "--profile" in alice.last_error
    assert (alice.profile / "keys.json").read_bytes() == before
    await alice("login", url, "--username", "alice")  # the same account signs in again


async def test_pure_backend_flag_reads_what_the_native_backend_sealed(alice_and_bob):
    alice, bob = alice_and_bob
    await alice("send", "Plans", "sealed by OpenSSL")
    assert "✓ [1]" in await bob("--crypto", "pure", "read", "Plans")
    await bob("--crypto", "pure", "send", "Plans", "sealed by python-rsa and pyaes")
    assert "✓ [2]" in await alice("read", "Plans")
