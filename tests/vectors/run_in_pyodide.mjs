// Runs every vector inside Pyodide (the pinned npm package) under Node.js,
// on the pure backend and on the WebCrypto backend (Node's crypto.subtle).
// Prints one JSON object: {"<file>": {"pure": outcome, "webcrypto": outcome}}.
// Usage: node tests/vectors/run_in_pyodide.mjs REPO_DIR WHEEL...
import { loadPyodide } from "pyodide";
import { readFileSync } from "node:fs";

const [repo, ...wheels] = process.argv.slice(2);
const pyodide = await loadPyodide();
for (const wheel of wheels) {
  pyodide.unpackArchive(new Uint8Array(readFileSync(wheel)), "wheel");
}
pyodide.mountNodeFS("/repo", repo);
const result = await pyodide.runPythonAsync(`
import json, pathlib, sys
sys.path.insert(0, "/repo")
from pyclient.crypto.pure import PureBackend
from pyclient.crypto.webcrypto import WebCryptoBackend
from tests.vectors.runner import run_vector

results = {}
for path in sorted(pathlib.Path("/repo/tests/vectors").glob("*.json")):
    vector = json.loads(path.read_text())
    results[path.stem] = {"expect": vector["expect"], "python": sys.version.split()[0],
                          "pure": await run_vector(vector, PureBackend()),
                          "webcrypto": await run_vector(vector, WebCryptoBackend())}
json.dumps(results)
`);
console.log(result);
