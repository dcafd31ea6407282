"""The chat as people use it: one screen at a time on a phone, unread counts,
deep links, and system notifications that never carry the content."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser import media

from .conftest import PHONE, start_server
from .seed import SEEDING_LIMITS, backdate, seed_room

TABLET = {"viewport": {"width": 820, "height": 1180}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
NO_HORIZONTAL_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"

# Records each system notification the page asks for (the real one is still shown),
# and lets the test say when the tab is in the background.
NOTIFICATION_SPY = """
window.__notifications = [];
const RealNotification = window.Notification;
window.Notification = class extends RealNotification {
  constructor(title, options) { super(title, options); window.__notifications.push({title, body: options?.body || ""}); }
};
Object.defineProperty(document, "visibilityState", {get: () => (window.__hidden ? "hidden" : "visible")});
"""


@pytest.fixture
def server(tmp_path):
    """conftest's server, with message limits that let the scripted person fill a room fast."""
    server = start_server(tmp_path / "data", tmp_path / "server.log", **SEEDING_LIMITS)
    yield server
    server.stop()


def unread(person, room: str):
    return person.page.locator("#room-list button", has_text=room).locator(".unread")


def test_on_a_phone_one_screen_shows_at_a_time_and_unread_counts_clear(people):
    alice, bob = people("alice", **PHONE), people("bob")
    alice.register()
    bob.register()
    expect(alice.page.locator("#sidebar")).to_be_visible()
    expect(alice.page.locator("#onboarding")).to_contain_text("Your key lives in this browser")
    alice.page.click("#onboarding-done")
    expect(alice.page.locator("#onboarding")).to_be_hidden()
    alice.create_room("Picnic", ["bob"])
    expect(alice.page.locator("#sidebar")).to_be_hidden()  # the conversation replaced the room list
    assert alice.page.evaluate("location.hash").startswith("#/room/")
    alice.send("Who brings the bánh mì?")
    alice.attach([{"name": "map.png", "mimeType": "image/png", "buffer": media.png()}])
    alice.page.click("#send")
    expect(alice.page.locator("#messages .attachment img.preview")).to_be_visible()
    assert alice.page.evaluate(NO_HORIZONTAL_SCROLL)

    alice.page.click("#room-back")
    expect(alice.page.locator("#sidebar")).to_be_visible()
    expect(alice.page.locator("#room")).to_be_hidden()
    bob.open_room("Picnic")
    bob.send("I do!")
    bob.send("And the tea")
    expect(unread(alice, "Picnic")).to_have_text("2")
    expect(alice.page).to_have_title("(2) SealRoom")
    alice.open_room("Picnic")
    expect(alice.messages().last.locator(".body")).to_have_text("And the tea")
    expect(alice.page).to_have_title("SealRoom")
    alice.page.go_back()  # the phone's back gesture leaves the conversation for the room list
    expect(alice.page.locator("#sidebar")).to_be_visible()
    expect(unread(alice, "Picnic")).to_have_count(0)


def test_a_deep_link_opens_its_room_after_a_reload(people):
    alice, bob = people("alice", **PHONE), people("bob")
    alice.register()
    bob.register()
    alice.create_room("Linked", ["bob"])
    alice.send("here")
    link = alice.page.url
    assert "#/room/" in link
    alice.page.goto(alice.server.url + "/")
    alice.page.goto(link)
    alice.page.locator("body[data-ready]").wait_for()
    expect(alice.page.locator("#room-name")).to_have_text("Linked")
    expect(alice.messages().last.locator(".body")).to_have_text("here")
    alice.page.click("#room-back")  # opened by the link: back goes up to the rooms, not off the site
    expect(alice.page.locator("#sidebar")).to_be_visible()
    assert alice.page.url == alice.server.url + "/#/"


def test_a_notification_names_sender_and_room_but_never_the_content(people):
    alice, bob = people("alice"), people("bob")
    alice.page.context.grant_permissions(["notifications"])
    alice.page.context.add_init_script(NOTIFICATION_SPY)
    alice.register()
    bob.register()
    alice.create_room("Secrets", ["bob"])
    alice.settings()
    alice.page.check("#notify-toggle")
    expect(alice.page.locator("#notify-toggle")).to_be_checked()
    alice.page.evaluate("window.__hidden = true")
    bob.open_room("Secrets")
    bob.send("the code is 4711")
    expect(alice.page).to_have_title("(1) SealRoom")
    notifications = []
    for _ in range(100):  # the notification follows the count (a poll: CSP breaks wait_for_function)
        notifications = alice.page.evaluate("window.__notifications")
        if notifications:
            break
        alice.page.wait_for_timeout(100)
    assert notifications == [{"title": "New message in Secrets", "body": "From bob"}]
    assert "4711" not in str(notifications)


def test_older_history_loads_as_the_reader_scrolls_up(people, server):
    alice = people("alice")
    alice.register()
    seed_room(server.url, "alice", 230)
    alice.open_room("Busy")
    messages = alice.page.locator("#messages .message")
    expect(messages).to_have_count(200)  # the newest page
    expect(messages.last.locator(".body")).to_have_text("message 229")
    alice.page.locator("#messages").evaluate("list => { list.scrollTop = 0; }")
    expect(messages).to_have_count(230)
    expect(messages.first.locator(".body")).to_have_text("message 0")
    for _ in range(100):  # the page restores the reader's place right after the older page is in
        if alice.page.locator("#messages").evaluate("list => list.scrollTop") > 0:
            break
        alice.page.wait_for_timeout(50)
    assert alice.page.locator("#messages").evaluate("list => list.scrollTop") > 0  # the reader's place is kept
    expect(alice.page.locator('#messages .message[data-status="verified"]')).to_have_count(230)


def test_dark_mode_follows_the_system_and_can_be_overridden(people):
    alice = people("alice", color_scheme="dark")
    alice.register()
    background = alice.page.locator("body")
    expect(background).to_have_css("background-color", "rgb(15, 18, 22)")
    alice.settings()
    alice.page.select_option("#theme-choice", "light")
    expect(background).to_have_css("background-color", "rgb(238, 241, 245)")
    alice.reload()  # the choice holds, applied before Python starts
    expect(background).to_have_css("background-color", "rgb(238, 241, 245)")
    alice.settings()
    expect(alice.page.locator("#help")).to_contain_text("Safety numbers")


def test_a_rate_limited_message_goes_out_by_itself_after_a_notice(people, tmp_path):
    # A burst of 2, then one message every 10 s: the third is refused even when a loaded machine
    # takes seconds per message, and goes out by itself well within the wait below.
    fast = start_server(tmp_path / "fast", tmp_path / "fast.log", SEALROOM_RATE_MESSAGE="0.1/2")
    try:
        alice, bob = people("alice"), people("bob")
        for person in (alice, bob):
            person.server = fast
        alice.register()
        bob.register()
        alice.create_room("Quick", ["bob"])
        bob.open_room("Quick")
        for text in ("one", "two", "three"):  # the third is over the burst of 2
            alice.send(text)
        expect(alice.page.locator("#toast")).to_contain_text("You are sending quickly")
        expect(bob.messages()).to_have_count(3)
        expect(bob.messages().last.locator(".body")).to_have_text("three")
        expect(bob.messages().last).to_have_attribute("data-status", "verified")
    finally:
        fast.stop()


def test_a_display_name_set_in_settings_shows_with_the_username(people):
    alice, bob = people("alice"), people("bob")
    alice.register()
    bob.register()
    alice.settings()
    alice.page.fill("#profile-display-name", "Nguyễn Thị Lan")
    alice.page.click("#profile-form button[type=submit]")
    expect(alice.page.locator("#me-name")).to_have_text("Nguyễn Thị Lan (alice)")
    alice.create_room("Names", ["bob"])
    alice.send("xin chào")
    bob.open_room("Names")
    expect(bob.messages().last.locator(".badge")).to_have_text("✓ Verified from Nguyễn Thị Lan (alice)")


def test_on_a_tablet_rooms_and_conversation_share_the_screen_and_details_slide_over(people):
    alice, bob = people("alice", **TABLET), people("bob")
    alice.register()
    bob.register()
    alice.create_room("Tablet", ["bob"])
    sidebar, room, details = (alice.page.locator(selector) for selector in ("#sidebar", "#room", "#details"))
    expect(sidebar).to_be_visible()
    expect(room).to_be_visible()  # two panes, side by side
    expect(details).to_be_hidden()  # the drawer waits to be asked for
    assert sidebar.bounding_box()["x"] + sidebar.bounding_box()["width"] <= room.bounding_box()["x"]
    assert alice.page.evaluate(NO_HORIZONTAL_SCROLL)
    bob.open_room("Tablet")
    bob.send("seen on a tablet")
    expect(alice.messages().last.locator(".body")).to_have_text("seen on a tablet")
    expect(sidebar).to_be_visible()

    alice.page.click("#details-toggle")
    expect(details).to_be_visible()
    expect(alice.page.locator("#details-back")).to_be_focused()  # the focus moves into the drawer
    expect(alice.page.locator('#member-list li[data-user="bob"]')).to_be_visible()
    alice.page.keyboard.press("Escape")
    expect(details).to_be_hidden()
    expect(alice.page.locator("#details-toggle")).to_be_focused()  # and back where it came from

    alice.settings()
    expect(room).to_be_hidden()  # settings take the conversation's place
    expect(sidebar).to_be_visible()
    assert alice.page.evaluate(NO_HORIZONTAL_SCROLL)


def test_day_separators_follow_the_readers_time_zone_and_language(people, server):
    """Messages from ten days ago, yesterday and today, read in Hanoi (UTC+7) in Vietnamese."""
    hanoi = ZoneInfo("Asia/Ho_Chi_Minh")
    alice = people("alice", timezone_id="Asia/Ho_Chi_Minh", locale="vi-VN")
    alice.register()
    seed_room(server.url, "alice", 4)
    now = datetime.now(hanoi)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    early_today = midnight + min(timedelta(minutes=30), (now - midnight) / 2)  # still yesterday in UTC
    ten_days_ago = (midnight - timedelta(days=10)).replace(hour=9)
    backdate(server.data_dir, "Busy", {0: ten_days_ago, 1: midnight - timedelta(hours=4), 2: early_today})
    alice.open_room("Busy")
    expect(alice.messages()).to_have_count(4)
    days = alice.page.locator("#messages li.day")
    expect(days).to_have_count(3)
    expect(days.nth(0)).to_have_attribute("data-day", ten_days_ago.date().isoformat())
    expect(days.nth(0)).to_contain_text(str(ten_days_ago.day))  # a date, written by the browser in Vietnamese
    expect(days.nth(0)).to_contain_text(f"tháng {ten_days_ago.month}")
    expect(days.nth(1)).to_have_text("Hôm qua")
    expect(days.nth(2)).to_have_text("Hôm nay")
    # Each separator sits right above the first message of its day, and the times are Hanoi's.
    for day, first in ((0, 0), (1, 1), (2, 2)):
        expect(alice.page.locator(f"#messages li.day >> nth={day}")).to_have_attribute(
            "data-day", alice.messages().nth(first).evaluate("m => m.previousElementSibling.dataset.day"))
    expect(alice.messages().nth(2).locator("time")).to_have_text(f"{early_today.hour}:{early_today.minute:02d}")
    # carol wrote them all: her name shows above the first of each day's run, then not again that day.
    heads = [alice.messages().nth(index).get_attribute("data-head") for index in range(4)]
    assert heads == ["1", "1", "1", None]
    shown = alice.messages().nth(0).locator(".sender").bounding_box()
    hidden = alice.messages().nth(3).locator(".sender").bounding_box()  # left for screen readers only
    assert shown["width"] > 10 and hidden["width"] <= 1 and hidden["height"] <= 1
