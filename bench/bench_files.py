"""Attachment throughput in headless Chromium, through the real UI.

A 100 MB file goes from one browser to another: encrypt + signed upload, then
signed download + verify + decrypt. Reports MB/s per phase and the peak JS
heap above the page's baseline, then compares the WebCrypto backend with pure
pyaes on a small file (as a ratio, since the machine is noisy). Prints; never asserts.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, Person, start_server  # noqa: E402

BIG = int(os.environ.get("BENCH_FILE_MB", "100")) * 1_000_000
SMALL = 2_000_000
MB = 1_000_000


def heap(page) -> int:
    return page.evaluate("performance.memory.usedJSHeapSize")


def send_and_receive(alice: Person, bob: Person, path: Path, size: int) -> dict:
    baseline = max(heap(alice.page), 1)
    peak = baseline
    alice.attach([str(path)])
    started = time.perf_counter()
    alice.page.click("#send")
    box = bob.page.locator(f'#messages .attachment[data-name="{path.name}"]').last
    while not box.count():
        peak = max(peak, heap(alice.page))
        time.sleep(0.2)
    uploaded = time.perf_counter() - started
    bob_baseline = heap(bob.page)
    bob_peak = bob_baseline
    started = time.perf_counter()
    box.locator(".attachment-open").click()
    while box.get_attribute("data-state") not in ("verified", "refused", "error"):
        bob_peak = max(bob_peak, heap(bob.page))
        time.sleep(0.2)
    downloaded = time.perf_counter() - started
    expect(box).to_have_attribute("data-state", "verified")
    return {"upload_mb_s": size / MB / uploaded, "download_mb_s": size / MB / downloaded,
            "end_to_end_mb_s": size / MB / (uploaded + downloaded),
            "sender_heap_mb": (peak - baseline) / MB, "receiver_heap_mb": (bob_peak - bob_baseline) / MB}


def pair(browser, server, suffix: str, backend: str) -> tuple[Person, Person]:
    people = []
    for name in (f"alice{suffix}", f"bob{suffix}"):
        context = browser.new_context(accept_downloads=False)
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
        server = start_server(tmp / "data", tmp / "server.log",
                              SEALROOM_MAX_UPLOAD_BYTES=str(2 * BIG), SEALROOM_USER_QUOTA_BYTES=str(8 * BIG))
        big, small = tmp / "big.bin", tmp / "small.bin"
        big.write_bytes(os.urandom(BIG))
        small.write_bytes(os.urandom(SMALL))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
                    *CHROMIUM_ARGS, "--enable-precise-memory-info"])
                expect.set_options(timeout=600_000)
                alice, bob = pair(browser, server, "w", "webcrypto")
                result = send_and_receive(alice, bob, big, BIG)
                print(f"files: {BIG / MB:.0f} MB, webcrypto backend")
                print(f"  encrypt+upload        {result['upload_mb_s']:8.1f} MB/s")
                print(f"  download+verify+dec.  {result['download_mb_s']:8.1f} MB/s")
                print(f"  end to end            {result['end_to_end_mb_s']:8.1f} MB/s   (goal >= 50)")
                print(f"  peak JS heap above baseline: sender {result['sender_heap_mb']:.1f} MB, "
                      f"receiver {result['receiver_heap_mb']:.1f} MB   (goal < 64)")
                fast = send_and_receive(alice, bob, small, SMALL)
                alice_pure, bob_pure = pair(browser, server, "p", "pure")
                slow = send_and_receive(alice_pure, bob_pure, small, SMALL)
                print(f"files: {SMALL / MB:.0f} MB, end to end: webcrypto {fast['end_to_end_mb_s']:.2f} MB/s, "
                      f"pure {slow['end_to_end_mb_s']:.3f} MB/s, ratio {fast['end_to_end_mb_s'] / slow['end_to_end_mb_s']:.0f}x")
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
