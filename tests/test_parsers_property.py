"""Property tests: every wire parser refuses hostile input with the protocol's
own error family, never another exception, and never hangs.

Inputs are either arbitrary or a valid object with one part replaced by
something arbitrary (the shape a real attacker starts from). Hypothesis's
deadline turns a slow example (a hang, quadratic work) into a failure.
"""

import asyncio
import base64
import copy
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyclient.crypto.pure import PureBackend
from pyclient.errors import ProtocolError
from pyclient.protocol import key_export, keystore, request_sig
from pyclient.protocol.attachment import ChunkDecryptor, parse_file_ref
from pyclient.protocol.encoding import parse_canonical_json, parse_json_text
from pyclient.protocol.envelope import open_envelope, parse_envelope, parse_payload
from pyclient.protocol.keys import check_key_pair, parse_private_key, parse_public_key
from pyclient.crypto.native import NativeBackend
from tests.helpers import register

VECTORS = Path(__file__).parent / "vectors"
PROPERTY = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])


def vector(name: str) -> dict:
    return json.loads((VECTORS / f"{name}.json").read_text())


def _b(text: str) -> bytes:
    return base64.b64decode(text)


json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=5)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=5), max_leaves=20)
# Strings a base64 or id field might be given: near misses of the real thing.
near_base64 = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n\u00e9",
                      max_size=80)
field_values = json_values | near_base64 | st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode())


def mutated(base: dict, keys=None):
    """``base`` with one field replaced, removed, or one field added."""
    keys = sorted(keys or base)
    replace = st.tuples(st.just("replace"), st.sampled_from(keys), field_values)
    remove = st.tuples(st.just("remove"), st.sampled_from(keys), st.none())
    add = st.tuples(st.just("add"), st.text(max_size=8), field_values)

    def apply(edit):
        action, key, value = edit
        changed = copy.deepcopy(base)
        if action == "remove":
            changed.pop(key, None)
        else:
            changed[key] = value
        return changed
    return (replace | remove | add).map(apply)


def deep_json(draw_depth):
    return st.integers(1, draw_depth).flatmap(
        lambda depth: st.sampled_from(["[", '{"a":']).map(
            lambda opener: opener * depth + ("]" if opener == "[" else "1}") * depth))


def refuses_cleanly(call, *args, **kwargs):
    try:
        result = call(*args, **kwargs)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        return result
    except ProtocolError:
        return None


ENVELOPE = vector("envelope_ok")


@PROPERTY
@given(st.one_of(json_values, mutated(ENVELOPE["envelope"])))
def test_envelope_parser_refuses_malformed_envelopes_with_a_protocol_error(obj):
    envelope = refuses_cleanly(parse_envelope, obj)
    if envelope is not None:
        bob, alice = ENVELOPE["recipient"], ENVELOPE["sender"]
        refuses_cleanly(open_envelope, NativeBackend(), envelope, room=ENVELOPE["room"],
                        sender_public_key=_b(alice["public_key"]), me=bob["user_id"],
                        my_private_key=_b(bob["private_key"]), my_public_key=_b(bob["public_key"]))


@PROPERTY
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode), deep_json(200_000).map(str.encode),
                 mutated({"kind": "files", "body": "", "files": [vector("attachment_ok")["file"]]})
                 .map(lambda o: json.dumps(o, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
                      .encode("utf-8", "surrogatepass"))))
def test_decrypted_payload_parser_refuses_anything_but_canonical_messages(data):
    refuses_cleanly(parse_payload, data)
    refuses_cleanly(parse_canonical_json, data, "payload")


REQUEST = vector("request_signature_download")


def mutated_headers():
    headers = REQUEST["headers"]

    def edit(change):
        name, position, text = change
        changed = dict(headers)
        value = changed[name]
        changed[name] = value[:position] + text + value[position + len(text):]
        return changed
    return st.tuples(st.sampled_from(sorted(headers)), st.integers(0, 600), st.text(max_size=4)).map(edit)


@PROPERTY
@given(st.one_of(mutated_headers(), st.dictionaries(st.sampled_from(sorted(REQUEST["headers"])),
                                                      st.text(max_size=80) | json_values, max_size=3)))
def test_signed_request_header_parser_refuses_every_other_spelling(headers):
    parsed = refuses_cleanly(request_sig.parse_headers, headers)
    if parsed is not None:
        params, digest, signature = parsed
        rebuilt = request_sig.encode_headers(params, digest, signature)
        assert rebuilt == {k: headers[k] for k in rebuilt}, "only the canonical spelling parses"


ATTACHMENT = vector("attachment_ok")


@PROPERTY
@given(st.one_of(json_values, mutated(ATTACHMENT["file"])))
def test_file_reference_parser_refuses_malformed_references(obj):
    refuses_cleanly(parse_file_ref, obj)


@PROPERTY
@given(st.binary(max_size=300), st.lists(st.integers(1, 200), max_size=6))
def test_chunk_decryptor_refuses_arbitrary_blobs(blob, cuts):
    ref = parse_file_ref(ATTACHMENT["file"])

    async def run():
        decryptor = ChunkDecryptor(NativeBackend(), ref)
        start = 0
        for cut in [*cuts, len(blob)]:
            await decryptor.feed(blob[start:start + cut])
            start += cut
        await decryptor.finish(room=ATTACHMENT["room"], sender=ATTACHMENT["sender"],
                               message_id=ATTACHMENT["message_id"],
                               sender_public_key=_b(ATTACHMENT["sender_public_key"]))
    refuses_cleanly(run)


KEY_FILE = vector("key_export_ok")


@PROPERTY
@given(st.one_of(json_values, mutated(KEY_FILE["file"])))
def test_key_file_parser_refuses_malformed_files(obj):
    refuses_cleanly(key_export.parse_key_export, obj)


@PROPERTY
@given(st.one_of(st.text(max_size=300), deep_json(200_000),
                 mutated(KEY_FILE["file"]).map(lambda o: json.dumps(o, indent=1)),
                 st.just(json.dumps(KEY_FILE["file"])[:-1] + ', "v": 1}')))
def test_key_file_text_parser_refuses_malformed_text(text):
    refuses_cleanly(key_export.parse_key_export_text, text)
    refuses_cleanly(parse_json_text, text, "text")


@PROPERTY
@given(st.one_of(st.binary(max_size=300), deep_json(200_000).map(str.encode),
                 mutated(KEY_FILE["contents"]).map(lambda o: json.dumps(o, separators=(",", ":"), sort_keys=True)
                                                    .encode("utf-8", "surrogatepass"))))
def test_key_file_contents_parser_refuses_malformed_contents(data):
    refuses_cleanly(key_export.parse_contents, data)


ALICE = vector("keys")["pairs"]["alice"]


def damaged(der: bytes):
    flip = st.tuples(st.integers(0, len(der) - 1), st.integers(1, 255)).map(
        lambda c: der[:c[0]] + bytes([der[c[0]] ^ c[1]]) + der[c[0] + 1:])
    cut = st.integers(0, len(der) - 1).map(lambda n: der[:n])
    insert = st.tuples(st.integers(0, len(der)), st.binary(min_size=1, max_size=4)).map(
        lambda c: der[:c[0]] + c[1] + der[c[0]:])
    return flip | cut | insert | st.binary(max_size=64)


@PROPERTY
@given(damaged(_b(ALICE["public_key"])))
def test_public_key_parser_refuses_damaged_keys(der):
    refuses_cleanly(parse_public_key, der)


@PROPERTY
@given(damaged(_b(ALICE["private_key"])))
def test_private_key_parser_refuses_damaged_keys(der):
    if refuses_cleanly(parse_private_key, der) is not None:
        refuses_cleanly(check_key_pair, der, _b(ALICE["public_key"]))


@settings(max_examples=60, deadline=2000)
@given(st.one_of(st.binary(min_size=1, max_size=200), damaged(_b(ALICE["private_key"]))))
def test_sealed_key_with_a_valid_mac_but_other_contents_is_refused(contents):
    key = bytes(range(64))

    async def run():
        blob = await keystore.seal_private_key(PureBackend(), key, user_id=ALICE["user_id"],
                                               public_key=_b(ALICE["public_key"]), private_key=contents,
                                               iv=bytes(16))
        return await keystore.open_private_key(PureBackend(), key, user_id=ALICE["user_id"],
                                               public_key=_b(ALICE["public_key"]), blob=blob)
    assert refuses_cleanly(run) in (None, _b(ALICE["private_key"]))


# The WebSocket frame parser (server/http/ws.py), through a real socket: a bad
# frame gets an error frame naming the client's mistake, never "internal" and
# never a closed connection. One socket serves every example.
frames = st.one_of(
    json_values.map(json.dumps),
    st.text(max_size=200),
    deep_json(70_000),  # up to 490 kB: past the 256 KiB frame limit, inside the socket's 512 KiB message cap
    st.fixed_dictionaries({"type": json_values | st.sampled_from(["ping", "send", "hello"])},
                          optional={"ref": json_values, "room": json_values, "envelope": json_values}).map(json.dumps),
)


@settings(max_examples=100, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=frames)
async def test_malformed_websocket_frames_get_an_error_frame_and_the_socket_stays_open(socket, raw):
    await socket.send_str(raw)
    reply = await socket.receive_json(timeout=5)
    if reply["type"] == "error":
        assert reply["error"] in {"invalid", "not_found", "too_large", "stale_members", "conflict"}, reply
    else:
        assert reply["type"] in {"pong", "sent"}, reply


@pytest.fixture
def config(tmp_path):
    """The frame rate limit off: this tests what a bad frame gets, not how many may come (tests/test_traffic.py)."""
    from server.config import Config

    return Config(data_dir=tmp_path / "data", rate_limits={"frame": "off"})


@pytest.fixture
async def socket(client):
    await register(client, "fuzzer", 0)
    ws = await client.ws_connect("/ws")
    assert (await ws.receive_json())["type"] == "hello"
    yield ws
    await ws.close()
