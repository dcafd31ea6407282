"""Proof of possession of a key pair when its public key is registered (spec §4.4).

Without it, anyone could register someone else's SPKI as their own and
collect messages signed "by" it. The server hands out a fresh random
challenge; the page signs::

    proof = RSASSA-PKCS1-v1_5-SHA-256(private_key,
              transcript(LABEL_KEY_PROOF, user_id, challenge, spki))

so a proof is bound to one account, one challenge and one key.
"""

from ..errors import ParseError
from .encoding import parse_id, transcript

LABEL_KEY_PROOF = b"sealroom/v1/key-proof"
CHALLENGE_BYTES = 32


def key_proof_message(*, user_id: str, challenge: bytes, public_key: bytes) -> bytes:
    """The bytes that are signed; the id is checked, the challenge's length too."""
    if not isinstance(challenge, bytes) or len(challenge) != CHALLENGE_BYTES:
        raise ParseError(f"the key challenge must be {CHALLENGE_BYTES} bytes")
    return transcript(LABEL_KEY_PROOF, parse_id(user_id, "user id").encode("ascii"), challenge, public_key)


async def sign_key_proof(backend, private_key: bytes, *, user_id: str, challenge: bytes, public_key: bytes) -> bytes:
    return await backend.sign(private_key, key_proof_message(user_id=user_id, challenge=challenge,
                                                             public_key=public_key))


async def verify_key_proof(backend, public_key: bytes, *, user_id: str, challenge: bytes, proof: bytes) -> bool:
    return await backend.verify(public_key, key_proof_message(user_id=user_id, challenge=challenge,
                                                              public_key=public_key), proof)
