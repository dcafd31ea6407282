"""Real Chromium (Debian's, through Playwright) against a real server process.

Each person is a separate browser context: separate cookies, IndexedDB and
sessionStorage, as two people on two machines. Every request that leaves
127.0.0.1 is blocked and recorded, and a test fails if there was any.
"""

import contextlib
import dataclasses
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-gpu"]
BOOT_TIMEOUT_MS = 90_000
PASSWORD = "correct horse battery staple"
# Browser context options: a phone held in portrait (touch, 2x), and a laptop screen.
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}

pytestmark = pytest.mark.browser
# Python in the page shares two cores with the server and the test runner.
expect.set_options(timeout=20_000)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ServerProcess:
    url: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen
    env: dict

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def start(self) -> None:
        self.process = _spawn(self.env, self.log_path)
        _wait_until_up(self)


def _spawn(env: dict, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "ab")
    return subprocess.Popen([sys.executable, "-m", "server"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait_until_up(server: ServerProcess) -> None:
    deadline = time.monotonic() + 30
    host, port = "127.0.0.1", int(server.url.rsplit(":", 1)[1].rstrip("/"))
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited: {server.log_path.read_text()}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start in 30 s")


def start_server(data_dir: Path, log_path: Path, **extra_env) -> ServerProcess:
    port = free_port()
    env = {**os.environ, "SEALROOM_DATA_DIR": str(data_dir), "SEALROOM_PORT": str(port),
           "SEALROOM_HOST": "127.0.0.1", **extra_env}
    server = ServerProcess(f"http://127.0.0.1:{port}", data_dir, log_path, _spawn(env, log_path), env)
    _wait_until_up(server)
    return server


@pytest.fixture
def server(tmp_path):
    server = start_server(tmp_path / "data", tmp_path / "server.log")
    yield server
    server.stop()


# Module scope, not session: the sync Playwright API keeps an event loop
# running while it is open, which would break the asyncio tests after it.
@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: 'make test' installs Debian's chromium package.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Person:
    name: str
    page: Page
    server: ServerProcess
    external_requests: list = field(default_factory=list)
    console_errors: list = field(default_factory=list)

    def goto(self) -> None:
        self.page.goto(self.server.url + "/")
        self.wait_booted()

    def wait_booted(self) -> None:
        # The sign-in form is painted before Python starts: wait for Python too.
        self.page.locator("body[data-py-ready] #auth:not([hidden]), body[data-ready]").first.wait_for(
            timeout=BOOT_TIMEOUT_MS)

    def register(self, password: str = PASSWORD) -> None:
        self.goto()
        self.page.click("#auth-switch")
        self.sign_in_form(password)

    def sign_in_form(self, password: str = PASSWORD) -> None:
        self.page.fill("#auth-username", self.name)
        self.page.fill("#auth-password", password)
        self.page.click("#auth-submit")
        self.page.locator("body[data-ready]").wait_for(timeout=BOOT_TIMEOUT_MS)

    def reload(self) -> None:
        self.page.reload()
        self.page.locator("body[data-ready]").wait_for(timeout=BOOT_TIMEOUT_MS)

    def create_room(self, name: str, members: list[str]) -> None:
        if self.page.locator("#new-room-form").is_hidden():
            self.page.click("#new-room-toggle")
            expect(self.page.locator("#new-room-name")).to_be_focused()  # the page moves the focus there
        self.page.fill("#new-room-name", name)
        self.page.fill("#new-room-members", ", ".join(members))
        self.page.click("#new-room-form button[type=submit]")
        expect(self.page.locator("#room-name")).to_have_text(name)
        self.page.locator('body[data-screen="room"]').wait_for()

    def open_room(self, name: str) -> None:
        self.page.locator("#room-list button", has_text=name).click()
        expect(self.page.locator("#room-name")).to_have_text(name)
        self.page.locator('body[data-screen="room"]').wait_for()

    def send(self, text: str) -> None:
        self.page.fill("#composer-text", text)
        self.page.click("#send")
        expect(self.page.locator("#composer-text")).to_have_value("")

    def attach(self, files) -> None:
        """Choose files as a person would, and wait until the page's worker has taken them."""
        before = int(self.page.get_attribute("#pending-files", "data-batches") or 0)
        self.page.set_input_files("#file-input", files=files)
        self.page.locator(f'#pending-files[data-batches="{before + 1}"]').wait_for(state="attached")

    def settings(self) -> None:
        """Open the settings screen: keys, signed-in browsers, message search, log out."""
        self.page.click("#settings-open")
        expect(self.page.locator("#settings")).to_be_visible()

    def settings_panel(self, panel_id: str) -> None:
        """Open settings and, in them, the ``<details>`` panel with this id."""
        if self.page.locator("#settings").is_hidden():
            self.settings()
        if not self.page.locator(f"#{panel_id}").evaluate("details => details.open"):
            self.page.click(f"#{panel_id} > summary")

    def messages(self):
        return self.page.locator("#messages .message")


@pytest.fixture
def people(browser, server):
    """``people("alice")`` opens a fresh browser context for that person."""
    contexts, persons = [], []

    def make(name: str, **context_options) -> Person:
        context = browser.new_context(**context_options)
        contexts.append(context)
        page = context.new_page()
        person = Person(name, page, server)
        local = re.compile(r"^(https?|wss?)://127\.0\.0\.1:\d+/|^(data|blob):")

        def guard(route):
            if local.match(route.request.url):
                route.continue_()
            else:
                person.external_requests.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        page.on("console", lambda m: m.type == "error" and person.console_errors.append(m.text))
        persons.append(person)
        return person

    yield make
    for context in contexts:
        context.close()
    for person in persons:
        assert person.external_requests == [], f"{person.name}'s page requested {person.external_requests}"


class Link:
    """A TCP relay in front of the server that the test can cut, as a network going down.

    Playwright cannot route a WebSocket that a worker opens, and the client's
    socket lives in its worker, so the cut happens on the wire instead.
    """

    def __init__(self, target_port: int):
        import threading

        self._target = ("127.0.0.1", target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self.is_up = True
        self.refused = 0  # connections turned away while down (a page's failed reconnects)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import threading

        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self.is_up:
                client.close()
                self.refused += 1
                continue
            upstream = socket.create_connection(self._target)
            with self._lock:
                self._open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def down(self) -> None:
        self.is_up = False
        with self._lock:
            for connection in self._open:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._open.clear()

    def up(self) -> None:
        self.is_up = True

    def close(self) -> None:
        self.down()
        self._listener.close()


@contextlib.contextmanager
def behind_link(person, server):
    """``person``'s browser reaches ``server`` through a :class:`Link` the test can cut."""
    link = Link(int(server.url.rsplit(":", 1)[1]))
    person.server = dataclasses.replace(server, url=f"http://127.0.0.1:{link.port}")
    try:
        yield link
    finally:
        link.close()


def wait_until(condition, timeout: float = 20.0) -> None:
    """Poll ``condition`` (something outside the page: the server, a relay) until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not become true in time"
        time.sleep(0.1)
