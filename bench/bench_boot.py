"""Boot in headless Chromium, the median of 5 runs each (prints; never asserts):

- first load (a new browser profile): the sign-in form painted, and Python
  ready in its worker so that a submit is handled at once;
- repeat load of a signed-in user (runtime in the service worker's cache): the
  chat usable, i.e. the room list rendered;
- where the time goes, phase by phase, from the marks web/boot.mjs and
  web/static/main.py leave in the worker and its resource timings;
- the modules the page imports at start that Pyodide's snapshot lacks;
- long main-thread tasks (over 50 ms) after first paint, counted.
"""

import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.conftest import BOOT_TIMEOUT_MS, CHROMIUM, CHROMIUM_ARGS, Person, start_server  # noqa: E402

RUNS = 5
# Installed before any page script: long tasks, and the instant the body gets
# data-py-ready (Python listens) and data-ready (the room list is on screen).
OBSERVER = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__longTasks.push({start: entry.startTime, duration: entry.duration});
}).observe({type: "longtask", buffered: true});
window.__bodyFlags = {};
new MutationObserver(() => {
  for (const flag of ["pyReady", "ready"]) {
    if (document.body && document.body.dataset[flag] && !(flag in window.__bodyFlags)) {
      window.__bodyFlags[flag] = performance.now();
    }
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-py-ready", "data-ready"]});
"""
PAGE = """() => {
  const painted = Math.min(...performance.getEntriesByType("paint").map((entry) => entry.startTime));
  return {painted, flags: window.__bodyFlags, origin: performance.timeOrigin,
          long: window.__longTasks.filter((task) => task.start >= painted && task.duration > 50).length};
}"""
WORKER = """() => ({
  origin: performance.timeOrigin,
  marks: performance.getEntriesByType("mark").map((mark) => [mark.name, mark.startTime, mark.detail]),
  resources: performance.getEntriesByType("resource").map((entry) => [entry.name, entry.responseEnd]),
})"""
RUNTIME_FILES = ("pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", ".bin")
# (label, start mark, end mark): consecutive steps of the worker's boot.
PHASES = (
    ("PyScript on the page, worker start", None, "boot:load-start"),
    ("WebAssembly download and compile", "boot:load-start", "boot:wasm-compiled"),
    ("snapshot restore (Python ready)", "boot:wasm-compiled", "boot:pyodide-ready"),
    ("files: wheels, bytecode, client (fetch, unpack)", "boot:pyodide-ready", "boot:unpacked"),
    ("PyScript's Python package", "boot:unpacked", "boot:main"),
    ("client imports", "boot:main", "boot:imported"),
    ("app start (listeners, IndexedDB)", "boot:imported", "pyReady"),
)


def measure(page) -> dict:
    """One boot's figures on the page's clock (ms since navigation)."""
    main = page.evaluate(PAGE)
    worker = next(w for w in page.workers if w.url.startswith("blob:")).evaluate(WORKER)  # PyScript's
    shift = worker["origin"] - main["origin"]
    marks = {}
    for name, start, detail in worker["marks"]:
        marks[name] = start + shift  # the last of a repeated mark (one per unpacked file)
        if name == "boot:imported":
            marks["outside"] = detail
    marks.update(main["flags"])
    downloads = [end + shift for url, end in worker["resources"] if url.endswith(RUNTIME_FILES)]
    marks["downloaded"] = max(downloads, default=0.0)
    marks["painted"], marks["long"] = main["painted"], main["long"]
    return marks


def first_load(browser, url: str) -> dict:
    context = browser.new_context()
    context.add_init_script(OBSERVER)
    page = context.new_page()
    page.goto(url + "/")
    page.locator("body[data-py-ready]").wait_for(timeout=BOOT_TIMEOUT_MS)
    result = measure(page)
    context.close()
    return result


def repeat_loads(browser, server, name: str) -> list[dict]:
    context = browser.new_context()
    page = context.new_page()
    Person(name, page, server).register()
    context.add_init_script(OBSERVER)
    runs = []
    for _ in range(RUNS):
        page.reload()
        page.locator("body[data-ready]").wait_for(timeout=BOOT_TIMEOUT_MS)
        runs.append(measure(page))
    context.close()
    return runs


def median(runs: list[dict], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def print_phases(runs: list[dict]) -> None:
    for label, start, end in PHASES:
        spans = [run[end] - (run[start] if start else 0.0) for run in runs]
        print(f"  {label}: {statistics.median(spans):.0f} ms")
    print(f"  (runtime downloads done at {median(runs, 'downloaded'):.0f} ms, overlapping the steps above)")


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        server = start_server(Path(scratch) / "data", Path(scratch) / "server.log")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                first = [first_load(browser, server.url) for _ in range(RUNS)]
                repeat = repeat_loads(browser, server, "bench")
                browser.close()
        finally:
            server.stop()
    print(f"first load, sign-in form painted: {median(first, 'painted'):.0f} ms (goal < 1000)")
    print(f"first load, Python ready in its worker (submit handled): {median(first, 'pyReady'):.0f} ms (goal <= 4000)")
    print_phases(first)
    print(f"repeat load (signed in), chat usable: {median(repeat, 'ready'):.0f} ms (goal <= 2000)")
    print_phases(repeat)
    print(f"  room list after Python was ready: {statistics.median(r['ready'] - r['pyReady'] for r in repeat):.0f} ms")
    outside = sorted({name for run in first for name in run.get("outside", [])})
    print(f"modules imported at start that the snapshot lacks: {', '.join(outside) or 'none'}")
    print(f"long main-thread tasks over 50 ms after first paint: first load {max(r['long'] for r in first)}, "
          f"repeat load {max(r['long'] for r in repeat)} (goal 0)")


if __name__ == "__main__":
    main()
