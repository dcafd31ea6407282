"""Runs inside the test page's Pyodide (tests/browser/pages/crypto.html).

``?run=vectors``  every tests/vectors file on both backends
``?run=cross``    random inputs, producer x consumer over {pure, webcrypto}
``?run=longtasks`` key generation and a large encryption on WebCrypto, with
                  the long tasks the page recorded meanwhile
``?run=bench``    timings for ``make bench`` (printed there, never asserted)

Results go into ``#results`` as JSON and ``body[data-done]`` is set; a
failure goes into ``#error``. Playwright reads the DOM (its
``wait_for_function`` does not work under the app's CSP).
"""

import asyncio
import base64
import json
import os
import random
import statistics
import traceback

import js
from pyodide.ffi import to_js

from pyclient.crypto.pure import PureBackend
from pyclient.crypto.webcrypto import WebCryptoBackend
from pyclient.errors import ProtocolError
from pyclient.protocol import keystore
from pyclient.protocol.envelope import open_envelope, seal
from pyclient.protocol.kdf import hkdf_sha256
from pyclient.protocol.keys import DEFAULT_RSA_BITS
from vector_runner import run_vector

BACKENDS = {"pure": PureBackend(), "webcrypto": WebCryptoBackend()}
CHUNK_BYTES = 1024 * 1024
PAIRS = [(p, c) for p in BACKENDS for c in BACKENDS]


def now() -> float:
    return js.performance.now()


def query(name: str, default: str) -> str:
    params = js.URLSearchParams.new(js.location.search)
    return str(params.get(name)) if params.has(name) else default


async def fetch_json(url: str):
    response = await js.fetch(url)
    return json.loads(await response.text())


def _js(value):
    return to_js(value, dict_converter=js.Object.fromEntries)


async def run_vectors() -> dict:
    results = {}
    for name in await fetch_json("/test/vectors/index.json"):
        vector = await fetch_json(f"/test/vectors/{name}")
        results[name[:-5]] = {"expect": vector["expect"],
                              **{b: await run_vector(vector, backend) for b, backend in BACKENDS.items()}}
    return results


async def webcrypto_hkdf(ikm: bytes, info: bytes, length: int, salt: bytes) -> bytes:
    subtle = js.crypto.subtle
    key = await subtle.importKey("raw", _js(ikm), "HKDF", False, _js(["deriveBits"]))
    params = _js({"name": "HKDF", "hash": "SHA-256", "salt": _js(salt), "info": _js(info)})
    return js.Uint8Array.new(await subtle.deriveBits(params, key, length * 8)).to_bytes()


async def run_cross() -> dict:
    """Every check runs for every (producer, consumer) pair on random inputs."""
    seed = int(query("seed", str(random.SystemRandom().randrange(2 ** 32))))
    rng = random.Random(seed)
    rows = []

    def record(check, producer, consumer, ok, detail=""):
        rows.append({"check": check, "producer": producer, "consumer": consumer, "ok": bool(ok), "detail": detail})

    # Deterministic primitives: identical bytes, and each inverts the other.
    wrap_ivs = [b"\xff" * 16, b"\x00" * 8 + b"\xff" * 8, b"\xff" * 15 + b"\xf0"]
    for size in (0, 1, 15, 16, 17, 1000, 65537):
        key, iv, plaintext = rng.randbytes(32), rng.choice([rng.randbytes(16), *wrap_ivs]), rng.randbytes(size)
        outputs = {name: await b.aes_ctr(key, iv, plaintext) for name, b in BACKENDS.items()}
        for producer, consumer in PAIRS:
            back = await BACKENDS[consumer].aes_ctr(key, iv, outputs[producer])
            record("aes_ctr", producer, consumer, back == plaintext and outputs[producer] == outputs[consumer],
                   f"{size} bytes, iv {iv.hex()}")
    for size in (0, 1, 64, 65, 4096):
        key, data = rng.randbytes(rng.choice([16, 32, 64, 100])), rng.randbytes(size)
        macs = {name: await b.hmac_sha256(key, data) for name, b in BACKENDS.items()}
        for producer, consumer in PAIRS:
            record("hmac_sha256", producer, consumer, macs[producer] == macs[consumer], f"{size} bytes")
    for length in (32, 64, 100):
        ikm, info, salt = rng.randbytes(32), rng.randbytes(20), rng.choice([b"", rng.randbytes(32)])
        ours = hkdf_sha256(ikm, info, length, salt=salt)
        theirs = await webcrypto_hkdf(ikm, info, length, salt)
        for producer, consumer in PAIRS:
            record("hkdf_sha256", producer, consumer, ours == theirs, f"{length} bytes, salt {len(salt)}")
    password, salt = rng.randbytes(12), rng.randbytes(16)
    derived = {name: await b.pbkdf2_sha256(password, salt, 1000, 32) for name, b in BACKENDS.items()}
    for producer, consumer in PAIRS:
        record("pbkdf2_sha256", producer, consumer, derived[producer] == derived[consumer])

    # RSA: keys from the vectors (made by `cryptography`) and one made by WebCrypto here.
    vector_keys = (await fetch_json("/test/vectors/keys.json"))["pairs"]
    keys = {name: (base64.b64decode(k["private_key"]), base64.b64decode(k["public_key"]), k["user_id"])
            for name, k in vector_keys.items()}
    fresh = await BACKENDS["webcrypto"].generate_keypair(DEFAULT_RSA_BITS)
    keys["webcrypto-generated"] = (fresh.private_key, fresh.public_key, "0c" * 16)
    for key_name in ("alice", "webcrypto-generated"):
        private_key, public_key, _ = keys[key_name]
        data = rng.randbytes(rng.randrange(1, 2000))
        signatures = {name: await b.sign(private_key, data) for name, b in BACKENDS.items()}
        for producer, consumer in PAIRS:
            verifies = await BACKENDS[consumer].verify(public_key, data, signatures[producer])
            rejects = not await BACKENDS[consumer].verify(public_key, data + b"!", signatures[producer])
            record("pkcs1v15_sha256", producer, consumer,
                   verifies and rejects and signatures[producer] == signatures[consumer], key_name)
        for producer, consumer in PAIRS:
            message = rng.randbytes(32)
            wrapped = await BACKENDS[producer].rsa_oaep_encrypt(public_key, message)
            unwrapped = await BACKENDS[consumer].rsa_oaep_decrypt(private_key, wrapped)
            try:
                await BACKENDS[consumer].rsa_oaep_decrypt(keys["mallory"][0], wrapped)
                refused = False
            except ProtocolError as error:
                refused = error.kind == "wrong_key"
            record("rsa_oaep", producer, consumer, unwrapped == message and refused, key_name)

    # Whole protocol objects: sealed by one backend, opened by the other.
    alice, bob = keys["alice"], keys["webcrypto-generated"]
    room, message_id = rng.randbytes(16).hex(), rng.randbytes(16).hex()
    for producer, consumer in PAIRS:
        body = "".join(rng.choice("abc xyz ễ👋") for _ in range(rng.randrange(1, 500)))
        envelope = await seal(BACKENDS[producer], room=room, sender=alice[2], message_id=message_id,
                              sender_private_key=alice[0], recipients={alice[2]: alice[1], bob[2]: bob[1]},
                              payload={"kind": "text", "body": body}, random_bytes=rng.randbytes)
        payload = await open_envelope(BACKENDS[consumer], envelope, room=room, sender_public_key=alice[1],
                                      me=bob[2], my_private_key=bob[0], my_public_key=bob[1])
        record("envelope", producer, consumer, payload["body"] == body)
        keystore_key = rng.randbytes(64)
        blob = await keystore.seal_private_key(BACKENDS[producer], keystore_key, user_id=bob[2],
                                               public_key=bob[1], private_key=bob[0], iv=rng.randbytes(16))
        opened = await keystore.open_private_key(BACKENDS[consumer], keystore_key, user_id=bob[2],
                                                 public_key=bob[1], blob=blob)
        record("keystore", producer, consumer, opened == bob[0])
    return {"seed": seed, "rows": rows}


def payload_of(size: int) -> bytes:
    return random.Random(size).randbytes(size)


async def run_longtasks() -> dict:
    backend = BACKENDS["webcrypto"]
    size = int(query("mb", "32")) * 1024 * 1024
    data = payload_of(size)
    enc_key, mac_key, iv = os.urandom(32), os.urandom(32), os.urandom(16)
    await asyncio.sleep(0.3)  # let the set-up work above finish as its own task
    start = now()
    pair = await backend.generate_keypair(DEFAULT_RSA_BITS)
    await keystore.seal_private_key(backend, os.urandom(64), user_id="0a" * 16, public_key=pair.public_key,
                                    private_key=pair.private_key, iv=iv)
    keygen_done = now()
    # Files go in fixed-size chunks (DESIGN.md, property 4). One 32 MB call
    # would be a single ~100-200 ms task: the result is copied into WASM
    # memory in one go, which also grows the heap.
    view, ciphertext_bytes, mac = memoryview(data), 0, b""
    for offset in range(0, size, CHUNK_BYTES):
        chunk = await backend.aes_ctr(enc_key, (int.from_bytes(iv, "big") + offset // 16).to_bytes(16, "big"),
                                      view[offset:offset + CHUNK_BYTES])
        mac = await backend.hmac_sha256(mac_key, chunk)
        ciphertext_bytes += len(chunk)
    end = now()
    await asyncio.sleep(0.5)  # the observer delivers entries asynchronously
    tasks = json.loads(js.JSON.stringify(js.sealroomLongTasks))
    return {"start": start, "end": end, "keygen_ms": keygen_done - start, "encrypt_ms": end - keygen_done,
            "bytes": size, "ciphertext_bytes": ciphertext_bytes, "mac_bytes": len(mac), "tasks": tasks}


async def timed(coroutine_factory) -> float:
    started = now()
    await coroutine_factory()
    return (now() - started) / 1000


async def encrypt_then_mac(backend, data: bytes) -> None:
    ciphertext = await backend.aes_ctr(b"k" * 32, b"\x00" * 16, data)
    await backend.hmac_sha256(b"m" * 32, ciphertext)


async def run_bench() -> dict:
    result = {"python_ready_ms": round(float(js.document.body.dataset.pythonReadyMs)), "keygen_s": {}, "throughput": {}}
    for name, count, budget in (("webcrypto", int(query("webcrypto_keygens", "5")), 120.0),
                                ("pure", int(query("pure_keygens", "3")), float(query("pure_budget_s", "180")))):
        times, spent = [], 0.0
        while len(times) < count and (spent < budget or not times):
            seconds = await timed(lambda b=BACKENDS[name]: b.generate_keypair(DEFAULT_RSA_BITS))
            times.append(seconds)
            spent += seconds
            await asyncio.sleep(0)
        result["keygen_s"][name] = {"times": times, "median": statistics.median(times),
                                    "count": len(times), "asked": count}
    for name, size in (("webcrypto", int(query("webcrypto_mb", "32")) * 1024 * 1024),
                       ("pure", int(query("pure_kb", "256")) * 1024)):
        data = payload_of(size)
        times = [await timed(lambda b=BACKENDS[name]: encrypt_then_mac(b, data)) for _ in range(3 if name == "webcrypto" else 1)]
        best = statistics.median(times)
        result["throughput"][name] = {"bytes": size, "seconds": best, "mb_per_s": size / 1024 / 1024 / best}
    result["ratio_webcrypto_over_pure"] = result["throughput"]["webcrypto"]["mb_per_s"] / result["throughput"]["pure"]["mb_per_s"]
    return result


async def run_worker() -> dict:
    """The pure backend in its worker against WebCrypto on the main thread,
    with the long tasks recorded while the worker generates an RSA key."""
    from pyclient.browser.worker_backend import WorkerBackend
    worker, webcrypto = WorkerBackend(), BACKENDS["webcrypto"]
    rng = random.Random(7)
    rows = []
    key, iv, data = rng.randbytes(32), b"\xff" * 16, rng.randbytes(5000)
    rows.append({"check": "aes_ctr", "ok": await worker.aes_ctr(key, iv, data) == await webcrypto.aes_ctr(key, iv, data)})
    rows.append({"check": "hmac_sha256",
                 "ok": await worker.hmac_sha256(key, data) == await webcrypto.hmac_sha256(key, data)})
    start = now()
    pair = await worker.generate_keypair(int(query("bits", "2048")))
    end = now()
    await asyncio.sleep(0.5)
    signature = await worker.sign(pair.private_key, data)
    rows.append({"check": "worker signs, webcrypto verifies",
                 "ok": await webcrypto.verify(pair.public_key, data, signature)
                 and signature == await webcrypto.sign(pair.private_key, data)})
    wrapped = await webcrypto.rsa_oaep_encrypt(pair.public_key, key)
    rows.append({"check": "webcrypto wraps, worker unwraps",
                 "ok": await worker.rsa_oaep_decrypt(pair.private_key, wrapped) == key})
    try:
        await worker.rsa_oaep_decrypt(pair.private_key, bytes(len(wrapped)))
        refused = False
    except ProtocolError as error:
        refused = error.kind == "wrong_key"
    rows.append({"check": "worker refusal crosses as wrong_key", "ok": refused})
    tasks = json.loads(js.JSON.stringify(js.sealroomLongTasks))
    return {"rows": rows, "start": start, "end": end, "keygen_ms": end - start, "tasks": tasks}


MODES = {"worker": run_worker, "vectors": run_vectors, "cross": run_cross, "longtasks": run_longtasks, "bench": run_bench}


async def main() -> None:
    js.document.body.dataset.pythonReadyMs = str(now())
    try:
        result = await MODES[query("run", "vectors")]()
    except Exception:
        js.document.getElementById("error").textContent = traceback.format_exc()
        js.document.body.dataset.done = "error"
        return
    js.document.getElementById("results").textContent = json.dumps(result)
    js.document.body.dataset.done = "ok"


asyncio.ensure_future(main())
