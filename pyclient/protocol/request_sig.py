"""Signed HTTP requests for blob upload and download (spec §7).

The shape is RFC 9421 (HTTP Message Signatures) with ``rsa-v1_5-sha256``
and one fixed component list, so a stolen session cookie alone cannot move
a blob: every request also proves possession of the user's private key.
The ``tag`` parameter carries the versioned domain-separation label.
"""

import base64
import hashlib
import re
from dataclasses import dataclass

from ..errors import ParseError
from .encoding import LABEL_REQUEST_SIG, b64decode, parse_id

COMPONENTS = '("@method" "@path" "content-digest")'
ALGORITHM = "rsa-v1_5-sha256"
TAG = LABEL_REQUEST_SIG.decode("ascii")
NONCE_BYTES = 16
_INPUT_RE = re.compile(
    r'sig1=\("@method" "@path" "content-digest"\);created=(0|[1-9][0-9]{0,11});nonce="([A-Za-z0-9_-]{22})";'
    r'keyid="([0-9a-f]{32})";alg="rsa-v1_5-sha256";tag="sealroom/v1/request-sig"')
_SIGNATURE_RE = re.compile(r"sig1=:([A-Za-z0-9+/=]+):")
_DIGEST_RE = re.compile(r"sha-256=:([A-Za-z0-9+/]{43}=):")


@dataclass(frozen=True)
class SignatureParams:
    created: int
    nonce: str
    keyid: str


def content_digest(body: bytes) -> str:
    return digest_header(hashlib.sha256(body).digest())


def digest_header(sha256: bytes) -> str:
    """The ``Content-Digest`` value for a body whose SHA-256 is ``sha256``."""
    return "sha-256=:" + base64.b64encode(sha256).decode("ascii") + ":"


def signature_params(params: SignatureParams) -> str:
    return (f'{COMPONENTS};created={params.created};nonce="{params.nonce}";keyid="{params.keyid}";'
            f'alg="{ALGORITHM}";tag="{TAG}"')


def signature_base(method: str, path: str, digest: str, params: SignatureParams) -> bytes:
    lines = [f'"@method": {method.upper()}', f'"@path": {path}', f'"content-digest": {digest}',
             f'"@signature-params": {signature_params(params)}']
    return "\n".join(lines).encode("ascii")


def new_params(keyid: str, created: int, random_bytes) -> SignatureParams:
    nonce = base64.urlsafe_b64encode(random_bytes(NONCE_BYTES)).decode("ascii").rstrip("=")
    return SignatureParams(created=created, nonce=nonce, keyid=parse_id(keyid, "key id"))


def encode_headers(params: SignatureParams, digest: str, signature: bytes) -> dict:
    return {
        "Content-Digest": digest,
        "Signature-Input": "sig1=" + signature_params(params),
        "Signature": "sig1=:" + base64.b64encode(signature).decode("ascii") + ":",
    }


def _header(headers, name: str) -> str:
    value = headers.get(name, "")
    if not isinstance(value, str):
        raise ParseError(f"the {name} header is malformed")
    return value


def parse_headers(headers) -> tuple[SignatureParams, str, bytes]:
    """``(params, content_digest, signature)`` from request headers, strictly:
    one spelling only, so canonical base64 everywhere (no stray ``=``, no
    non-zero trailing bits) and ``created`` without leading zeros."""
    match = _INPUT_RE.fullmatch(_header(headers, "Signature-Input"))
    if not match:
        raise ParseError("the Signature-Input header is missing or not in SealRoom's form")
    signature = _SIGNATURE_RE.fullmatch(_header(headers, "Signature"))
    digest = _header(headers, "Content-Digest")
    digest_match = _DIGEST_RE.fullmatch(digest)
    if not signature or not digest_match:
        raise ParseError("the Signature or Content-Digest header is missing or malformed")
    signature_bytes = b64decode(signature.group(1), "the Signature header", max_length=512)
    b64decode(digest_match.group(1), "the Content-Digest header", length=32)
    nonce = match.group(2)
    if base64.urlsafe_b64encode(base64.urlsafe_b64decode(nonce + "==")).decode("ascii").rstrip("=") != nonce:
        raise ParseError("the signature nonce is not canonical base64url")
    params = SignatureParams(created=int(match.group(1)), nonce=nonce, keyid=match.group(3))
    return params, digest, signature_bytes


async def sign_request(backend, private_key: bytes, *, method: str, path: str, body: bytes, keyid: str,
                       created: int, random_bytes, body_sha256: bytes | None = None) -> dict:
    """The signature headers; ``body_sha256`` is the body's SHA-256 if the
    caller has it already (then ``body`` is not read)."""
    params = new_params(keyid, created, random_bytes)
    digest = content_digest(body) if body_sha256 is None else digest_header(body_sha256)
    signature = await backend.sign(private_key, signature_base(method, path, digest, params))
    return encode_headers(params, digest, signature)
