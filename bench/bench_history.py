"""The page's private history search over 10,000 messages, inside Pyodide.

Runs bench/_history_workload.py in the pinned Pyodide under Node.js (the same
WebAssembly CPython the browser runs). Prints; asserts nothing.
"""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    sys.exit(subprocess.run(["node", str(REPO / "bench" / "history_in_pyodide.mjs"), str(REPO)], cwd=REPO).returncode)
