"""The life of an account and a room from the page, in real Chromium, each
person (or each browser of one person) a browser context of its own:
change the password, delete the account, leave a room, remove a member,
delete a room now (docs/protocol.md 4.5 and 8.2)."""

from playwright.sync_api import expect

from .conftest import BOOT_TIMEOUT_MS, PASSWORD, PHONE, wait_until
from .test_cli_with_browser import Terminal

NEW_PASSWORD = "a brand new horse staple"


def open_details(person) -> None:
    """The room's details drawer (beside the conversation on a desktop, a screen of its own on a phone)."""
    if person.page.locator("#details").is_hidden():
        person.page.click("#details-toggle")
    expect(person.page.locator("#details")).to_be_visible()


def change_password(person, current: str, new: str) -> None:
    person.settings_panel("password-panel")
    person.page.fill("#password-current", current)
    person.page.fill("#password-new", new)
    person.page.fill("#password-new-again", new)
    person.page.click("#password-submit")


def sign_in_again(person, password: str) -> None:
    person.page.fill("#auth-username", person.name)
    person.page.fill("#auth-password", password)
    person.page.click("#auth-submit")


def stored_keys(person) -> int:
    """How many sealed key records this browser's IndexedDB holds."""
    return person.page.evaluate("""() => new Promise(done => indexedDB.open("sealroom").onsuccess = event =>
        event.target.result.transaction("keys").objectStore("keys").count().onsuccess = c => done(c.target.result))""")


def room_status(person, room_id: str) -> int:
    """What the server answers this person's browser for the room."""
    return person.page.evaluate("id => fetch('/api/rooms/' + id).then(r => r.status)", room_id)


def test_password_change_signs_out_the_other_browser_which_says_why(people, server, tmp_path):
    alice, bob = people("alice"), people("bob")
    alice.register()
    bob.register()
    alice.create_room("Before", ["bob"])
    alice.send("written under the old password")
    laptop = people("alice", **PHONE)  # alice's second browser: the key comes from her server backup
    laptop.goto()
    laptop.sign_in_form()

    # A wrong current password changes nothing: the other browser stays signed in.
    change_password(alice, "not my password at all", NEW_PASSWORD)
    expect(alice.page.locator("#password-error")).to_have_text("The current password is wrong. Nothing was changed.")
    expect(laptop.page.locator("#chat")).to_be_visible()

    change_password(alice, PASSWORD, NEW_PASSWORD)
    expect(alice.page.locator("#toast")).to_contain_text("Your password is changed")
    expect(alice.page.locator("#toast")).to_contain_text("1 other browser was signed out")
    expect(alice.page.locator("#password-panel")).not_to_have_attribute("open", "")
    # The other browser is told why, at once (the socket's close reason), and asks for the new password.
    expect(laptop.page.locator("#auth")).to_be_visible()
    expect(laptop.page.locator("#auth-error")).to_have_text(
        "You were signed out because your password was changed in another browser. Sign in with the new password.")
    sign_in_again(laptop, PASSWORD)
    expect(laptop.page.locator("#auth-error")).to_have_text("Wrong username or password.")
    # Its own copy of the key is still sealed under the old password: the backup, sealed again, opens.
    laptop.sign_in_form(NEW_PASSWORD)
    laptop.open_room("Before")
    expect(laptop.messages().first).to_have_attribute("data-status", "verified")
    expect(laptop.messages().first.locator(".body")).to_have_text("written under the old password")

    # This tab stayed unlocked under the new secret, also across a reload; old messages still open.
    alice.reload()
    alice.open_room("Before")
    expect(alice.messages().first.locator(".body")).to_have_text("written under the old password")
    alice.send("and under the new one")
    bob.open_room("Before")
    expect(bob.messages()).to_have_count(2)
    expect(bob.messages().last).to_have_attribute("data-status", "verified")

    # The page sealed the backup exactly as `sealroom password` would: the CLI opens it with the new password.
    terminal = Terminal(tmp_path)
    terminal.env["SEALROOM_PASSWORD"] = NEW_PASSWORD
    terminal("login", server.url, "--username", "alice")
    assert "written under the old password" in terminal("read", "Before")


def test_deleting_the_account_tells_the_others_and_holds_the_name(people):
    alice, bob = people("alice"), people("bob")
    alice.register()
    bob.register()
    alice.create_room("Farewell", ["bob"])
    alice.send("my last words")
    bob.open_room("Farewell")
    expect(bob.messages()).to_have_count(1)

    alice.settings_panel("delete-account-panel")
    expect(alice.page.locator("#delete-account-form")).to_contain_text("Kept until their rooms expire")
    alice.page.fill("#delete-account-password", "not my password")
    alice.page.click("#delete-account-submit")
    expect(alice.page.locator("#delete-account-error")).to_have_text(
        "The current password is wrong. Nothing was changed.")
    alice.page.fill("#delete-account-password", PASSWORD)
    alice.page.click("#delete-account-submit")
    expect(alice.page.locator("#auth")).to_be_visible()
    expect(alice.page.locator("#auth-error")).to_contain_text("Your account alice was deleted")
    wait_until(lambda: stored_keys(alice) == 0)  # her key leaves this browser too

    expect(bob.page.locator("#toast")).to_have_text("alice deleted their account and left “Farewell”.")
    expect(bob.page.locator("#member-list li.member")).to_have_count(1)
    expect(bob.messages().first.locator(".body")).to_have_text("my last words")  # stays until the room expires

    # The name is held for the room lifetime: nobody can pose as alice next to her messages.
    mallory = people("alice")
    mallory.goto()
    mallory.page.click("#auth-switch")
    mallory.page.fill("#auth-username", "alice")
    mallory.page.fill("#auth-password", PASSWORD)
    mallory.page.click("#auth-submit")
    expect(mallory.page.locator("#auth-error")).to_have_text("The username “alice” is taken. Choose another.",
                                                             timeout=BOOT_TIMEOUT_MS)
    expect(mallory.page.locator("#chat")).to_be_hidden()


def test_leaving_removing_and_deleting_are_seen_live_by_the_others(people):
    alice, bob, carol = people("alice"), people("bob", **PHONE), people("carol")
    for person in (alice, bob, carol):
        person.register()
    alice.create_room("Trip", ["bob"])
    alice.create_room("Plans", ["bob", "carol"])
    plans = alice.page.locator("#room-list button", has_text="Plans").get_attribute("data-room")
    carol.open_room("Plans")
    bob.open_room("Plans")

    # Only the creator may remove or delete; everyone may leave.
    open_details(bob)
    expect(bob.page.locator("#leave-panel")).to_be_visible()
    expect(bob.page.locator("#delete-room-panel")).to_be_hidden()
    expect(bob.page.locator("#member-list .member-remove")).to_have_count(0)
    open_details(alice)
    expect(alice.page.locator("#member-list .member-remove")).to_have_count(2)  # bob and carol, not herself

    carol_item = alice.page.locator('#member-list li[data-user="carol"]')
    carol_item.locator(".member-remove > summary").click()
    expect(carol_item).to_contain_text("loses the room and its history at once")
    carol_item.locator("button.danger").click()
    expect(carol.page.locator("#toast")).to_have_text("You were removed from “Plans”.")
    expect(carol.page.locator("#room-list button", has_text="Plans")).to_have_count(0)
    expect(carol.page.locator("#room")).to_be_hidden()
    assert room_status(carol, plans) == 404
    expect(alice.page.locator("#member-list li.member")).to_have_count(2)
    expect(bob.page.locator("#toast")).to_have_text("carol was removed from “Plans”.")

    bob.page.click("#leave-panel > summary")
    expect(bob.page.locator("#leave-panel")).to_contain_text("The others keep the room")
    bob.page.click("#leave-confirm")
    expect(bob.page.locator("#toast")).to_have_text("You left “Plans”.")
    expect(bob.page.locator("#sidebar")).to_be_visible()  # back to the room list on a phone
    expect(bob.page.locator("#room-list button", has_text="Plans")).to_have_count(0)
    assert room_status(bob, plans) == 404
    expect(alice.page.locator("#toast")).to_have_text("bob left “Plans”.")
    expect(alice.page.locator("#member-list li.member")).to_have_count(1)

    alice.open_room("Trip")
    bob.open_room("Trip")
    open_details(alice)
    alice.page.click("#delete-room-panel > summary")
    expect(alice.page.locator("#delete-room-text")).to_contain_text("“Trip” and everything in it")
    alice.page.click("#delete-room-confirm")
    expect(alice.page.locator("#toast")).to_have_text("You deleted “Trip”, with everything in it, for every member.")
    expect(bob.page.locator("#toast")).to_have_text("“Trip” was deleted by its creator, with everything in it.")
    expect(bob.page.locator("#room-list button", has_text="Trip")).to_have_count(0)
    expect(alice.page.locator("#room-list button")).to_have_count(1)  # Plans, now hers alone
