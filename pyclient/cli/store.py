"""What the CLI keeps on disk: one profile per directory, every file mode 0600.

    state.json  {"server", "username", "user_id", "cookies": {name: value},
                 "csrf", "pins": {user_id: pin (pyclient.trust)}}
    keys.json   the user's key pairs as a protocol key file (docs/protocol.md
                4.2: PBKDF2-HMAC-SHA-256 >= 600,000 iterations, AES-256-CTR,
                HMAC), under the account password; current pair first.

The directory defaults to the platform's config directory
(``platformdirs.user_config_dir("sealroom")``); ``--profile DIR`` or
``$SEALROOM_PROFILE`` picks another, e.g. for a second account.
"""

import json
import os
from pathlib import Path

from ..protocol import key_export

STATE_FILE = "state.json"
KEYS_FILE = "keys.json"


def default_directory(env) -> Path:
    if env.get("SEALROOM_PROFILE"):
        return Path(env["SEALROOM_PROFILE"])
    import platformdirs
    return Path(platformdirs.user_config_dir("sealroom", appauthor=False))


def write_private(path: Path, text: str) -> None:
    """Atomically, never readable by others, even for an instant."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)  # O_CREAT's mode is masked by the umask; 0600 is never wider
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


class Profile:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.state_path = self.directory / STATE_FILE
        self.keys_path = self.directory / KEYS_FILE
        self.state: dict = {}
        if self.state_path.exists():
            self.state = json.loads(self.state_path.read_text(encoding="utf-8"))
        self.state.setdefault("pins", {})
        self.state.setdefault("cookies", {})

    def save(self) -> None:
        write_private(self.state_path, json.dumps(self.state, indent=1, sort_keys=True))

    def has_keys(self) -> bool:
        return self.keys_path.exists()

    async def save_keys(self, backend, password: str, user_id: str, pairs: list[tuple[bytes, bytes]],
                        random_bytes=os.urandom) -> None:
        export = await key_export.export_keys(backend, password, user_id=user_id, pairs=pairs,
                                              salt=random_bytes(16), iv=random_bytes(16))
        write_private(self.keys_path, json.dumps(key_export.encode_key_export(export), indent=1))

    async def load_keys(self, backend, password: str) -> tuple[str, list[tuple[bytes, bytes]]]:
        """Raises ``BadMac`` for a wrong password, ``ParseError`` for a damaged file."""
        try:
            obj = json.loads(self.keys_path.read_text(encoding="utf-8"))
        except ValueError:
            obj = None
        return await key_export.import_keys(backend, key_export.parse_key_export(obj), password)
