"""`imagedeck serve` in a real browser: Debian's chromium, headless, against the sandbox daemon.

The server runs as a person runs it (``imagedeck serve --port N``) inside the sandbox's network
namespace, like the whole suite, so page, server and daemon all talk over loopback. Chromium
is driven through Playwright with ``executable_path`` (Playwright's own browser download is
never used); a missing chromium or Playwright fails under ``CI=true`` and skips elsewhere.

What the page shows: xterm.js draws the terminal on a canvas, so there is no text to read in
the DOM. An init script wraps the page's WebSocket and keeps, in order, every screen size the
page reports and every byte of terminal output it receives; the test feeds those to a pyte
screen of the same size, which is exactly what the page's terminal was given to draw. Keys go
the other way through the real page: Playwright presses them in the focused terminal.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyte
import pytest

from tests.conftest import DockerCli, Sandbox
from tests.e2e.browser import CHROMIUM_ARGS
from tests.e2e.harness import program_argv

pytestmark = pytest.mark.daemon

# Generous: 2 cores are shared by several test runs, a daemon and a browser.
DEADLINE = 60.0

# Runs before the page's own scripts: the page's WebSocket, with a copy of what it receives
# (terminal output, base64) and of the sizes it reports (in the URL, then "resize" messages).
RECORDER = """
(() => {
  const Original = window.WebSocket;
  const events = [];
  window.__ideckEvents = events;
  const b64 = (bytes) => {
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(text);
  };
  class Recording extends Original {
    constructor(url, protocols) {
      super(url, protocols);
      const query = new URL(url, window.location.href).searchParams;
      events.push({size: [Number(query.get("width")), Number(query.get("height"))]});
      this.addEventListener("message", (event) => {
        if (typeof event.data !== "string") events.push({data: b64(new Uint8Array(event.data))});
      });
    }
    send(message) {
      try {
        const parsed = JSON.parse(message);
        if (parsed[0] === "resize") events.push({size: [parsed[1].width, parsed[1].height]});
      } catch (error) {}
      return super.send(message);
    }
  }
  window.WebSocket = Recording;
})();
"""


def _unavailable(message: str) -> None:
    """Fail under CI (the browser test is part of the build there), skip elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(f"{message} (not CI: there this fails); `make test` installs it")


def chromium_path() -> str:
    """Debian's chromium (``make test`` installs it with apt-get)."""
    path = shutil.which("chromium")
    if path is None:
        _unavailable("chromium is not installed (apt-get install --no-install-recommends chromium)")
    assert path is not None
    return path


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    """A running ``imagedeck serve``: its URL and its output so far."""

    url: str
    port: int
    log: Path
    process: subprocess.Popen[bytes]

    def output(self) -> str:
        """What the server printed (for failure messages)."""
        return self.log.read_text(errors="replace")


@pytest.fixture
def served(sandbox: Sandbox, home: Path) -> Iterator[Served]:
    """``imagedeck serve`` on a free loopback port, against the sandbox daemon."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "DOCKER_CONTEXT")}
    environment.update(
        DOCKER_HOST=sandbox.docker_host,
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_STATE_HOME=str(home / "state"),
        DOCKER_CONFIG=str(home / "docker"),
        TEXTUAL_ANIMATIONS="none",
    )
    log = home / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            program_argv("serve", "--port", str(port)),
            env=environment,
            cwd=home,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: the app processes it starts go with it
        )
    server = Served(f"http://127.0.0.1:{port}/", port, log, process)
    try:
        deadline = time.monotonic() + DEADLINE
        while True:
            if process.poll() is not None:
                raise AssertionError(
                    f"imagedeck serve exited ({process.returncode}):\n{server.output()}"
                )
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"nothing listens on {port}:\n{server.output()}") from None
                time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # textual-serve's graceful exit
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        try:
            os.killpg(process.pid, signal.SIGKILL)  # an app process left behind, if any
        except ProcessLookupError:
            pass


@dataclass
class PageScreen:
    """The terminal of a served page, rebuilt from what the page received."""

    page: Any
    screen: pyte.Screen | None = None
    stream: pyte.ByteStream | None = None
    requests: list[str] = field(default_factory=list)
    opened: float = 0.0  # time.monotonic() when the browser was told to open the page

    def _pump(self) -> None:
        for event in self.page.evaluate("window.__ideckEvents.splice(0)"):
            if "size" in event:
                columns, lines = event["size"]
                if self.screen is None:
                    self.screen = pyte.Screen(columns, lines)
                    self.stream = pyte.ByteStream(self.screen)
                else:
                    self.screen.resize(lines, columns)
            elif self.stream is not None:
                self.stream.feed(base64.b64decode(event["data"]))

    def lines(self) -> list[str]:
        """The rows of the page's terminal now."""
        self._pump()
        return list(self.screen.display) if self.screen is not None else []

    def text(self) -> str:
        """The whole terminal as text."""
        return "\n".join(self.lines())

    def wait_until(self, check: Any, what: str, timeout: float = DEADLINE) -> str:
        """Poll until ``check(text)`` holds; fail with the page's terminal."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if check(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; the page shows:\n{text}")
            self.page.wait_for_timeout(50)

    def wait_for_text(self, *texts: str) -> str:
        """Wait until every one of ``texts`` is on the page."""
        return self.wait_until(lambda s: all(t in s for t in texts), f"{texts!r} on the page")

    def rows_with(self, text: str) -> list[str]:
        """The rows of the terminal that contain ``text``."""
        return [line for line in self.lines() if text in line]


@pytest.fixture
def browser_page(served: Served) -> Iterator[PageScreen]:
    """Headless chromium showing the served page, its terminal read as a PageScreen."""
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.add_init_script(RECORDER)
            watched = PageScreen(page)
            page.on("request", lambda request: watched.requests.append(request.url))
            watched.opened = time.monotonic()
            page.goto(served.url)
            yield watched
        finally:
            browser.close()


def test_the_page_shows_the_list_filters_and_helps(
    browser_page: PageScreen, served: Served, sandbox: Sandbox, docker_cli: DockerCli
) -> None:
    page = browser_page
    # The list, with its usage columns filled in (the summary's "on disk" comes from /system/df).
    text = page.wait_for_text("REPOSITORY", "demo/alias", "on disk")
    # Reported, not asserted (no timed assertions): seen with `pytest -s`.
    print(f"first list in the page {time.monotonic() - page.opened:.1f} s after opening it")
    assert page.lines()[0].lstrip().startswith("imagedeck")
    assert sandbox.docker_host in page.lines()[0], text

    # The rows of demo/alias are the daemon's own (docker CLI): each tag with its image ID.
    listed = docker_cli(
        "images", "demo/alias", "--format", "{{.Tag}} {{.ID}}", check=True
    ).stdout.split()
    tags = dict(zip(listed[::2], listed[1::2], strict=True))
    assert sorted(tags) == ["one", "two"]
    rows = [line.split() for line in page.rows_with("demo/alias")]
    shown = {tuple(r[r.index("demo/alias") + 1 : r.index("demo/alias") + 3]) for r in rows}
    assert shown == {(tag, short_id) for tag, short_id in tags.items()}, text
    assert page.rows_with("demo/app")

    # The page itself: the terminal received its first bytes and drew them (textual.js marks
    # the body), and everything the browser asked for came from this server.
    assert page.page.evaluate("document.body.classList.contains('-first-byte')")
    origin = f"127.0.0.1:{served.port}/"
    assert page.requests and all(
        url.split("://", 1)[1].startswith(origin) for url in page.requests
    ), page.requests

    # `/` opens the filter (wait for it: keys typed before it has focus go to the list), type,
    # Enter: only demo/alias' rows stay, and the summary says how many are shown.
    page.page.click("#terminal")
    page.page.keyboard.press("/")
    page.wait_for_text("filter: repository, tag or ID")
    page.page.keyboard.type("demo/alias")
    page.page.keyboard.press("Enter")
    text = page.wait_until(
        lambda s: f"({len(tags)} shown)" in s and "demo/app" not in s, "the filtered list"
    )
    assert len(page.rows_with("demo/alias")) == len(tags) + 1, text  # the rows and the field

    # `?` opens the help with every key, over the list; Escape closes it.
    page.page.keyboard.press("?")
    text = page.wait_for_text("Keys", "Filter as you type", "Help with every key")
    page.page.keyboard.press("Escape")
    page.wait_until(lambda s: "Help with every key" not in s, "the help closed")
    assert served.process.poll() is None, served.output()


def test_ctrl_c_with_a_page_open_ends_the_server_and_its_app(
    browser_page: PageScreen, served: Served
) -> None:
    """Ctrl+C ends the server and the page's imagedeck with it; the page says so."""
    page = browser_page
    page.wait_for_text("REPOSITORY", "demo/alias")
    group = served.process.pid  # the server leads its own process group (see `served`)
    members = subprocess.run(["pgrep", "-g", str(group)], capture_output=True, text=True)
    assert set(members.stdout.split()) - {str(group)}, "no imagedeck process behind the page"
    served.process.send_signal(signal.SIGINT)
    assert served.process.wait(timeout=DEADLINE) == 0, served.output()
    left = subprocess.run(["pgrep", "-g", str(group)], capture_output=True, text=True).stdout
    assert not left.split(), f"left behind: {left}"
    page.page.wait_for_function("document.body.classList.contains('-closed')")
    assert page.page.locator(".closed-dialog .message").inner_text() == "Session ended."


def handshake(port: int, origin: str | None) -> str:
    """The status line of a WebSocket handshake to the server, sent with ``origin``."""
    request = [
        "GET /ws?width=80&height=24 HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Connection: Upgrade",
        "Upgrade: websocket",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    ]
    if origin is not None:
        request.append(f"Origin: {origin}")
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as sock:
        sock.sendall(("\r\n".join(request) + "\r\n\r\n").encode())
        answer = b""
        while b"\r\n" not in answer and (chunk := sock.recv(4096)):
            answer += chunk
    return answer.split(b"\r\n", 1)[0].decode(errors="replace")


def test_a_page_from_another_site_cannot_open_the_app(served: Served) -> None:
    """A web site the user visits must not reach the daemon through ws://127.0.0.1:PORT."""
    for origin in ("http://evil.example", f"http://evil.example:{served.port}", "null"):
        assert " 403 " in handshake(served.port, origin), origin
    assert " 101 " in handshake(served.port, f"http://localhost:{served.port}")
    assert "refused a WebSocket from origin http://evil.example" in served.output()
