"""Search in the page: people and rooms from the server, history in the page only."""

from playwright.sync_api import expect


def _results(person):
    return person.page.locator("#search-results li")


def test_search_people_and_rooms_with_keyboard_and_highlighting(people):
    alice, bob = people("alice"), people("bob")
    alice.register()
    bob.register()

    # Strangers: a prefix finds nobody, and the empty state says why.
    alice.page.fill("#search-input", "bo")
    expect(alice.page.locator("#search-empty")).to_contain_text("exact username")
    expect(_results(alice)).to_have_count(0)

    # The exact username always finds a person; Enter offers a room with them.
    alice.page.fill("#search-input", "BOB")
    expect(_results(alice)).to_have_count(1)
    expect(_results(alice).first).to_have_attribute("data-kind", "user")
    expect(_results(alice).first.locator("mark")).to_have_text("bob")
    alice.page.press("#search-input", "Enter")
    expect(alice.page.locator("#new-room-members")).to_have_value("bob")
    expect(alice.page.locator("#new-room-name")).to_be_focused()
    alice.page.fill("#new-room-name", "Kế hoạch Tết")
    alice.page.click("#new-room-form button[type=submit]")
    expect(alice.page.locator("#room-name")).to_have_text("Kế hoạch Tết")

    # Bob finds the room without diacritics and with a typo, and opens it from the keyboard.
    bob.page.locator("#room-list button", has_text="Kế hoạch Tết").wait_for()
    bob.page.fill("#search-input", "ke hoahc")
    room = bob.page.locator('#search-results li[data-kind="room"]')
    expect(room).to_have_count(1)
    expect(room).to_have_attribute("data-match", "fuzzy")
    expect(room.locator("mark")).to_have_text(["Kế", "hoạch"])
    expect(room).to_have_attribute("aria-selected", "true")
    bob.page.press("#search-input", "ArrowDown")
    bob.page.press("#search-input", "ArrowUp")
    bob.page.press("#search-input", "Enter")
    expect(bob.page.locator("#room-name")).to_have_text("Kế hoạch Tết")
    expect(_results(bob)).to_have_count(0)

    # Now they share a room, a prefix is enough.
    bob.page.fill("#search-input", "al")
    expect(bob.page.locator('#search-results li[data-kind="user"]')).to_have_count(1)
    expect(bob.page.locator('#search-results li[data-kind="user"] mark')).to_have_text("al")
    bob.page.press("#search-input", "Escape")
    expect(_results(bob)).to_have_count(0)


def test_history_search_never_sends_plaintext_or_terms_to_the_server(people):
    alice, bob = people("alice"), people("bob")
    alice.register()
    bob.register()
    alice.create_room("Phở night", ["bob"])
    alice.send("Hẹn gặp ở quán phở Hà Nội lúc 7 giờ")
    alice.send("Bring the slides for the review")
    expect(alice.messages()).to_have_count(2)

    requests, frames = [], []
    log_before = len(alice.server.log_path.read_text())
    # The browser fetches the favicon when it likes; what matters is the API and the socket.
    alice.page.on("request", lambda request: "/static/" not in request.url and requests.append(request.url))
    alice.page.on("websocket", lambda ws: ws.on("framesent", lambda payload: frames.append(payload)))

    alice.settings()
    alice.page.fill("#history-input", "pho ha noi")
    hit = alice.page.locator("#history-results li")
    expect(hit).to_have_count(1)
    expect(hit.locator("mark")).to_have_text(["phở", "Hà", "Nội"])
    alice.page.fill("#history-input", "slieds")  # a typo
    expect(hit).to_have_count(1)
    expect(hit).to_have_attribute("data-match", "fuzzy")
    expect(hit.locator("mark")).to_have_text("slides")
    alice.page.fill("#history-input", "karaoke")
    expect(alice.page.locator("#history-empty")).to_contain_text("in this page only")
    alice.page.fill("#history-input", "review")
    alice.page.press("#history-input", "Enter")
    expect(alice.page.locator('#messages .message.found')).to_contain_text("Bring the slides")
    alice.page.wait_for_timeout(1000)  # longer than any debounce

    assert requests == [], f"history search made requests: {requests}"
    served = alice.server.log_path.read_text()[log_before:]  # every request the server saw meanwhile
    assert "/api/search" not in served and not any(term in served for term in ("pho", "slie", "karaoke", "review"))
    assert not any(term in str(frame) for frame in frames for term in ("pho", "slie", "karaoke", "review"))


def test_display_name_given_at_sign_up_is_found_and_shown_beside_the_username(people):
    alice, bob = people("alice"), people("bob")
    alice.goto()
    alice.page.click("#auth-switch")
    alice.page.fill("#auth-display-name", "Trần Thị Bích Ngọc")
    alice.sign_in_form()
    bob.register()
    alice.create_room("Đội", ["bob"])
    bob.page.locator("#room-list button", has_text="Đội").wait_for()
    bob.page.fill("#search-input", "bich ngoc")
    person = bob.page.locator('#search-results li[data-kind="user"]')
    expect(person).to_have_count(1)
    expect(person.locator(".result-name")).to_have_text("Trần Thị Bích Ngọc")
    expect(person.locator(".result-detail").first).to_have_text("(alice)")
    expect(person.locator("mark")).to_have_text(["Bích", "Ngọc"])
