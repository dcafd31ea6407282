"""Boot in headless Chromium, the median of 5 runs each (prints; never asserts):

- first load (a new browser profile): the sign-in form painted, and Python ready
  in its worker so that a submit is handled at once;
- repeat load of a signed-in user: the chat usable (room list rendered);
- where the first load's time goes: the runtime downloads (from the worker's
  resource timings) and Python's start after them;
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
OBSERVER = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__longTasks.push(entry.duration);
}).observe({type: "longtask", buffered: true});
"""
PAINT = "performance.getEntriesByType('paint').map(e => e.startTime).reduce((a, b) => Math.min(a, b), Infinity)"

def first_load(browser, url: str) -> dict:
    context = browser.new_context()
    context.add_init_script(OBSERVER)
    page = context.new_page()
    page.goto(url + "/")
    page.locator("#auth-username").wait_for()
    painted = page.evaluate(PAINT)
    page.locator("body[data-py-ready]").wait_for(timeout=BOOT_TIMEOUT_MS)
    result = {"painted": painted, "ready": float(page.get_attribute("body", "data-boot-ms")),
              "long": page.evaluate("window.__longTasks.filter(d => d > 50).length"),
              "fetch": page.evaluate("document.body.dataset.bootFetchMs ? Number(document.body.dataset.bootFetchMs) : null")}
    context.close()
    return result


def repeat_load(browser, server, name: str) -> dict:
    context = browser.new_context()
    page = context.new_page()
    Person(name, page, server).register()
    context.add_init_script(OBSERVER)
    times, long_tasks = [], []
    for _ in range(RUNS):
        page.reload()
        page.locator("body[data-ready]").wait_for(timeout=BOOT_TIMEOUT_MS)
        times.append(page.evaluate("performance.now()"))
        long_tasks.append(page.evaluate("window.__longTasks.filter(d => d > 50).length"))
    context.close()
    return {"usable": statistics.median(times), "long": max(long_tasks)}


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        server = start_server(Path(scratch) / "data", Path(scratch) / "server.log")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                first = [first_load(browser, server.url) for _ in range(RUNS)]
                repeat = repeat_load(browser, server, "bench")
                browser.close()
        finally:
            server.stop()
    median = lambda key: statistics.median(run[key] for run in first)  # noqa: E731
    print(f"first load, sign-in form painted: {median('painted'):.0f} ms (goal < 1000)")
    print(f"first load, Python ready in its worker (submit handled): {median('ready'):.0f} ms (goal <= 4000)")
    fetches = [run["fetch"] for run in first if run["fetch"] is not None]
    if fetches:
        fetch = statistics.median(fetches)
        print(f"  of which runtime downloads (worker resource timing): {fetch:.0f} ms; "
              f"Python start, wheels and imports after them: {median('ready') - fetch:.0f} ms")
    print(f"repeat load (signed in), chat usable: {repeat['usable']:.0f} ms (goal <= 2000)")
    print(f"long main-thread tasks over 50 ms after first paint: first load {max(r['long'] for r in first)}, "
          f"repeat load {repeat['long']} (goal 0)")


if __name__ == "__main__":
    main()
