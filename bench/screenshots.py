"""Screenshots of the real app for the README: a phone (390x844, touch, 2x) and a
desktop (1280x800), light and dark, two people in a room. Run by `make bench`
or alone: `.venv/bin/python bench/screenshots.py [OUT_DIR]`."""

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE, Person, start_server  # noqa: E402


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        server = start_server(Path(scratch) / "data", Path(scratch) / "server.log")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                lan = Person("lan", browser.new_context(**DESKTOP).new_page(), server)
                minh = Person("minh", browser.new_context(**PHONE).new_page(), server)
                lan.register()
                minh.register()
                lan.page.click("#onboarding-done")
                lan.create_room("Đà Lạt trip", ["minh"])
                minh.page.locator("#room-list button", has_text="Đà Lạt trip").wait_for()
                minh.page.screenshot(path=str(out / "phone-rooms.png"))  # first run: the onboarding steps
                minh.open_room("Đà Lạt trip")
                lan.send("Xin chào! The bus leaves at 7:30 from the station.")
                minh.send("Great, I'll bring the tickets 🎫")
                lan.send("Compare our safety numbers in the details panel before we share the booking.")
                expect(minh.messages()).to_have_count(3)
                lan.page.screenshot(path=str(out / "desktop.png"))
                minh.page.screenshot(path=str(out / "phone-room.png"))
                minh.page.click("#details-toggle")
                minh.page.locator("#member-list li").first.wait_for()
                minh.page.screenshot(path=str(out / "phone-details.png"))
                dark = browser.new_context(**DESKTOP, color_scheme="dark").new_page()
                dark.goto(server.url + "/")
                dark.screenshot(path=str(out / "desktop-sign-in-dark.png"))
                browser.close()
        finally:
            server.stop()
    for path in sorted(out.glob("*.png")):
        print(f"screenshot: {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "screenshots")
