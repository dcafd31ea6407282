"""Installable and fast on repeat visits: manifest, icons, and a service worker
that serves the pinned runtime from its cache."""

import json

from playwright.sync_api import expect


def test_manifest_and_icons_are_served(people, server):
    page = people("visitor").page
    response = page.request.get(server.url + "/manifest.webmanifest")
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = json.loads(response.body())
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    for icon in manifest["icons"]:
        image = page.request.get(server.url + icon["src"])
        assert image.ok and image.body().startswith(b"\x89PNG")


def test_repeat_load_takes_the_runtime_from_the_service_worker(people):
    visitor = people("visitor")
    visitor.goto()
    for _ in range(100):
        if visitor.page.evaluate("Boolean(navigator.serviceWorker.controller)"):
            break
        visitor.page.wait_for_timeout(100)
    from_worker = {}
    visitor.page.on("response", lambda r: from_worker.__setitem__(r.url.rsplit("/", 1)[-1], r.from_service_worker))
    visitor.page.reload()
    visitor.wait_booted()
    assert from_worker["pyodide.asm.wasm"] is True
    assert from_worker["python_stdlib.zip"] is True
    boot_ms = int(visitor.page.get_attribute("body", "data-boot-ms"))
    print(f"repeat load: Python ready after {boot_ms} ms")


SHARE_FROM_ANOTHER_APP = """async ([text, name, content]) => {
  // What the phone's share sheet does: a multipart POST to the manifest's share_target action.
  const form = document.createElement("form");
  form.method = "POST"; form.action = "/share"; form.enctype = "multipart/form-data";
  const field = document.createElement("input");
  field.name = "text"; field.value = text; form.append(field);
  const picker = document.createElement("input");
  picker.type = "file"; picker.name = "files";
  const files = new DataTransfer();
  files.items.add(new File([content], name, {type: "text/plain"}));
  picker.files = files.files; form.append(picker);
  document.body.append(form);
  form.submit();
}"""


def test_a_share_from_another_app_is_sent_encrypted_to_the_room_the_person_picks(people, server):
    manifest = json.loads(people("visitor").page.request.get(server.url + "/manifest.webmanifest").body())
    assert manifest["share_target"]["action"] == "/share" and manifest["share_target"]["method"] == "POST"
    alice, bob = people("alice"), people("bob")
    alice.register()
    bob.register()
    assert "Sharing into SealRoom" not in (alice.page.text_content("#toast") or "")  # no share, no notice
    alice.create_room("Shared", ["bob"])
    bob.open_room("Shared")
    for _ in range(100):
        if alice.page.evaluate("Boolean(navigator.serviceWorker.controller)"):
            break
        alice.page.wait_for_timeout(100)
    secret = "look at this: https://example.org/đà-lạt"
    alice.page.evaluate(SHARE_FROM_ANOTHER_APP, [secret, "notes.txt", "trip notes"])
    alice.page.locator("body[data-ready]").wait_for()
    expect(alice.page.locator("#composer-text")).to_have_value(secret)
    expect(alice.page.locator("#pending-files li")).to_contain_text("notes.txt")
    assert "share" not in alice.page.url  # the page took the share and cleaned the address
    alice.open_room("Shared")
    alice.page.click("#send")
    message = bob.messages().last
    expect(message).to_have_attribute("data-status", "verified")
    expect(message.locator(".body")).to_have_text(secret)
    box = message.locator('.attachment[data-name="notes.txt"]')
    box.locator(".attachment-open").click()
    expect(box).to_have_attribute("data-state", "verified")
    assert "POST /share" not in server.log_path.read_text()  # the service worker took it; the server never did
    database = (server.data_dir / "sealroom.db").read_bytes()
    assert secret.encode() not in database and b"trip notes" not in database


OFFLINE_PAGE = """async () => {
  for (const name of await caches.keys()) {
    if (!name.startsWith("sealroom-shell-")) continue;
    const hit = await (await caches.open(name)).match("/");
    if (hit) return await hit.text();
  }
  return null;
}"""


def test_the_offline_copy_of_the_page_is_the_plain_page_not_one_painted_for_its_address(people, server):
    visitor = people("visitor")
    visitor.goto()
    visitor.page.wait_for_function("navigator.serviceWorker.controller !== null")
    visitor.page.reload()  # now through the service worker, which keeps this page for offline starts
    assert 'id="auth-error" class="error" role="alert" hidden>' in visitor.page.evaluate(OFFLINE_PAGE)
    refused = "The sign-in was cancelled or refused at the provider. Nothing was changed."
    visitor.page.goto(server.url + "/?oidc_error=denied")  # where a refusal at a provider lands
    expect(visitor.page.locator("#auth-error")).to_have_text(refused)
    kept = visitor.page.evaluate(OFFLINE_PAGE)
    assert refused not in kept and 'id="auth-error" class="error" role="alert" hidden>' in kept
