"""Attachment throughput in headless Chromium, through the real UI.

A 100 MB file goes from one browser to another: encrypt + signed upload, then
signed download + verify + decrypt. Reports the median MB/s per phase over a
few runs, then, in a run of its own, the peak memory above baseline of each
side's page *and* its Python worker (``performance.measureUserAgentSpecificMemory``,
which the page may call because it is cross-origin isolated; it counts JS
objects, ArrayBuffers and Pyodide's WebAssembly memory, per realm). Then it
compares the WebCrypto backend with pure pyaes on a small file (as a ratio,
since the machine is noisy). Prints; never asserts.

``BENCH_FILE_MB`` sets the big file's size (1000 for the 1 GB run),
``BENCH_FILE_RUNS`` the number of timed runs (3).
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, Person, start_server  # noqa: E402

BIG = int(os.environ.get("BENCH_FILE_MB", "100")) * 1_000_000
RUNS = int(os.environ.get("BENCH_FILE_RUNS", "3"))
SMALL = 2_000_000
MB = 1_000_000
# Without it Chromium answers measureUserAgentSpecificMemory only at its next garbage collection.
MEMORY_ARGS = ["--enable-blink-features=ForceEagerMeasureMemory"]
ENDED = ("verified", "refused", "error")
LONG_TASKS = """
window.__longTasks = [];
new PerformanceObserver(list => { for (const entry of list.getEntries()) window.__longTasks.push(entry.duration); })
  .observe({type: "longtask", buffered: true});
"""
# Waits in the page on DOM changes: Playwright's own waits poll on every
# animation frame, which costs the pages' main threads more than the app does.
MORE_THAN = """([selector, count]) => new Promise(resolve => {
  const done = () => document.querySelectorAll(selector).length > count;
  if (done()) return resolve();
  new MutationObserver((_, observer) => { if (done()) { observer.disconnect(); resolve(); } })
    .observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ["data-state"]});
})"""
MEASURE = "performance.measureUserAgentSpecificMemory().then(m => m.bytes)"


class PeakMemory:
    """The most a page (page and worker) held above what it held at ``start``."""

    def __init__(self, person: Person):
        self.page, self.baseline, self.peak = person.page, 0, 0

    def start(self) -> None:
        self.baseline = self.peak = self.page.evaluate(MEASURE)

    def sample(self) -> None:
        self.peak = max(self.peak, self.page.evaluate(MEASURE))

    @property
    def above_baseline_mb(self) -> float:
        return (self.peak - self.baseline) / MB


def send_and_receive(alice: Person, bob: Person, path: Path, size: int, *, memory: bool = False) -> dict:
    """Time (or, with ``memory``, watch the memory of) one file from Alice to Bob."""
    selector = f'#messages .attachment[data-name="{path.name}"]'
    boxes = bob.page.locator(selector)
    before = boxes.count()
    ended = ", ".join(f'{selector}[data-state="{state}"]' for state in ENDED)
    alice.attach([str(path)])
    seen = [person.page.evaluate("window.__longTasks.length") for person in (alice, bob)]
    sender, receiver = PeakMemory(alice), PeakMemory(bob)
    if memory:
        sender.start()
        receiver.start()
    started = time.perf_counter()
    alice.page.click("#send")
    box = boxes.nth(before)
    if memory:  # sampling costs the pages time: only this run samples, the timed ones wait in the page
        while not box.count():
            sender.sample()
    else:
        bob.page.evaluate(MORE_THAN, [selector, before])
    uploaded = time.perf_counter() - started
    started = time.perf_counter()
    box.locator(".attachment-open").click()
    if memory:
        while box.get_attribute("data-state") not in ENDED:
            receiver.sample()
    else:
        bob.page.evaluate(MORE_THAN, [ended, before])
    downloaded = time.perf_counter() - started
    expect(box).to_have_attribute("data-state", "verified")
    sender_long, receiver_long = (sum(1 for duration in person.page.evaluate("window.__longTasks")[before:]
                                      if duration > 50) for person, before in zip((alice, bob), seen))
    return {"upload": size / MB / uploaded, "download": size / MB / downloaded,
            "end_to_end": size / MB / (uploaded + downloaded),
            "sender_long_tasks": sender_long, "receiver_long_tasks": receiver_long,
            "sender_mb": sender.above_baseline_mb, "receiver_mb": receiver.above_baseline_mb}


def pair(browser, server, suffix: str, backend: str) -> tuple[Person, Person]:
    people = []
    for name in (f"alice{suffix}", f"bob{suffix}"):
        context = browser.new_context(accept_downloads=False)
        context.add_init_script(LONG_TASKS)
        page = context.new_page()
        person = Person(name, page, server)
        person.register()  # account set-up on WebCrypto: pure PBKDF2 and RSA-3072 take minutes
        page.evaluate(f"localStorage.setItem('sealroom.backend', '{backend}')")
        person.reload()
        people.append(person)
    alice, bob = people
    alice.create_room(f"Bench {suffix}", [bob.name])
    bob.open_room(f"Bench {suffix}")
    return alice, bob


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        server = start_server(tmp / "data", tmp / "server.log", SEALROOM_MAX_UPLOAD_BYTES=str(2 * BIG),
                              SEALROOM_USER_QUOTA_BYTES=str((RUNS + 2) * 2 * BIG))
        big, small = tmp / "big.bin", tmp / "small.bin"
        big.write_bytes(os.urandom(BIG))
        small.write_bytes(os.urandom(SMALL))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *MEMORY_ARGS])
                expect.set_options(timeout=600_000)
                alice, bob = pair(browser, server, "w", "webcrypto")
                runs = [send_and_receive(alice, bob, big, BIG) for _ in range(RUNS)]
                print(f"files: {BIG / MB:.0f} MB, webcrypto backend, median of {RUNS} runs (each run's figure)")
                for key, label, goal in (("upload", "encrypt+upload", 60), ("download", "download+verify+dec.", 100),
                                         ("end_to_end", "end to end", 50)):
                    figures = " ".join(f"{run[key]:.1f}" for run in runs)
                    print(f"  {label:22}{statistics.median(run[key] for run in runs):8.1f} MB/s   "
                          f"(goal >= {goal}; runs: {figures})")
                print(f"  main-thread tasks over 50 ms during the runs: sender "
                      f"{sum(run['sender_long_tasks'] for run in runs)}, receiver "
                      f"{sum(run['receiver_long_tasks'] for run in runs)}   (goal 0)")
                watched = send_and_receive(alice, bob, big, BIG, memory=True)
                print(f"  peak memory above baseline, page and worker: sender {watched['sender_mb']:.1f} MB, "
                      f"receiver {watched['receiver_mb']:.1f} MB   (goal < 64)")
                fast = send_and_receive(alice, bob, small, SMALL)
                alice_pure, bob_pure = pair(browser, server, "p", "pure")
                slow = send_and_receive(alice_pure, bob_pure, small, SMALL)
                print(f"files: {SMALL / MB:.0f} MB, end to end: webcrypto {fast['end_to_end']:.2f} MB/s, "
                      f"pure {slow['end_to_end']:.3f} MB/s, ratio {fast['end_to_end'] / slow['end_to_end']:.0f}x")
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
