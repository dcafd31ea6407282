"""Canonical encodings shared by every wire object.

Base64 is the standard alphabet with padding; parsing rejects anything that
does not re-encode to the same text, so one value has exactly one encoding.
Signed and MACed inputs are built with :func:`transcript`, a length-prefixed
concatenation that starts with a versioned label. JSON that is encrypted and
MACed (the message payload, the key file's contents) is canonical, and a
receiver refuses any other spelling of the same value (spec §1).
"""

import base64
import binascii
import json
import re

from ..errors import ParseError

PROTOCOL_VERSION = 1

LABEL_MESSAGE_KEYS = b"sealroom/v1/message-keys"
LABEL_MESSAGE_MAC = b"sealroom/v1/message-mac"
LABEL_MESSAGE_SIG = b"sealroom/v1/message-sig"
LABEL_ACCOUNT_SALT = b"sealroom/v1/account-salt"
LABEL_ACCOUNT_AUTH = b"sealroom/v1/account-auth"
LABEL_ACCOUNT_KEYSTORE = b"sealroom/v1/account-keystore"
LABEL_KEYSTORE_MAC = b"sealroom/v1/keystore-mac"
LABEL_SAFETY_NUMBER = b"sealroom/v1/safety-number"
LABEL_FILE_KEYS = b"sealroom/v1/file-keys"
LABEL_FILE_CHUNK = b"sealroom/v1/file-chunk"
LABEL_FILE_SIG = b"sealroom/v1/file-sig"
LABEL_REQUEST_SIG = b"sealroom/v1/request-sig"
LABEL_KEY_EXPORT = b"sealroom/v1/key-export"
LABEL_KEY_EXPORT_MAC = b"sealroom/v1/key-export-mac"

_ID_RE = re.compile(r"[0-9a-f]{32}")


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(text, field: str, length: int | None = None, max_length: int | None = None) -> bytes:
    if not isinstance(text, str):
        raise ParseError(f"{field} must be a base64 string")
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise ParseError(f"{field} is not valid base64") from None
    if b64encode(data) != text:
        raise ParseError(f"{field} is not canonical base64")
    if length is not None and len(data) != length:
        raise ParseError(f"{field} must be {length} bytes, got {len(data)}")
    if max_length is not None and len(data) > max_length:
        raise ParseError(f"{field} is longer than {max_length} bytes")
    return data


def parse_id(value, field: str) -> str:
    """Ids are 128-bit random values written as 32 lowercase hex digits."""
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise ParseError(f"{field} must be 32 lowercase hex digits")
    return value


def u32(value: int) -> bytes:
    return value.to_bytes(4, "big")


def transcript(label: bytes, *fields: bytes) -> bytes:
    """``label || for each field: u32be(len(field)) || field``."""
    parts = [u32(len(label)), label]
    for field in fields:
        parts.append(u32(len(field)))
        parts.append(field)
    return b"".join(parts)


def check_fields(obj, required: set[str], what: str) -> dict:
    if not isinstance(obj, dict):
        raise ParseError(f"{what} must be a JSON object")
    keys = set(obj)
    missing = required - keys
    if missing:
        raise ParseError(f"{what} is missing {', '.join(sorted(missing))}")
    unknown = keys - required
    if unknown:
        raise ParseError(f"{what} has unknown field {', '.join(sorted(unknown))}")
    return obj


class _NotCanonical(ValueError):
    pass


def _no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise _NotCanonical(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def _refuse_number(text):
    raise _NotCanonical(f"only integers are allowed, not {text!r}")


def parse_json_text(text, what: str):
    """JSON that is not MACed as text (the key file as saved): whitespace is
    free, but duplicate keys, non-integer numbers and deep nesting are refused."""
    if not isinstance(text, str):
        raise ParseError(f"{what} must be JSON text")
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_refuse_number,
                          parse_constant=_refuse_number)
    except _NotCanonical as error:
        raise ParseError(f"{what} is not valid: {error}") from None
    except (ValueError, RecursionError):
        raise ParseError(f"{what} is not JSON") from None


def canonical_json(value) -> bytes:
    """UTF-8 JSON, keys sorted, no spaces, non-ASCII characters unescaped."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True,
                      allow_nan=False).encode("utf-8")


def parse_canonical_json(data: bytes, what: str):
    """Parse ``data`` and require that it is exactly ``canonical_json`` of the result:
    no whitespace, sorted and unique keys, integers only, the shortest escapes."""
    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates,
                           parse_float=_refuse_number, parse_constant=_refuse_number)
        same = canonical_json(value) == data
    except _NotCanonical as error:
        raise ParseError(f"{what} is not canonical JSON: {error}") from None
    except (UnicodeError, ValueError, RecursionError):
        raise ParseError(f"{what} is not UTF-8 JSON") from None
    if not same:
        raise ParseError(f"{what} is not canonical JSON (spaces, key order or escapes)")
    return value
