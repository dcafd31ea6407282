// Runs bench/_history_workload.py inside Pyodide (the pinned npm package) under Node.js:
// the same WebAssembly CPython the page runs, on V8 like Chromium.
import { loadPyodide } from "pyodide";
import { readFileSync } from "node:fs";

const [repo] = process.argv.slice(2);
const pyodide = await loadPyodide();
pyodide.mountNodeFS("/repo", repo);
await pyodide.runPythonAsync(readFileSync(`${repo}/bench/_history_workload.py`, "utf8"));
