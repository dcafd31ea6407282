"""The user's own keys in the page: create, unlock, back up, export, import, rotate.

IndexedDB store ``keys``, key = user id::

    {"public_key": b64 SPKI, "sealed": b64 SRK1 blob,
     "earlier": [{"public_key", "sealed"}, ...],   # keys before rotations, newest first
     "exported_at": ISO time or None}                # last key file download

Every private key is sealed under the keystore key (protocol 4.1) before it
is stored anywhere; the server-side backup holds the same sealed blobs and is
optional. The key file (protocol 4.2) is the other way to move keys to
another browser.
"""

import base64
import json
import os

import js
from pyodide.ffi import to_js

from ..errors import ProtocolError
from ..protocol import key_export, key_proof, keystore
from ..protocol.envelope import Envelope
from ..protocol.keys import DEFAULT_RSA_BITS, fingerprint
from .dom import append_trees, attach_listeners, by_id, make, on, show, show_error, toast, tree
from .env import document, now_ms, window
from .dates import format_datetime
from .i18n import _
from .net import ApiError

MIN_PASSPHRASE = 12


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


class NeedKeyFile(Exception):
    """No key in this browser and none on the server: the user must import a key file."""


class KeyRing:
    def __init__(self, session, *, step, on_rotated):
        """``step(text)``: say what boot is doing; ``on_rotated()``: after a new key pair is in use."""
        self.session = session
        self._step = step
        self._on_rotated = on_rotated
        self.keystore_key = b""
        self.pairs: list[tuple[bytes, bytes]] = []  # (PKCS#8, SPKI), current first
        self.record: dict = {}
        self.logout_warned = False
        self.panel_built = False    # the "Your key" controls, built once per page
        self.import_section = None  # the key file import form, built when first needed

    @property
    def user_id(self) -> str:
        return self.session.me["id"]

    # ---- unlocking -------------------------------------------------------

    async def load_or_create(self, keystore_key: bytes) -> None:
        self.keystore_key = keystore_key
        if self.session.me["public_key"] is None:
            await self._create()
        else:
            await self._unlock()
        self._ask_to_persist_storage()

    async def _create(self) -> None:
        session = self.session
        self._step(_("Generating your RSA-3072 key pair in this page…"))
        started = now_ms()
        pair = await session.backend.generate_keypair(DEFAULT_RSA_BITS)
        document.body.dataset.keygenMs = str(round(now_ms() - started))
        sealed = await self._seal(pair.private_key, pair.public_key)
        checkbox = by_id("auth-server-backup")
        server_backup = checkbox is None or bool(checkbox.checked)
        self.record = {"public_key": _b64(pair.public_key), "sealed": _b64(sealed), "earlier": [],
                       "exported_at": None}
        await self._save()
        self._step(_("Registering your public key…"))
        session.me = (await session.api.call("PUT", "/api/me/key", {
            "public_key": _b64(pair.public_key), "key_backup": _b64(sealed) if server_backup else None,
            "proof": await self._proof(pair.private_key, pair.public_key)}))["user"]
        self.pairs = [(pair.private_key, pair.public_key)]
        toast(_("Your key pair was created in this page."))

    async def _unlock(self) -> None:
        """This browser's sealed keys, else the server's backup: the first that opens under the keystore key.

        After the password was changed in another browser, the copy here is
        still sealed under the old one; the backup (sealed again by that
        browser) opens instead and replaces it.
        """
        session = self.session
        self._step(_("Unlocking your key…"))
        public_key = _unb64(session.me["public_key"])
        local = await session.store.get("keys", self.user_id)
        failure = None
        if local is not None and _unb64(local["public_key"]) == public_key:
            try:
                self.pairs, self.record = await self._open(local), local
                return
            except ProtocolError as error:
                failure = error
        if not session.me.get("key_backup"):
            # A password account got past sign-in, so only a key file can help; without a password,
            # the passphrase was wrong.
            if failure is None or session.me.get("password") is not False:
                raise NeedKeyFile()
            raise failure
        backup = await session.api.call("GET", "/api/me/key-backup")
        record = {"public_key": backup["public_key"], "sealed": backup["key_backup"],
                  "earlier": [{"public_key": k["public_key"], "sealed": k["key_backup"]}
                              for k in backup.get("earlier", [])],
                  "exported_at": (local or {}).get("exported_at")}
        self.pairs, self.record = await self._open(record), record
        await self._save()

    async def _open(self, record: dict) -> list[tuple[bytes, bytes]]:
        pairs = []
        for entry in [record, *record.get("earlier", [])]:
            public = _unb64(entry["public_key"])
            private = await keystore.open_private_key(self.session.backend, self.keystore_key, user_id=self.user_id,
                                                      public_key=public, blob=_unb64(entry["sealed"]))
            pairs.append((private, public))
        return pairs

    async def reseal(self, keystore_key: bytes) -> None:
        """After a password change: every key in this browser sealed under the new secret."""
        self.keystore_key = keystore_key
        entries = [{"public_key": _b64(public), "sealed": _b64(await self._seal(private, public))}
                   for private, public in self.pairs]
        self.record = {**self.record, **entries[0], "earlier": entries[1:]}
        await self._save()

    async def forget(self, user_id: str) -> None:
        """The account was deleted: its keys leave this browser too."""
        await self.session.store.delete("keys", user_id)
        self.pairs, self.record, self.keystore_key = [], {}, b""

    async def _proof(self, private_key: bytes, public_key: bytes) -> str:
        """Proof that this page holds the new key (protocol 4.4): the server's challenge, signed."""
        challenge = (await self.session.api.call("POST", "/api/me/key/challenge", {}))["challenge"]
        return _b64(await key_proof.sign_key_proof(self.session.backend, private_key, user_id=self.user_id,
                                                   challenge=_unb64(challenge), public_key=public_key))

    async def _seal(self, private_key: bytes, public_key: bytes) -> bytes:
        return await keystore.seal_private_key(self.session.backend, self.keystore_key, user_id=self.user_id,
                                               public_key=public_key, private_key=private_key, iv=os.urandom(16))

    async def _save(self) -> None:
        self.record.setdefault("earlier", [])
        self.record.setdefault("exported_at", None)
        await self.session.store.put("keys", self.user_id, self.record)

    def _ask_to_persist_storage(self) -> None:
        storage = getattr(window.navigator, "storage", None)
        if storage is not None and hasattr(storage, "persist"):
            storage.persist()  # fewer evictions of IndexedDB under storage pressure; the answer is not needed

    # ---- using the keys --------------------------------------------------

    @property
    def current(self) -> tuple[bytes, bytes]:
        return self.pairs[0]

    def pair_for(self, envelope: Envelope) -> tuple[bytes, bytes]:
        """The key pair this envelope was wrapped for (an earlier key after a rotation)."""
        mine = [k for k in envelope.keys if k.to == self.user_id]
        for private, public in self.pairs:
            if mine and fingerprint(public) == mine[0].kfp:
                return private, public
        return self.current

    def public_keys(self) -> list[bytes]:
        return [public for _private, public in self.pairs]

    def has_backup(self) -> bool:
        return bool(self.session.me.get("key_backup")) or bool(self.record.get("exported_at"))

    # ---- the "Your key" panel ---------------------------------------------

    def render(self) -> None:
        if not self.panel_built:
            self.panel_built = True
            append_trees(by_id("my-key"), [self._panel()])  # one call to the page, not one per element
            on("server-backup-toggle", "change", self.on_toggle_backup)
            on("export-form", "submit", self.on_export)
            on("rotate-submit", "click", self.on_rotate)
            attach_listeners()
        self.render_status()

    @staticmethod
    def _panel() -> list:
        passphrases = [tree("label", text, tree("input", id=field_id, type="password", autocomplete="new-password",
                                                 required="", minlength=str(MIN_PASSPHRASE)))
                       for field_id, text in (("export-passphrase", _("Passphrase (12+ characters)")),
                                              ("export-passphrase-again", _("Passphrase again")))]
        export_form = tree(
            "form",
            tree("p", _("A key file lets you use your key in another browser. It is encrypted with the passphrase "
                        "you choose here: keep both safe."), cls="hint"),
            *passphrases,
            tree("button", _("Download key file"), id="export-submit", type="submit"),
            tree("p", cls="error", id="export-error", role="alert", hidden=""),
            id="export-form", cls="key-form")
        return tree(
            "div",
            tree("p", cls="hint", id="backup-status"),
            tree("label", tree("input", id="server-backup-toggle", type="checkbox"),
                 " " + _("Keep an encrypted backup on the server (it cannot open it; your password does)"), cls="check"),
            tree("details", tree("summary", _("Export key file…")), export_form, id="export-panel"),
            tree("details", tree("summary", _("Rotate key…")),
                 tree("p", _("Makes a new key pair. Your old messages stay readable: the old private key is kept, "
                             "encrypted. Everyone in your rooms will see that your key changed and should compare "
                             "safety numbers with you again."), cls="hint"),
                 tree("button", _("Make a new key pair"), id="rotate-submit", type="button"),
                 id="rotate-panel"),
            id="key-panel")

    def render_status(self) -> None:
        toggle = by_id("server-backup-toggle")
        toggle.checked = bool(self.session.me.get("key_backup"))
        parts = []
        if self.session.me.get("key_backup") and self.session.me.get("password") is False:
            parts.append(_("An encrypted backup of your key is on the server; your key passphrase opens it."))
        elif self.session.me.get("key_backup"):
            parts.append(_("An encrypted backup of your key is on the server; your password opens it."))
        if self.record.get("exported_at"):
            parts.append(_("Key file exported {when}.", when=format_datetime(self.record["exported_at"])))
        if not parts:
            parts.append(_("⚠ Your key exists only in this browser. If this browser's data is cleared, or you lose "
                           "this device, you lose your key and your messages. Export a key file now."))
        status = by_id("backup-status")
        status.textContent = " ".join(parts)
        status.className = "hint" if self.has_backup() else "error backup-missing"
        if not self.has_backup():
            by_id("export-panel").open = True

    async def on_toggle_backup(self, _event) -> None:
        wanted = bool(by_id("server-backup-toggle").checked)
        if not wanted and not self.record.get("exported_at"):
            by_id("server-backup-toggle").checked = True
            show_error("export-error", _("Export a key file first: without it, turning the server backup off "
                                         "would leave your key only in this browser."))
            by_id("export-panel").open = True
            return
        sealed = self.record["sealed"] if wanted else None
        try:
            reply = await self.session.api.call("PUT", "/api/me/key-backup", {"key_backup": sealed})
        except ApiError as error:
            toast(error.message)
        else:
            self.session.me = reply["user"]
            toast(_("Server backup is on.") if wanted else _("Server backup is off: the server deleted your sealed key."))
        self.render_status()

    async def on_export(self, _event) -> None:
        passphrase = by_id("export-passphrase").value
        if len(passphrase) < MIN_PASSPHRASE:
            show_error("export-error", _("Use a passphrase of at least {count} characters.", count=MIN_PASSPHRASE))
            return
        if passphrase != by_id("export-passphrase-again").value:
            show_error("export-error", _("The two passphrases differ."))
            return
        show_error("export-error", None)
        button = by_id("export-submit")
        button.disabled = True
        try:
            export = await key_export.export_keys(self.session.backend, passphrase, user_id=self.user_id,
                                                  pairs=self.pairs, salt=os.urandom(16), iv=os.urandom(16))
        finally:
            button.disabled = False
        text = json.dumps(key_export.encode_key_export(export), indent=1)
        self._download(f"sealroom-key-{self.session.me['username']}.json", text)
        by_id("export-passphrase").value = ""
        by_id("export-passphrase-again").value = ""
        self.record["exported_at"] = js.Date.new().toISOString()
        await self._save()
        self.render_status()
        toast(_("Key file downloaded. Keep it and its passphrase safe."))

    @staticmethod
    def _download(filename: str, text: str) -> None:
        blob = js.Blob.new(to_js([text]), to_js({"type": "application/json"}, dict_converter=js.Object.fromEntries))
        url = js.URL.createObjectURL(blob)
        link = make("a", href=url, download=filename)
        document.body.appendChild(link)
        link.click()
        link.remove()
        js.setTimeout(to_js(lambda: js.URL.revokeObjectURL(url)), 60_000)

    async def on_rotate(self, _event) -> None:
        session = self.session
        button = by_id("rotate-submit")
        button.disabled = True
        try:
            pair = await session.backend.generate_keypair(DEFAULT_RSA_BITS)
            sealed = await self._seal(pair.private_key, pair.public_key)
            server_backup = bool(session.me.get("key_backup"))
            reply = await session.api.call("POST", "/api/me/key/rotate", {
                "public_key": _b64(pair.public_key), "key_backup": _b64(sealed) if server_backup else None,
                "proof": await self._proof(pair.private_key, pair.public_key)})
        except ApiError as error:
            toast(error.message)
            return
        finally:
            button.disabled = False
        earlier = {"public_key": self.record["public_key"], "sealed": self.record["sealed"]}
        self.record = {"public_key": _b64(pair.public_key), "sealed": _b64(sealed),
                       "earlier": [earlier, *self.record.get("earlier", [])], "exported_at": None}
        await self._save()
        self.pairs.insert(0, (pair.private_key, pair.public_key))
        session.me = reply["user"]
        await self._on_rotated()
        self.render_status()
        toast(_("Your new key is in use. Export a new key file: the old one does not hold it."))

    # ---- importing a key file ----------------------------------------------

    def show_import(self, on_done) -> None:
        """Ask for a key file: this browser has no key and the server holds no backup."""
        if self.import_section is None:
            section = self.import_section = make("section", id="key-import", cls="card")
            form = make("form", id="import-form", cls="key-form")
            form.appendChild(make("h2", _("Import your key file")))
            form.appendChild(make("p", _("Your account has a key, but it is not in this browser and there is no backup "
                                         "on the server. Choose the key file you exported and type its passphrase."), "hint"))
            file_label = make("label", _("Key file"))
            file_label.appendChild(make("input", id="import-file", type="file", accept="application/json,.json",
                                        required=""))
            form.appendChild(file_label)
            pass_label = make("label", _("Passphrase"))
            pass_label.appendChild(make("input", id="import-passphrase", type="password", required=""))
            form.appendChild(pass_label)
            form.appendChild(make("button", _("Import key"), id="import-submit", type="submit"))
            form.appendChild(make("p", cls="error", id="import-error", role="alert", hidden=""))
            section.appendChild(form)
            by_id("boot").parentNode.appendChild(section)

            async def submit(_event):
                if await self.import_file():
                    show("key-import", False)
                    await on_done()

            on(form, "submit", submit)
        show("boot", False)
        show("key-import")

    async def import_file(self) -> bool:
        files = by_id("import-file").files
        if files.length == 0:
            show_error("import-error", _("Choose your key file."))
            return False
        try:
            export = key_export.parse_key_export_text(await files.item(0).text())
            user_id, pairs = await key_export.import_keys(self.session.backend, export, by_id("import-passphrase").value)
        except ValueError:
            show_error("import-error", _("This is not a SealRoom key file."))
            return False
        except ProtocolError as error:
            show_error("import-error", _("The passphrase is wrong, or the file was altered.")
                       if error.kind == "bad_mac" else _("This key file cannot be used: {reason}.", reason=error.message))
            return False
        if user_id != self.user_id or pairs[0][1] != _unb64(self.session.me["public_key"]):
            show_error("import-error", _("This key file holds another account's key, or an older key of yours. "
                                         "Use the file you exported last."))
            return False
        entries = [{"public_key": _b64(public), "sealed": _b64(await self._seal(private, public))}
                   for private, public in pairs]
        self.record = {**entries[0], "earlier": entries[1:], "exported_at": js.Date.new().toISOString()}
        await self._save()
        self.pairs = pairs
        by_id("import-passphrase").value = ""
        toast(_("Your key was imported into this browser."))
        return True

    # ---- warnings before losing the key -----------------------------------

    def confirm_logout(self) -> bool:
        """First click without any backup: warn; a second click logs out."""
        if self.has_backup() or self.logout_warned:
            return True
        self.logout_warned = True
        toast(_("⚠ You have no backup of your key. Your key stays in this browser after you log out, but if its "
                "data is cleared you lose it. Export a key file first, or click “Log out” again."), 10)
        by_id("export-panel").open = True
        return False
