"""The spec-only decoder (tests/independent_decoder.py) agrees with every vector."""

import base64
import json

import pytest

from tests import independent_decoder as spec
from tests.test_vectors import VECTORS


def _b(text: str) -> bytes:
    return base64.b64decode(text)


def _outcome(vector: dict) -> str:
    try:
        if vector["kind"] == "envelope":
            me, sender = vector["recipient"], vector["sender"]
            payload = spec.open_envelope(vector["envelope"], room=vector["room"], sender_spki=_b(sender["public_key"]),
                                         me=me["user_id"], my_pkcs8=_b(me["private_key"]),
                                         my_spki=_b(me["public_key"]))
            return "success" if payload == vector["payload"] else "mismatch"
        if vector["kind"] == "keystore":
            opened = spec.open_sealed_key(bytes.fromhex(vector["keystore_key"]), vector["user_id"],
                                          _b(vector["public_key"]), _b(vector["blob"]))
            return "success" if opened == _b(vector["private_key"]) else "mismatch"
        if vector["kind"] == "keys":
            a, b = vector["a"], vector["b"]
            same = spec.safety_number(a["user_id"], _b(a["public_key"]), b["user_id"], _b(b["public_key"]))
            return "success" if same == vector["safety_number"] else "mismatch"
        if vector["kind"] == "key_export":
            opened = spec.open_key_export(vector["file"], vector["passphrase"])
            return "success" if opened == vector["contents"] else "mismatch"
    except spec.Refused as refusal:
        return refusal.kind
    pytest.skip(f"{vector['kind']} vectors test primitives, not protocol objects")


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_independent_decoder_reaches_the_vector_outcome(path):
    vector = json.loads(path.read_text())
    assert _outcome(vector) == vector["expect"]
