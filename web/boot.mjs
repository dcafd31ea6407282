// The interpreter module PyScript imports (pyscript.json "interpreter"): it
// starts the pinned Pyodide from the memory snapshot made at set-up
// (server/vendor.mjs), so the page skips Python's start-up and the imports of
// the standard library, Pyodide and the wheels. The server fills in the
// __NAMES__ and serves this file under a hash of its content.
//
// Each step leaves a performance mark ("boot:..."), which `make bench` reads
// for its breakdown of where the boot time goes.
const base = new URL("__PYODIDE__", import.meta.url).href;
const snapshotURL = new URL("__SNAPSHOT__", import.meta.url).href;
const mark = (name) => performance.mark(`boot:${name}`);

const pyodideModule = await import(`${base}pyodide.mjs`);
export const version = pyodideModule.version;

// The snapshot's download overlaps the WebAssembly's.
const snapshot = fetch(snapshotURL).then((response) => {
  if (!response.ok) throw new Error(`${snapshotURL}: ${response.status}`);
  return response.arrayBuffer();
}).then((buffer) => { mark("snapshot-fetched"); return buffer; });
snapshot.catch(() => {});

function timed(create) {
  return (settings) => {
    const instantiate = settings.instantiateWasm;
    settings.instantiateWasm = (imports, done) => instantiate(imports, (instance, module) => {
      mark("wasm-compiled");
      done(instance, module);
    });
    return create(settings);
  };
}

export async function loadPyodide(options) {
  mark("load-start");
  const { default: create } = await import(`${base}pyodide.asm.mjs`);
  let pyodide;
  try {
    pyodide = await pyodideModule.loadPyodide({
      ...options, indexURL: base, createPyodideModule: timed(create), _loadSnapshot: snapshot,
    });
  } catch (error) {
    // Never worse than no snapshot: start Python the long way.
    console.warn("Pyodide's memory snapshot could not be used:", error);
    pyodide = await pyodideModule.loadPyodide({ ...options, indexURL: base });
  }
  // Every page gets its own random state, not the one frozen in the snapshot
  // (the client draws its keys and nonces from os.urandom, never from random).
  const random = pyodide.pyimport("random");
  random.seed();
  random.destroy();
  mark("pyodide-ready");
  const unpack = pyodide.unpackArchive.bind(pyodide);
  pyodide.unpackArchive = (...args) => {
    const result = unpack(...args);
    mark("unpacked");
    return result;
  };
  return pyodide;
}
