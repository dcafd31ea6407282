"""Installable and fast on repeat visits: manifest, icons, and a service worker
that serves the pinned runtime from its cache."""

import json


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
