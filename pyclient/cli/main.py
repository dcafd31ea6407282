"""``sealroom``: end-to-end encrypted SealRoom chat from a terminal or a script.

    sealroom register URL [--username NAME] [--no-server-backup]
    sealroom login URL [--username NAME]
    sealroom logout | whoami
    sealroom rooms
    sealroom room create NAME --member USER...
    sealroom room leave ROOM | room remove ROOM USER | room delete ROOM [--yes]
    sealroom password | account delete [--yes]
    sealroom send ROOM [TEXT]                 (no TEXT, or "-": the text is read from standard input)
    sealroom read ROOM [--follow]             every message verified: ✓ or ⚠
    sealroom send-file ROOM PATH... [--text TEXT]
    sealroom get-file ROOM MESSAGE [-o PATH] [--index N] [--force]
    sealroom verify USER [--yes] [--qr]       safety number; pins the key as verified
    sealroom keys export [-o FILE] | keys import FILE

The password is asked on the terminal, or read from ``$SEALROOM_PASSWORD``
(scripts); a key file's passphrase from ``$SEALROOM_PASSPHRASE``. Exit codes:
0 done, 1 refused or failed (a message says why), 2 bad usage, 3 a message
or file failed verification.
"""

import argparse
import asyncio
import getpass
import json
import mimetypes
import os
import sys
from pathlib import Path

from .. import trust
from ..crypto import BACKENDS, UnknownBackend, make_backend
from ..errors import ProtocolError
from ..protocol import key_export
from ..protocol.attachment import blob_size, safe_file_name
from ..protocol.keys import fingerprint, format_fingerprint, format_safety_number, safety_number
from .client import Client, ClientError, Opened, unb64
from .store import Profile, default_directory

MIN_PASSPHRASE = 12
EXIT_FAILED, EXIT_USAGE, EXIT_UNVERIFIED = 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sealroom", description="End-to-end encrypted SealRoom chat.")
    parser.add_argument("--profile", help="directory of this account's keys and state "
                                          "(default: the platform's config directory, or $SEALROOM_PROFILE)")
    parser.add_argument("--crypto", choices=BACKENDS, help="crypto backend: native (default, the cryptography "
                                                           "library) or pure (the reference); or $SEALROOM_CRYPTO")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for name, help_text in (("register", "create an account and its key pair"), ("login", "sign in")):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("url", help="the server, e.g. https://chat.example.org")
        command.add_argument("--username")
        if name == "register":
            command.add_argument("--no-server-backup", action="store_true",
                                 help="keep the sealed private key off the server (export a key file!)")
    commands.add_parser("logout", help="end this computer's session")
    commands.add_parser("whoami", help="the signed-in account and its key fingerprint")
    commands.add_parser("rooms", help="your rooms")

    room = commands.add_parser("room", help="room commands").add_subparsers(dest="room_command", required=True)
    create = room.add_parser("create", help="create a room")
    create.add_argument("name")
    create.add_argument("--member", action="append", default=[], metavar="USER", nargs="+")

    leave = room.add_parser("leave", help="leave a room (the others keep it)")
    leave.add_argument("room")
    remove = room.add_parser("remove", help="remove a member (the room's creator only)")
    remove.add_argument("room")
    remove.add_argument("user")
    delete = room.add_parser("delete", help="delete a room now, for everyone (the room's creator only)")
    delete.add_argument("room")
    delete.add_argument("--yes", action="store_true", help="do it without asking")

    commands.add_parser("password", help="change your password (new one from $SEALROOM_NEW_PASSWORD or asked)")
    account = commands.add_parser("account", help="account commands").add_subparsers(dest="account_command",
                                                                                     required=True)
    account_delete = account.add_parser("delete", help="delete your account, keys and memberships")
    account_delete.add_argument("--yes", action="store_true", help="do it without asking")

    send = commands.add_parser("send", help="send a text message")
    send.add_argument("room", help="room name or id")
    send.add_argument("text", nargs="?", default="-", help='the text; "-" or nothing reads standard input')

    read = commands.add_parser("read", help="show a room's messages, verified")
    read.add_argument("room")
    read.add_argument("--follow", "-f", action="store_true", help="keep printing new messages")

    send_file = commands.add_parser("send-file", help="send files, encrypted")
    send_file.add_argument("room")
    send_file.add_argument("paths", nargs="+", metavar="PATH", type=Path)
    send_file.add_argument("--text", default="", help="a message to go with the files")

    get_file = commands.add_parser("get-file", help="download, verify and save an attachment")
    get_file.add_argument("room")
    get_file.add_argument("message", help="the message's number (as `read` shows it) or id")
    get_file.add_argument("-o", "--output", type=Path, help="file or directory to save to")
    get_file.add_argument("--index", type=int, default=1, help="which attachment of the message (from 1)")
    get_file.add_argument("--force", action="store_true", help="overwrite an existing file")

    verify = commands.add_parser("verify", help="compare safety numbers with someone and pin their key")
    verify.add_argument("user")
    verify.add_argument("--yes", action="store_true", help="mark as verified without asking")
    verify.add_argument("--qr", action="store_true", help="also draw the safety number as a QR code")

    keys = commands.add_parser("keys", help="key file export and import").add_subparsers(dest="keys_command",
                                                                                          required=True)
    export = keys.add_parser("export", help="write your key pairs to a key file, under a passphrase")
    export.add_argument("-o", "--output", type=Path)
    imported = keys.add_parser("import", help="use the key pairs of a key file on this computer")
    imported.add_argument("file", type=Path)
    return parser


class Terminal:
    """Where the CLI prints and asks: real streams, or a test's."""

    def __init__(self, stdin, stdout, stderr, env, quiet: bool):
        self.stdin, self.stdout, self.stderr, self.env, self.quiet = stdin, stdout, stderr, env, quiet

    def say(self, text: str = "") -> None:
        print(text, file=self.stdout, flush=True)

    def note(self, text: str) -> None:
        print(text, file=self.stderr, flush=True)

    def secret(self, variable: str, prompt: str, confirm: bool = False) -> str:
        if self.env.get(variable):
            return self.env[variable]
        value = getpass.getpass(prompt)
        if confirm and getpass.getpass("Again: ") != value:
            raise ClientError("The two entries differ.")
        return value

    def ask(self, prompt: str) -> str:
        print(prompt, end="", file=self.stderr, flush=True)
        return self.stdin.readline().strip()

    def progress(self, total: int, label: str):
        from tqdm import tqdm
        return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label, file=self.stderr,
                    disable=self.quiet, leave=False)


def _when(iso: str) -> str:
    return iso[:16].replace("T", " ")


def _size(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024


def format_message(client: Client, opened: Opened, members: dict) -> list[str]:
    name = client.sender_name(opened.sender, members)
    head = f"[{opened.seq}] {_when(opened.created_at)} {name}"
    if opened.payload is None:
        return [f"⚠ {head}: failed a security check ({opened.status.replace('_', ' ')}): {opened.reason}. Not shown."]
    mark = "✓" if opened.verified else "⚠"
    warning = "" if opened.verified else f" (unverified key: {name}'s key changed)"
    lines = [f"{mark} {head}{warning}: {opened.payload['body']}".rstrip()]
    for index, ref in enumerate(opened.payload.get("files", []), 1):
        lines.append(f"    📎 {index}. {safe_file_name(ref.name)} ({_size(ref.size)}, {ref.mime})")
    return lines


async def cmd_register(client: Client, args, term: Terminal) -> int:
    username = args.username or term.ask("Username: ")
    client._password = term.secret("SEALROOM_PASSWORD", "Password (8+ characters): ", confirm=True)
    if len(client._password) < 8:
        raise ClientError("Use a password of at least 8 characters.")
    me = await client.register(args.url, username, server_backup=not args.no_server_backup)
    term.say(f"Registered {me['username']} at {client.server}.")
    term.say(f"Your key fingerprint: {format_fingerprint(fingerprint(client.pairs[0][1]))}")
    if args.no_server_backup:
        term.note("⚠ Your key exists only on this computer. Run `sealroom keys export` and keep the file safe.")
    return 0


async def cmd_login(client: Client, args, term: Terminal) -> int:
    username = args.username or term.ask("Username: ")
    me = await client.login(args.url, username)
    term.say(f"Signed in as {me['username']} at {client.server}.")
    return 0


async def cmd_logout(client: Client, args, term: Terminal) -> int:
    await client.logout()
    term.say("Signed out. Your key file stays on this computer, under your password.")
    return 0


async def cmd_whoami(client: Client, args, term: Terminal) -> int:
    me = (await client.call("GET", "/api/me"))["user"]
    term.say(f"{me['username']} ({me['id']}) at {client.server}")
    term.say(f"Key fingerprint: {format_fingerprint(bytes.fromhex(me['fingerprint']))}" if me["fingerprint"]
             else "No key yet.")
    return 0


async def cmd_rooms(client: Client, args, term: Terminal) -> int:
    rooms = await client.rooms()
    if not rooms:
        term.say("You are in no room yet. `sealroom room create NAME --member USER` makes one.")
    for room in rooms:
        term.say(f"{room['id']}  {room['name']}  (deleted {_when(room['expires_at'])} UTC)")
    return 0


def _confirmed(args, term: Terminal, question: str) -> bool:
    return args.yes or term.ask(f"{question} [y/N] ").lower() in ("y", "yes")


async def cmd_room(client: Client, args, term: Terminal) -> int:
    if args.room_command != "create":
        return await cmd_room_life(client, args, term)
    members = [name for group in args.member for name in group]
    room = await client.create_room(args.name, members)
    names = ", ".join(m["username"] for m in room["members"])
    term.say(f"Created {room['name']} ({room['id']}) with {names}; it is deleted on {_when(room['expires_at'])} UTC.")
    return 0


async def cmd_room_life(client: Client, args, term: Terminal) -> int:
    room = await client.find_room(args.room)
    if args.room_command == "leave":
        await client.call("POST", f"/api/rooms/{room['id']}/leave", {})
        term.say(f"You left {room['name']}. New messages there are no longer encrypted to you.")
    elif args.room_command == "remove":
        members = await client.members(room["id"])
        found = [m for m in members.values() if m["username"].lower() == args.user.strip().lower()]
        if not found:
            raise ClientError(f"{args.user} is not a member of {room['name']}.", "not_found")
        await client.call("DELETE", f"/api/rooms/{room['id']}/members/{found[0]['id']}")
        term.say(f"{found[0]['username']} was removed from {room['name']}; its share links were revoked.")
    else:
        if not _confirmed(args, term, f"Delete {room['name']} and everything in it, for every member?"):
            return EXIT_FAILED
        await client.call("DELETE", f"/api/rooms/{room['id']}")
        term.say(f"{room['name']} was deleted, with its messages and files.")
    return 0


async def cmd_password(client: Client, args, term: Terminal) -> int:
    client.password()  # the current one, first
    new = term.secret("SEALROOM_NEW_PASSWORD", "New password (8+ characters): ", confirm=True)
    if len(new) < 8:
        raise ClientError("Use a password of at least 8 characters.")
    ended = await client.change_password(new)
    term.say(f"Password changed; your keys are sealed under it here and on the server. "
             f"{ended} other session(s) were signed out.")
    return 0


async def cmd_account(client: Client, args, term: Terminal) -> int:
    if not _confirmed(args, term, "Delete your account, your keys and your memberships? This cannot be undone."):
        return EXIT_FAILED
    name = await client.delete_account()
    term.say(f"The account {name} was deleted with its keys, key backups, sessions and memberships. Messages you "
             "sent stay in their rooms until the rooms expire; your name is held until then too.")
    return 0


async def cmd_send(client: Client, args, term: Terminal) -> int:
    text = term.stdin.read() if args.text == "-" else args.text
    text = text.rstrip("\n")
    if not text.strip():
        raise ClientError("There is no text to send.")
    room = await client.find_room(args.room)
    seq = await client.send(room["id"], {"kind": "text", "body": text})
    term.say(f"Sent to {room['name']} as message {seq}.")
    return 0


async def cmd_read(client: Client, args, term: Terminal) -> int:
    room = await client.find_room(args.room)
    await client.unlock()
    if not args.follow:
        return (await _print_history(client, room, term))[0]
    async with client.socket() as ws:  # subscribed before the history is read, so nothing falls in between
        _code, last = await _print_history(client, room, term)
        return await _follow(client, room, ws, term, last)


async def _print_history(client: Client, room: dict, term: Terminal) -> tuple[int, int]:
    """The exit code, and the last seq shown."""
    members = await client.members(room["id"])
    failed, last = False, 0
    for message in await client.history(room["id"]):
        opened = await client.open(room["id"], message, members)
        failed |= not opened.verified
        last = max(last, message["seq"])
        for line in format_message(client, opened, members):
            term.say(line)
    return (EXIT_UNVERIFIED if failed else 0), last


async def _follow(client: Client, room: dict, ws, term: Terminal, last: int) -> int:
    members = await client.members(room["id"])
    async for frame_message in ws:
        frame = json.loads(frame_message.data)
        if frame.get("type") == "room" and frame["room"]["id"] == room["id"]:
            members = await client.members(room["id"])  # someone joined, left or rotated a key
            change = frame.get("change") or {}
            if change:
                what = {"left": "left the room", "removed": "was removed from the room",
                        "account_deleted": "deleted their account"}.get(change.get("kind"), "changed")
                term.say(f"— {change.get('username', 'someone')} {what}")
        elif frame.get("type") == "room_removed" and frame["room"] == room["id"]:
            term.say({"left": "You left this room.", "removed": "You were removed from this room."}.get(
                frame.get("reason"), f"The room {room['name']} was deleted by its creator."))
            return 0
        elif frame.get("type") == "room_expired" and frame["room"] == room["id"]:
            term.say(f"The room {room['name']} reached its expiry and was deleted.")
            return 0
        elif frame.get("type") == "message" and frame["room"] == room["id"] and frame["seq"] > last:
            opened = await client.open(room["id"], frame, members)
            for line in format_message(client, opened, members):
                term.say(line)
    term.note("The server closed the connection.")
    return EXIT_FAILED


async def cmd_send_file(client: Client, args, term: Terminal) -> int:
    files = []
    for path in args.paths:
        if not path.is_file():
            raise ClientError(f"{path} is not a file.")
        files.append((path, path.name, mimetypes.guess_type(path.name)[0] or "application/octet-stream"))
    room = await client.find_room(args.room)
    total = sum(blob_size(path.stat().st_size) for path, _n, _m in files)
    with term.progress(total, "encrypt+upload") as bar:
        seq, _message_id = await client.send_files(room["id"], files, args.text,
                                                   progress=lambda done: bar.update(done - bar.n))
    term.say(f"Sent {len(files)} file(s) to {room['name']} as message {seq}.")
    return 0


async def cmd_get_file(client: Client, args, term: Terminal) -> int:
    room = await client.find_room(args.room)
    await client.unlock()
    members = await client.members(room["id"])
    opened = await client.open(room["id"], await client.find_message(room["id"], args.message), members)
    if not opened.verified:
        term.note("\n".join(format_message(client, opened, members)))
        raise ClientError("This message did not pass verification with a trusted key, so its files are not saved.",
                          "unverified")
    files = opened.payload.get("files", [])
    if not 1 <= args.index <= len(files):
        raise ClientError(f"Message {args.message} has {len(files)} attachment(s); choose --index 1 to {len(files)}.")
    ref = files[args.index - 1]
    name = safe_file_name(ref.name)
    target = args.output or Path(name)
    if target.is_dir():
        target = target / name
    if target.exists() and not args.force:
        raise ClientError(f"{target} already exists; choose another -o PATH or add --force.")
    try:
        with term.progress(blob_size(ref.size), "download+verify") as bar:
            await client.download(room["id"], opened, ref, target, progress=lambda done: bar.update(done - bar.n))
    except ProtocolError as error:
        term.note(f"⚠ {name} failed verification ({error.kind.replace('_', ' ')}): {error.message}. Nothing was saved.")
        return EXIT_UNVERIFIED
    term.say(f"✓ Saved {target} ({_size(ref.size)}), verified: signed by "
             f"{client.sender_name(opened.sender, members)}, SHA-256 checked.")
    return 0


async def _find_user(client: Client, username: str) -> dict:
    wanted = username.strip().lower()
    for room in await client.rooms():
        for member in (await client.members(room["id"])).values():
            if member["username"].lower() == wanted and member["public_key"]:
                return member
    raise ClientError(f"{username} shares no room with you; a safety number is compared with a room's members.",
                      "not_found")


async def cmd_verify(client: Client, args, term: Terminal) -> int:
    member = await _find_user(client, args.user)
    me = (await client.call("GET", "/api/me"))["user"]
    if member["id"] == me["id"]:
        raise ClientError("That is you: compare safety numbers with someone else.")
    number = safety_number(me["id"], unb64(me["public_key"]), member["id"], unb64(member["public_key"]))
    pins = client.profile.state["pins"]
    state = client.key_status(member)
    term.say(f"Safety number with {member['username']}:")
    term.say(format_safety_number(number))
    if args.qr:
        import io

        import segno
        drawing = io.StringIO()
        segno.make(number, error="m", micro=False).terminal(out=drawing, compact=True)
        term.say(drawing.getvalue())
    term.say(f"Their key fingerprint: {format_fingerprint(bytes.fromhex(member['fingerprint']))}")
    if state == trust.CHANGED:
        term.say(f"⚠ {member['username']}'s key changed since you pinned it.")
    elif state == trust.VERIFIED:
        term.say("✓ You verified this key before.")
        return 0
    if not args.yes and term.ask(f"Does {member['username']} see the same number? [y/N] ").lower() not in ("y", "yes"):
        term.say("Not verified. Their key stays pinned but unverified.")
        return EXIT_UNVERIFIED
    pins[member["id"]] = {**trust.mark_verified(pins[member["id"]], member["fingerprint"], member["public_key"]),
                          "username": member["username"]}
    client.profile.save()
    term.say(f"✓ {member['username']}'s key is verified and pinned.")
    return 0


async def cmd_keys(client: Client, args, term: Terminal) -> int:
    if args.keys_command == "export":
        await client.unlock()
        passphrase = term.secret("SEALROOM_PASSPHRASE", f"Key file passphrase ({MIN_PASSPHRASE}+ characters): ",
                                 confirm=True)
        if len(passphrase) < MIN_PASSPHRASE:
            raise ClientError(f"Use a passphrase of at least {MIN_PASSPHRASE} characters.")
        export = await key_export.export_keys(client.backend, passphrase, user_id=client.user_id, pairs=client.pairs,
                                              salt=os.urandom(16), iv=os.urandom(16))
        target = args.output or Path(f"sealroom-key-{client.profile.state['username']}.json")
        from .store import write_private
        write_private(target, json.dumps(key_export.encode_key_export(export), indent=1))
        term.say(f"Wrote {target} ({len(client.pairs)} key pair(s)). Keep it and its passphrase safe.")
        return 0
    me = (await client.call("GET", "/api/me"))["user"]
    passphrase = term.secret("SEALROOM_PASSPHRASE", "Key file passphrase: ")
    try:
        export = key_export.parse_key_export(json.loads(args.file.read_text(encoding="utf-8")))
        user_id, pairs = await key_export.import_keys(client.backend, export, passphrase)
    except (OSError, ValueError):
        raise ClientError(f"{args.file} is not a SealRoom key file.") from None
    except ProtocolError as error:
        raise ClientError("The passphrase is wrong, or the file was altered." if error.kind == "bad_mac"
                          else f"This key file cannot be used: {error.message}.") from None
    if user_id != me["id"] or pairs[0][1] != unb64(me["public_key"]):
        raise ClientError("This key file holds another account's key, or an older key of yours. "
                          "Use the file you exported last.")
    await client.profile.save_keys(client.backend, client.password(), user_id, pairs)
    client.pairs = pairs
    term.say(f"Imported {len(pairs)} key pair(s); they are stored under your password on this computer.")
    return 0


COMMANDS = {"register": cmd_register, "login": cmd_login, "logout": cmd_logout, "whoami": cmd_whoami,
            "rooms": cmd_rooms, "room": cmd_room, "password": cmd_password, "account": cmd_account, "send": cmd_send, "read": cmd_read,
            "send-file": cmd_send_file, "get-file": cmd_get_file, "verify": cmd_verify, "keys": cmd_keys}


async def run(argv=None, *, stdin=None, stdout=None, stderr=None, env=None) -> int:
    """The whole CLI as a coroutine, so tests run it in the server's event loop."""
    env = os.environ if env is None else env
    term_streams = (stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:
        return int(stop.code or 0)
    term = Terminal(*term_streams, env, args.quiet)
    try:
        backend = make_backend(args.crypto or env.get("SEALROOM_CRYPTO"))
    except UnknownBackend as error:
        term.note(f"sealroom: {error}")
        return EXIT_USAGE
    profile = Profile(Path(args.profile) if args.profile else default_directory(env))
    password = lambda: term.secret("SEALROOM_PASSWORD", "Password: ")  # noqa: E731
    try:
        async with Client(profile, backend, password) as client:
            return await COMMANDS[args.command](client, args, term)
    except ClientError as error:
        term.note(f"sealroom: {error.message}")
        return EXIT_FAILED
    except (KeyboardInterrupt, asyncio.CancelledError):
        raise
    except (ProtocolError, OSError) as error:
        term.note(f"sealroom: {getattr(error, 'message', None) or error}")
        return EXIT_FAILED


def main() -> int:
    try:
        return asyncio.run(run())
    except KeyboardInterrupt:
        return 130
