"""The Vietnamese UI, in the template and in the Python client."""

import re
from datetime import datetime, timedelta

from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP


def test_vietnamese_speaker_gets_a_vietnamese_page(browser, server):
    context = browser.new_context(locale="vi-VN")
    try:
        page = context.new_page()
        page.goto(server.url + "/")
        page.locator("#auth:not([hidden])").wait_for(timeout=90_000)
        expect(page.locator("#auth-title")).to_have_text("Đăng nhập")  # set by Python
        page.fill("#auth-username", "lan")
        page.fill("#auth-password", "mật khẩu sai rồi")
        page.click("#auth-submit")
        expect(page.locator("#auth-error")).to_have_text("Sai tên người dùng hoặc mật khẩu.")  # from the server
        page.click("#auth-switch")
        expect(page.locator("#auth-submit")).to_have_text("Tạo tài khoản")
        page.click('a[href="/lang/en"]')
        page.locator("#auth:not([hidden])").wait_for(timeout=90_000)
        expect(page.locator("#auth-title")).to_have_text("Sign in")
    finally:
        context.close()


def test_times_are_shown_in_the_readers_language_and_time_zone(people):
    """A Vietnamese reader in Hanoi (UTC+7) sees the message's local time and a
    Vietnamese expiry date, with no "UTC" left over from the old texts."""
    lan = people("lan", locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", **DESKTOP)
    lan.register()
    lan.page.click("#onboarding-done")
    lan.create_room("Hà Nội", [])
    lan.send("Xin chào")
    sent = lan.messages().first.locator("time")
    expect(sent).to_have_attribute("datetime", re.compile(r"^\d{4}-"))
    created = datetime.fromisoformat(sent.get_attribute("datetime"))
    local = created + timedelta(hours=7)
    expect(sent).to_have_text(re.compile(rf"^0?{local.hour}:{local.minute:02d}$"))  # 9:05 or 09:05
    expires = lan.page.locator("#room-expiry")
    expect(expires).to_contain_text("Phòng này và mọi thứ trong đó sẽ bị xóa vào")
    expect(expires).to_contain_text(str((created + timedelta(days=7, hours=7)).year))
    expect(expires).not_to_contain_text("UTC")
    assert lan.console_errors == []
