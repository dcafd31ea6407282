"""English and Vietnamese: the gettext catalogs, the page, API errors and socket frames.

The strings come from Babel's own extraction (babel.cfg), as `make i18n` runs
it, so a string added to the template, pyclient/browser, the server or
search_index without a Vietnamese translation fails here.
"""

import json
import os
import re
import string
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from server import i18n
from tests.helpers import page_csrf, register

REPO = Path(__file__).resolve().parents[1]
POT = REPO / "web/i18n/messages.pot"
VI = i18n.po_path(REPO / "web", "vi")
NOT_SOURCES = {"node_modules", "build", "var", "tests", "docs", "bench"}


def source_directory(path: str) -> bool:
    name = os.path.basename(path)
    return name not in NOT_SOURCES and not name.startswith((".", "_"))


def extracted() -> dict:
    """Every marked string in the sources, as `pybabel extract -F babel.cfg` finds it."""
    with (REPO / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found = {}
    for filename, _line, message, _comments, _context in extract_from_dir(REPO, method_map, options_map,
                                                                         directory_filter=source_directory):
        found.setdefault(message, set()).add(filename)
    return found


def catalog(path: Path, locale: str | None = None):
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def fields(text: str) -> set[str]:
    return {name for _literal, name, _spec, _conversion in string.Formatter().parse(text) if name is not None}


def test_every_string_people_read_has_a_vietnamese_translation():
    vietnamese = catalog(VI, "vi")
    problems = []
    for message in vietnamese:
        if not message.id:
            continue
        if message.fuzzy:
            problems.append(f"fuzzy (check it, then remove the flag): {message.id!r}")
        if message.pluralizable:
            english, forms = fields(message.id[1]), message.string
            # every form says what the plural says; "{count}" may be implied in a singular
            for form in forms:
                if not form:
                    problems.append(f"untranslated: {message.id!r}")
                elif not english - {"count"} <= fields(form) <= english | fields(message.id[0]):
                    problems.append(f"placeholders differ: {message.id!r} -> {form!r}")
        elif not message.string:
            problems.append(f"untranslated: {message.id!r}")
        elif fields(message.id) != fields(message.string):
            problems.append(f"placeholders differ: {message.id!r} -> {message.string!r}")
    missing = set(extracted()) - {message.id for message in vietnamese}
    problems += [f"not in the .po (run 'make i18n'): {message!r}" for message in sorted(missing, key=str)]
    assert problems == []


def test_the_catalogs_hold_exactly_what_the_sources_mark():
    """`make i18n` was run after the last string changed: nothing extracted is
    missing from messages.pot or the .po, and nothing is left over in them."""
    in_sources = set(extracted())
    assert in_sources - {message.id for message in catalog(POT) if message.id} == set(), "run 'make i18n'"
    assert {message.id for message in catalog(POT) if message.id} - in_sources == set(), "run 'make i18n'"
    assert {message.id for message in catalog(VI, "vi") if message.id} == in_sources, "run 'make i18n'"


def test_messages_are_formatted_after_translation():
    vietnamese = i18n.load_catalogs(REPO / "web")["vi"].translations
    message = i18n._("There is no user called “{username}”.", username="{count} ghost")
    assert message.translate(vietnamese) == "Không có người dùng nào tên “{count} ghost”."
    assert str(message) == "There is no user called “{count} ghost”."
    wait = i18n.ngettext("{reason} Wait {count} second and try again.", "{reason} Wait {count} seconds and try again.",
                         1, reason=i18n._("You are searching too fast."))
    assert str(wait) == "You are searching too fast. Wait 1 second and try again."
    assert wait.translate(vietnamese) == "Bạn đang tìm kiếm quá nhanh. Hãy chờ 1 giây rồi thử lại."


def test_language_follows_q_weights_and_the_chosen_language_wins():
    assert i18n.negotiate("en;q=0.1, vi;q=0.9") == "vi"
    assert i18n.negotiate("vi-VN,vi;q=0.9,en-US;q=0.8") == "vi"
    assert i18n.negotiate("fr-FR, en;q=0.5, vi;q=0.4") == "en"
    assert i18n.negotiate("vi;q=0, en;q=0.1") == "en"  # q=0 means "not this one"
    assert i18n.negotiate("vi;q=nan, de") == "en"
    assert i18n.negotiate("*, vi;q=0.2") == "vi"
    assert i18n.negotiate("") == "en"
    assert i18n.negotiate("vi", chosen="en") == "en"
    assert i18n.negotiate("en", chosen="xx") == "en"


async def test_page_follows_accept_language_weights_and_the_chosen_language(client):
    page = await (await client.get("/", headers={"Accept-Language": "en;q=0.1, vi;q=0.9"})).text()
    assert '<html lang="vi">' in page and "Đăng nhập" in page
    embedded = json.loads(re.search(r'id="i18n-catalog">(.*?)</script>', page, re.S).group(1))
    assert embedded["plural"] == "0" and embedded["messages"]["Sign in"] == "Đăng nhập"
    assert embedded["messages"]["Today"] == "Hôm nay"
    assert "Wrong username or password." not in embedded["messages"]  # the server's own texts stay on the server
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


async def test_an_error_with_a_name_in_it_arrives_translated_with_the_name(client):
    alice = await register(client, "alice")
    await client.get("/lang/vi")
    response = await alice.post("/api/rooms", {"name": "Hẹn hò", "members": ["ghost"]})
    assert response.status == 404
    assert (await response.json())["error"]["message"] == "Không có người dùng nào tên “ghost”."
    response = await alice.post("/api/rooms", {"name": "x" * 101})
    assert (await response.json())["error"]["message"] == "Tên phòng dài tối đa 100 ký tự."


async def test_websocket_error_frames_come_in_the_readers_language(client):
    await register(client, "alice")
    ws = await client.ws_connect("/ws", headers={"Accept-Language": "en;q=0.5, vi"})
    assert json.loads((await ws.receive()).data)["type"] == "hello"
    await ws.send_str(json.dumps({"type": "wave", "ref": "r1"}))
    reply = json.loads((await ws.receive()).data)
    assert reply == {"type": "error", "ref": "r1", "error": "invalid", "message": "Kiểu khung không xác định: 'wave'."}
    await ws.send_str("[1]")
    assert json.loads((await ws.receive()).data)["message"] == "Khung phải là một đối tượng JSON."
    await ws.send_bytes(b"\x00")
    assert json.loads((await ws.receive()).data)["message"] == "Hãy gửi khung văn bản JSON."
    await ws.close()
