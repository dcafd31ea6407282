"""The Vietnamese UI, in the template and in the Python client."""

from playwright.sync_api import expect


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
