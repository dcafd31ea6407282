"""Every vector in tests/vectors/ against the pure and the native backend, in CPython.

The same files run inside Pyodide (test_vectors_pyodide.py).
"""

import json
from pathlib import Path

import pytest

from pyclient.crypto.pure import PureBackend
from pyclient.crypto.native import NativeBackend
from tests.vectors.runner import run_vector

VECTOR_DIR = Path(__file__).parent / "vectors"
VECTORS = sorted(VECTOR_DIR.glob("*.json"))


def test_vectors_cover_every_failure_kind():
    expects = {json.loads(p.read_text())["expect"] for p in VECTORS}
    assert expects == {"success", "parse_error", "bad_signature", "bad_mac", "wrong_key", "unknown_version"}


@pytest.mark.parametrize("backend", [PureBackend, NativeBackend])
@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
async def test_vector(path, backend):
    vector = json.loads(path.read_text())
    assert await run_vector(vector, backend()) == vector["expect"]
