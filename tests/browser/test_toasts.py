"""Toasts: the outcome of each action and event, announced through aria-live, none lost in a burst."""

from playwright.sync_api import expect

from tests.browser import media

from .conftest import DESKTOP, PHONE, behind_link, wait_until


def toast(person):
    return person.page.locator("#toast")


def test_the_toast_is_a_polite_live_region(people):
    alice = people("alice")
    alice.register()
    expect(toast(alice)).to_have_attribute("role", "status")
    expect(toast(alice)).to_have_attribute("aria-live", "polite")


def test_a_lost_connection_is_told_and_its_return_too_with_what_was_missed(people, server):
    alice, bob = people("alice", **PHONE), people("bob")
    with behind_link(alice, server) as link:
        alice.register()
        bob.register()
        alice.create_room("Wires", ["bob"])
        alice.page.locator('body[data-connections="1"]').wait_for(state="attached")  # the socket is open
        link.down()  # the network goes: the server's socket closes under the page, and reconnects fail
        expect(toast(alice)).to_have_text("Connection lost. Reconnecting…")
        expect(toast(alice)).to_be_visible()
        bob.open_room("Wires")
        bob.send("while you were away")
        link.up()
        expect(toast(alice)).to_have_text("Connected again.")
        expect(alice.messages().last.locator(".body")).to_have_text("while you were away")  # and caught up


# Records every text #toast shows, so a test can say which toasts came and how many times.
TOAST_SPY = """
window.__toasts = [];
new MutationObserver(() => {
  const element = document.getElementById("toast");
  if (element && !element.hidden && window.__toasts[window.__toasts.length - 1] !== element.textContent)
    window.__toasts.push(element.textContent);
}).observe(document, {subtree: true, childList: true, characterData: true, attributes: true,
                      attributeFilter: ["hidden"]});
"""


def test_failing_reconnects_say_lost_once_and_signing_out_says_nothing(people, server):
    alice = people("alice")
    alice.page.add_init_script(TOAST_SPY)
    with behind_link(alice, server) as link:
        alice.register()
        alice.page.locator('body[data-connections="1"]').wait_for(state="attached")  # the socket is open
        link.down()
        expect(toast(alice)).to_have_text("Connection lost. Reconnecting…")
        wait_until(lambda: link.refused >= 2)  # each failed reconnect closes a socket again: let two fail
        link.up()
        expect(toast(alice)).to_have_text("Connected again.")
        shown = alice.page.evaluate("window.__toasts")
        assert shown.count("Connection lost. Reconnecting…") == 1 and shown.count("Connected again.") == 1
        # Signing out closes the socket on purpose, and signing in again opens a first one: neither is news.
        alice.settings()
        alice.page.click("#logout")  # her key has a server backup: no warning first
        expect(alice.page.locator("#auth")).to_be_visible()
        expect(alice.page.locator("#auth-switch")).to_have_text("Have an account? Sign in")  # the form she used last
        alice.page.click("#auth-switch")
        alice.sign_in_form()
        expect(alice.page.locator("#chat")).to_be_visible()
        alice.page.locator('body[data-connections="1"]').wait_for(state="attached")  # a new socket, opened once
        shown = alice.page.evaluate("window.__toasts")
        assert shown.count("Connection lost. Reconnecting…") == 1 and shown.count("Connected again.") == 1, shown


def test_a_members_key_change_is_announced_once(people):
    alice, bob = people("alice", **DESKTOP), people("bob", **DESKTOP)
    alice.page.add_init_script(TOAST_SPY)
    alice.register()
    bob.register()
    alice.create_room("Elsewhere", ["bob"])
    alice.create_room("Keys", ["bob"])
    bob.open_room("Keys")
    bob.settings()
    bob.page.click("#rotate-panel summary")
    bob.page.click("#rotate-submit")
    expect(toast(bob)).to_contain_text("Your new key is in use.")
    changed = "⚠ bob's key changed. Compare safety numbers in the room's details before you trust it."
    expect(toast(alice)).to_have_text(changed)
    expect(alice.page.locator("#key-warning")).to_contain_text("the key of bob changed")
    # Opening the rooms again loads bob's key again: the same change is not news twice.
    alice.open_room("Elsewhere")
    alice.open_room("Keys")
    expect(alice.page.locator("#key-warning")).to_contain_text("the key of bob changed")
    assert alice.page.evaluate("window.__toasts").count(changed) == 1


def test_files_sent_and_a_file_verified_are_announced_but_a_plain_message_is_not(people):
    alice, bob = people("alice", **PHONE), people("bob")
    alice.page.add_init_script(TOAST_SPY)
    alice.register()
    bob.register()
    alice.create_room("Album", ["bob"])
    bob.open_room("Album")
    alice.send("just text")  # its bubble shows its state: no toast
    alice.attach([{"name": "menu.pdf", "mimeType": "application/pdf", "buffer": media.pdf()},
                  {"name": "notes.zip", "mimeType": "application/zip", "buffer": media.zip_archive()}])
    alice.page.fill("#composer-text", "for Saturday")
    alice.page.click("#send")
    expect(toast(alice)).to_have_text("Sent with 2 files to “Album”.")
    expect(alice.page.locator("#pending-files li")).to_have_count(0)
    shown = alice.page.evaluate("window.__toasts")
    assert shown[shown.index("Room “Album” created."):] == ["Room “Album” created.", "Sent with 2 files to “Album”."]

    box = bob.page.locator('#messages .attachment[data-name="menu.pdf"]')
    box.locator(".attachment-open").click()
    expect(box).to_have_attribute("data-state", "verified")
    expect(toast(bob)).to_have_text("“menu.pdf” downloaded and verified from alice.")
