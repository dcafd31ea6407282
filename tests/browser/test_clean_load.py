"""A clean load: a first visit logs no console error (page or worker) and no
request fails or answers an error status (Lighthouse's Best Practices)."""

from playwright.sync_api import expect

# Resolves once the service worker (registered on load) controls the page.
CONTROLLED = """new Promise((resolve) => navigator.serviceWorker.controller ? resolve()
  : navigator.serviceWorker.addEventListener("controllerchange", () => resolve()))"""


def watch(person) -> list[str]:
    """Everything that went wrong while the page loads, from the page and from its workers."""
    problems = []
    page, context = person.page, person.page.context
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    page.on("worker", lambda worker: worker.on(
        "console", lambda m: m.type == "error" and problems.append(f"worker console: {m.text}")))
    context.on("requestfailed", lambda request: problems.append(f"failed: {request.url} {request.failure}"))
    context.on("response", lambda response: response.status >= 400 and problems.append(
        f"{response.status}: {response.url}"))
    return problems


def test_a_first_anonymous_load_logs_no_error_and_no_failed_request(people):
    visitor = people("visitor")
    problems = watch(visitor)
    visitor.goto()  # Python ready in its worker
    expect(visitor.page.locator("#auth-form")).to_be_visible()
    visitor.page.evaluate(CONTROLLED)
    visitor.page.reload()  # a repeat visit, through the service worker
    visitor.wait_booted()
    assert problems == []
