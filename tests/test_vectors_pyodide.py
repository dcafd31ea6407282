"""The same vector files inside Pyodide (the pinned npm package, under Node.js),
on both the pure backend and the WebCrypto backend."""

import json
import subprocess
from pathlib import Path

from tests.test_vectors import VECTORS

REPO = Path(__file__).resolve().parents[1]


def test_vectors_in_pyodide_on_both_backends():
    wheels = sorted(str(p) for p in (REPO / "build" / "wheels").glob("*.whl"))
    completed = subprocess.run(
        ["node", str(REPO / "tests" / "vectors" / "run_in_pyodide.mjs"), str(REPO), *wheels],
        capture_output=True, text=True, timeout=300, cwd=REPO)
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = json.loads(completed.stdout.strip().splitlines()[-1])
    assert set(results) == {p.stem for p in VECTORS}
    for name, result in results.items():
        assert (result["pure"], result["webcrypto"]) == (result["expect"], result["expect"]), name
