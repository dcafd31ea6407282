// The parts of the page's Python that are made once, at set-up, by the pinned
// Pyodide under Node (python -m server.vendor runs this). It is the same build
// the page runs, so its memory and its bytecode fit the page exactly.
//
//   node server/vendor.mjs snapshot OUTPUT MODULES_JSON WHEEL...
//   node server/vendor.mjs bytecode OUTPUT [SOURCE_ZIP]
//
// snapshot: starting Python in the page costs seconds (the interpreter starts,
// then Pyodide and the client's libraries import, each compiled from source).
// Here Python starts, unpacks the browser wheels where the page's PyScript
// unpacks them, imports MODULES, and writes its memory to OUTPUT; the page
// loads that memory instead (web/boot.mjs). Only the standard library, Pyodide
// and the pinned wheels go in, never pyclient, so a snapshot never holds stale
// client code. JavaScript objects the imported modules keep (js.setTimeout...)
// are recorded by their path on globalThis and looked up again in the page.
//
// bytecode: OUTPUT is a zip of __pycache__/*.pyc for every .py file of
// SOURCE_ZIP (or, without it, of PyScript's own Python package, which PyScript
// writes out as source on every start). They are "unchecked hash" pycs, so the
// page's Python uses them without comparing them with the source files beside
// them: whoever ships one must ship it with exactly the source it came from.
import { loadPyodide } from "pyodide";
import { readFileSync, writeFileSync } from "node:fs";

const [command, output, ...rest] = process.argv.slice(2);

async function snapshot(modules, wheels) {
  const pyodide = await loadPyodide({ _makeSnapshot: true });
  for (const wheel of wheels) {
    // PyScript's [files] target "./*" unpacks into the working directory (/home/pyodide).
    pyodide.unpackArchive(new Uint8Array(readFileSync(wheel)), "whl", { extractDir: "." });
  }
  pyodide.globals.set("modules", pyodide.toPy(JSON.parse(modules)));
  pyodide.runPython(`
import importlib

for _name in modules:
    importlib.import_module(_name)
# The page unpacks the same files again into a fresh file system: forget this one's listings.
importlib.invalidate_caches()
del importlib, _name, modules  # __main__ is where the page's own code runs: leave it clean
__import__("gc").collect()
`);
  writeFileSync(output, pyodide.makeMemorySnapshot());
}

async function pyscriptSources(pyodide) {
  const url = new URL("../node_modules/@pyscript/core/src/stdlib/pyscript.js", import.meta.url);
  const { default: tree } = await import(url);
  const write = (directory, entries) => {
    pyodide.FS.mkdirTree(directory);
    for (const [name, value] of Object.entries(entries)) {
      if (typeof value === "string") pyodide.FS.writeFile(`${directory}/${name}`, value);
      else write(`${directory}/${name}`, value);
    }
  };
  write("/sources", tree);
  pyodide.runPython(`
import shutil
shutil.make_archive("/sources", "zip", "/sources")
`);
}

async function bytecode(sourceZip) {
  const pyodide = await loadPyodide();
  if (sourceZip) pyodide.FS.writeFile("/sources.zip", readFileSync(sourceZip));
  else await pyscriptSources(pyodide);
  pyodide.runPython(`
import importlib.util
import zipfile
from importlib._bootstrap_external import _code_to_hash_pyc

with zipfile.ZipFile("/sources.zip") as sources, \\
        zipfile.ZipFile("/bytecode.zip", "w", zipfile.ZIP_DEFLATED) as out:
    for info in sorted(sources.infolist(), key=lambda info: info.filename):
        if not info.filename.endswith(".py"):
            continue
        source = sources.read(info)
        code = compile(source, info.filename, "exec", dont_inherit=True)
        pyc = _code_to_hash_pyc(code, importlib.util.source_hash(source), checked=False)
        entry = zipfile.ZipInfo(importlib.util.cache_from_source(info.filename))  # a fixed date: reproducible
        entry.compress_type = zipfile.ZIP_DEFLATED
        out.writestr(entry, bytes(pyc))
`);
  writeFileSync(output, pyodide.FS.readFile("/bytecode.zip"));
}

if (command === "snapshot") await snapshot(rest[0], rest.slice(1));
else if (command === "bytecode") await bytecode(rest[0]);
else throw new Error(`unknown command ${command}`);
