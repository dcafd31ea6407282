"""Screenshots of the real app for the README: a phone (390x844, touch, 2x) and a
desktop (1280x800), light and dark, two people in a room. Run by `make bench`
or alone: `.venv/bin/python bench/screenshots.py [OUT_DIR]`."""

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser.conftest import BOOT_TIMEOUT_MS, CHROMIUM, CHROMIUM_ARGS, PASSWORD, start_server  # noqa: E402

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}


def sign_up(page, url: str, name: str) -> None:
    page.goto(url + "/")
    page.click("#auth-switch")
    page.fill("#auth-username", name)
    page.fill("#auth-password", PASSWORD)
    page.click("#auth-submit")
    page.locator("body[data-ready]").wait_for(timeout=BOOT_TIMEOUT_MS)


def send(page, text: str) -> None:
    page.fill("#composer-text", text)
    page.click("#send")
    expect(page.locator("#composer-text")).to_have_value("")


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        server = start_server(Path(scratch) / "data", Path(scratch) / "server.log")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                desktop = browser.new_context(**DESKTOP).new_page()
                phone = browser.new_context(**PHONE).new_page()
                sign_up(desktop, server.url, "lan")
                sign_up(phone, server.url, "minh")
                desktop.click("#new-room-toggle")
                desktop.fill("#new-room-name", "Đà Lạt trip")
                desktop.fill("#new-room-members", "minh")
                desktop.click("#new-room-form button[type=submit]")
                expect(desktop.locator("#room-name")).to_have_text("Đà Lạt trip")
                phone.locator("#room-list button", has_text="Đà Lạt trip").wait_for()
                phone.screenshot(path=str(out / "phone-rooms.png"))
                phone.locator("#room-list button", has_text="Đà Lạt trip").click()
                send(desktop, "Xin chào! The bus leaves at 7:30 from the station.")
                send(phone, "Great, I'll bring the tickets 🎫")
                send(desktop, "Compare our safety numbers in the details panel before we share the booking.")
                expect(phone.locator("#messages .message")).to_have_count(3)
                desktop.screenshot(path=str(out / "desktop.png"))
                phone.screenshot(path=str(out / "phone-room.png"))
                phone.click("#details-toggle")
                phone.locator("#member-list li").first.wait_for()
                phone.screenshot(path=str(out / "phone-details.png"))
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
