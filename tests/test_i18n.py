"""English and Vietnamese UI: the page, its embedded catalog, and API errors."""

import json
import re
from pathlib import Path

from tests.helpers import page_csrf

REPO = Path(__file__).resolve().parents[1]


def _ui_strings() -> set[str]:
    sources = [REPO / "web/templates/app.html", *(REPO / "pyclient/browser").glob("*.py")]
    found = set()
    for source in sources:
        text = source.read_text()
        for match in re.finditer(r'_\(\s*"((?:[^"\\]|\\.)*)"(?:\s*\n\s*"((?:[^"\\]|\\.)*)")?', text):
            found.add(match.group(1) + (match.group(2) or ""))
    return found


def test_every_ui_string_has_a_vietnamese_translation():
    catalog = json.loads((REPO / "web/i18n/vi.json").read_text())
    missing = sorted(_ui_strings() - set(catalog))
    assert missing == []
    for english, vietnamese in catalog.items():
        assert sorted(re.findall(r"{\w+}", english)) == sorted(re.findall(r"{\w+}", vietnamese)), english


async def test_page_follows_accept_language_and_the_chosen_language(client):
    page = await (await client.get("/", headers={"Accept-Language": "vi-VN,vi;q=0.9"})).text()
    assert '<html lang="vi">' in page and "Đăng nhập" in page
    catalog = json.loads(re.search(r'id="i18n-catalog">(.*?)</script>', page, re.S).group(1))
    assert catalog["Sign in"] == "Đăng nhập"
    response = await client.get("/lang/en", allow_redirects=False)
    assert response.status == 303
    page = await (await client.get("/", headers={"Accept-Language": "vi"})).text()
    assert '<html lang="en">' in page and ">Sign in<" in page


async def test_api_errors_come_in_the_readers_language(client):
    csrf = await page_csrf(client)
    response = await client.post("/api/login", json={"username": "nobody", "auth_key": "A" * 44},
                                 headers={"X-CSRF-Token": csrf, "Accept-Language": "vi"})
    assert response.status == 401
    assert (await response.json())["error"]["message"] == "Sai tên người dùng hoặc mật khẩu."
    response = await client.get("/api/rooms", headers={"Accept-Language": "vi"})
    assert (await response.json())["error"]["message"].startswith("Hãy đăng nhập trước")
