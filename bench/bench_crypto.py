"""Crypto in headless Chromium: RSA-3072 keygen and AES-CTR+HMAC per backend.

Runs the test page (tests/browser/pages/crypto.html, mounted by
SEALROOM_TEST_PAGES=1) in Debian's Chromium and prints:
- RSA-3072 key generation, median over 5 on WebCrypto; the pure backend
  (python-rsa in Pyodide) is far slower, so it is time-boxed and the count
  it reached is printed;
- encrypt-then-MAC throughput (AES-256-CTR + HMAC-SHA-256) on 32 MB for
  WebCrypto and on a smaller buffer for pyaes, scaled to MB/s, and the ratio;
- the app's boot time to the sign-in form, first load and repeat load.
Targets (DESIGN.md): keygen <= 2 s median, ratio >= 20x, repeat load <= 2 s.
Figures are printed, never asserted. Options: PURE_KEYGENS (default 3),
PURE_BUDGET_S (default 180).
"""

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, start_server  # noqa: E402

TIMEOUT_MS = 900_000


def boot_times(browser, url: str) -> list[float]:
    """Seconds from navigation to the sign-in form, first and repeat load in one context."""
    context = browser.new_context()
    page = context.new_page()
    times = []
    for _ in range(2):
        started = time.monotonic()
        page.goto(url + "/")
        page.locator("#auth:not([hidden])").wait_for(timeout=120_000)
        times.append(time.monotonic() - started)
    context.close()
    return times


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        server = start_server(Path(scratch) / "data", Path(scratch) / "server.log", SEALROOM_TEST_PAGES="1")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                first, repeat = boot_times(browser, server.url)
                page = browser.new_page()
                query = (f"run=bench&pure_keygens={os.environ.get('PURE_KEYGENS', '3')}"
                         f"&pure_budget_s={os.environ.get('PURE_BUDGET_S', '180')}")
                page.goto(f"{server.url}/test/crypto.html?{query}")
                page.locator("body[data-done]").wait_for(timeout=TIMEOUT_MS)
                if page.get_attribute("body", "data-done") != "ok":
                    raise SystemExit("the bench page failed:\n" + page.text_content("#error"))
                result = json.loads(page.text_content("#results"))
                browser.close()
        finally:
            server.stop()
    keygen, throughput = result["keygen_s"], result["throughput"]
    print(f"app boot to sign-in form: first load {first:.2f} s, repeat load {repeat:.2f} s "
          f"(test page: Python ready at {result['python_ready_ms'] / 1000:.2f} s)")
    for name in ("webcrypto", "pure"):
        k = keygen[name]
        print(f"RSA-3072 keygen, {name:9}: median {k['median']:.2f} s over {k['count']} (asked {k['asked']}); "
              f"runs {', '.join(f'{t:.2f}' for t in k['times'])}")
    for name in ("webcrypto", "pure"):
        t = throughput[name]
        print(f"AES-256-CTR + HMAC-SHA-256, {name:9}: {t['mb_per_s']:.2f} MB/s "
              f"({t['bytes'] / 1024 / 1024:.2f} MB in {t['seconds']:.3f} s)")
    print(f"throughput ratio webcrypto/pure: {result['ratio_webcrypto_over_pure']:.0f}x")


if __name__ == "__main__":
    main()
