"""Lighthouse 12 (mobile preset, the default) against Debian's Chromium, on
the sign-in page and on the signed-in chat: the four category scores and the
main metrics of each. Prints; never asserts.

Both pages are audited in one tab (bench/lighthouse_flow.mjs, Lighthouse's
user-flow API over puppeteer-core): a person signs up between the two
navigations, so the chat's key unlocks from the tab's sessionStorage as it
would on a reload.

Goals (issue 10): Performance >= 90; Accessibility, Best Practices and SEO >= 95.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PASSWORD, start_server  # noqa: E402

FLOW = REPO / "bench" / "lighthouse_flow.mjs"


def audit(url: str, report: Path) -> list[dict]:
    subprocess.run(["node", str(FLOW), url, "lighthouse", PASSWORD, str(report), json.dumps(CHROMIUM_ARGS)],
                   env={**os.environ, "CHROME_PATH": CHROMIUM}, cwd=REPO, check=True, timeout=900)
    return json.loads(report.read_text())


def main() -> None:
    if not (REPO / "node_modules" / "lighthouse").exists():
        print("lighthouse is missing from node_modules: run 'make setup'")
        return
    with tempfile.TemporaryDirectory() as scratch:
        server = start_server(Path(scratch) / "data", Path(scratch) / "server.log")
        try:
            steps = audit(server.url + "/", Path(scratch) / "report.json")
        finally:
            server.stop()
    for step in steps:
        scores = ", ".join(f"{name} {round(score * 100)}" for name, score in step["categories"].items())
        print(f"lighthouse (mobile), {step['name']}: {scores}")
        for metric, value in step["metrics"].items():
            print(f"  {metric}: {value}")
        for title, value, urls in step["failing"]:
            print(f"  failing audit: {title} {value}" + "".join(f"\n    {url}" for url in urls))
        for url, start, duration in step["longTasks"]:
            print(f"  long main-thread task (simulated): {duration} ms at {start} ms, {url}")
        for error in step["errors"]:
            print(f"  console error: {error}")


if __name__ == "__main__":
    main()
