"""No daemon call on the UI thread (issue 11, point 9): a stopped daemon never freezes the UI.

imagedeck talks to the sandbox daemon through a proxy (tests/daemon_proxy.py) that the test
freezes, as ``kill -STOP dockerd`` would: connections are accepted, nothing is answered. Every
screen must still open and answer its keys. The time from a key to its effect is measured (the
issue asks for 100 ms; this is the one place a test times something): a call made on the UI
thread would block until the service's timeout instead.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual import events

from tests.conftest import Sandbox
from tests.daemon_proxy import DaemonProxy
from tests.ui.pilot import ready
from tui.app import ImagedeckApp
from tui.service import ImageService

pytestmark = pytest.mark.daemon


def open_bound() -> float:
    """OPEN_BOUND stretched like the key bound, but always well under SERVICE_TIMEOUT."""
    return min(OPEN_BOUND * key_bound() / 0.100, SERVICE_TIMEOUT / 2)


def key_bound() -> float:
    """100 ms (issue 11: "answers a key within 100 ms"), stretched by the machine's load.

    On 2 cores shared by several test runs (load 4-8) Textual's own handling of a key, with no
    daemon involved at all, takes 100-250 ms. The bound grows with the load per core (at most
    tenfold); a daemon call on the UI thread still blows it by far, as it waits the whole
    SERVICE_TIMEOUT.
    """
    per_core = os.getloadavg()[0] / (os.cpu_count() or 1)
    return 0.100 * min(max(per_core, 1.0), 10.0)


#: Opening a screen composes and mounts it, which on a loaded 2-core machine can take longer
#: than one key (stretched by the load as the key bound is); a call on the UI thread would
#: still take the whole service timeout.
OPEN_BOUND = 1.0
#: The service's request timeout in these tests (a blocked UI thread waits this long).
SERVICE_TIMEOUT = 5


@pytest.fixture
def proxy(sandbox: Sandbox, tmp_path: Path) -> Iterator[DaemonProxy]:
    """A proxy to the sandbox daemon, thawed and closed after the test."""
    found = DaemonProxy(sandbox.socket_path, tmp_path / "docker.sock")
    yield found
    found.thaw()
    found.close()


def proxied_app(proxy: DaemonProxy) -> ImagedeckApp:
    """imagedeck connected through ``proxy`` (no prefetch: everything goes through it)."""
    return ImagedeckApp(
        lambda: ImageService.connect(proxy.docker_host, timeout=SERVICE_TIMEOUT),
        host_hint=proxy.docker_host,
    )


async def timed(app: ImagedeckApp, key: str, effect: Callable[[], bool]) -> float:
    """Seconds from a key reaching the app until its effect shows (or its handler has run).

    The key is sent as the terminal driver sends it; the time ends at the effect (a screen
    opened or closed, the focus or cursor moved) or, for a key whose effect cannot be seen from
    here, when the screen has handled it (a callback queued behind it has run). Repainting
    afterwards is not counted: that is Textual's work, not a daemon call.
    """
    handled = asyncio.Event()
    screen = app.screen
    char = {"escape": "\x1b", "enter": "\r", "question_mark": "?"}.get(key, key)
    start = time.monotonic()
    app._driver.send_message(events.Key(key, char))  # type: ignore[union-attr]
    app.call_later(lambda: screen.call_later(handled.set))
    while not (effect() or handled.is_set()):
        if time.monotonic() - start > 2 * SERVICE_TIMEOUT:
            break
        await asyncio.sleep(0.001)
    return time.monotonic() - start


# (keys that open it, the screen's class, the key that leaves it)
SCREENS = [
    ("h", "HistoryScreen", "escape"),
    ("i", "InspectScreen", "escape"),
    ("l", "LayersScreen", "escape"),
    ("c", "ContainersScreen", "escape"),
    ("s", "SearchScreen", "escape"),
    ("T", "TransfersScreen", "escape"),
    ("p", "PullDialog", "escape"),
    ("t", "TagDialog", "escape"),
    ("d", "DeleteDialog", "escape"),
    ("X", "PruneWizard", "escape"),
    ("question_mark", "HelpScreen", "escape"),
    ("b", "BuildScreen", "escape"),
    ("C", "ContextsScreen", "escape"),
    ("L", "ResultsLogScreen", "escape"),
    ("D", "DiskMapScreen", "escape"),
    # The case: Enter in the run dialog inspected the image on the UI thread.
    ("r", "RunDialog", "enter"),
]


async def open_and_leave(
    app: ImagedeckApp, pilot: Any, images: Any, open_key: str, name: str, leave_key: str
) -> tuple[float, float]:
    """Open screen ``name`` with ``open_key`` and leave it with ``leave_key`` (up to 3 presses:
    a field that has the focus takes the first Esc). The opening's time, the slowest leave key's.
    """
    images.model.select_reference("demo/app:1.2")
    await pilot.pause(0.05)
    opened = await timed(app, open_key, lambda: type(app.screen).__name__ == name)
    await pilot.pause(0.05)  # let it mount (not timed)
    assert type(app.screen).__name__ == name, f"{open_key} did not open {name}"
    slowest = 0.0
    for _ in range(3):
        if app.screen is images:
            break
        screen, focused = app.screen, app.screen.focused
        took = await timed(
            app, leave_key, lambda s=screen, f=focused: app.screen is not s or s.focused is not f
        )
        # The loop must stay free after the key too (a dialog's answer runs after it closed):
        # a short sleep that wakes late means something held the UI thread.
        start = time.monotonic()
        await asyncio.sleep(0.05)
        stalled = time.monotonic() - start - 0.05
        slowest = max(slowest, took, stalled)
    assert app.screen is images, f"{leave_key} did not leave {name}"
    # What the dialog's answer started (the run dialog's Enter) must not hold the list up.
    before = images.model.current()
    slowest = max(slowest, await timed(app, "j", lambda: images.model.current() != before))
    return opened, slowest


async def test_every_screen_answers_keys_while_the_daemon_is_stopped(
    proxy: DaemonProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = threading.Event()
    monkeypatch.setattr("tui.modals.run.RUNNER", lambda argv: ran.set() or 0)
    app = proxied_app(proxy)
    slow: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        images = await ready(pilot)
        assert images.model.select_reference("demo/app:1.2")
        proxy.freeze()  # kill -STOP: from here on the daemon answers nothing

        # A loaded machine (2 cores, other test runs) can delay one key by itself; a call on
        # the UI thread delays every try by the service timeout. So each check gets 3 tries
        # and counts its fastest.
        best = 10.0
        for _ in range(3):
            before = images.model.current()
            best = min(best, await timed(app, "j", lambda b=before: images.model.current() != b))
            if best <= key_bound():
                break
        if best > key_bound():
            slow.append(f"images j: {best * 1000:.0f} ms")

        for open_key, name, leave_key in SCREENS:
            best_open = best_leave = 10.0
            for _ in range(3):
                opened, left = await open_and_leave(app, pilot, images, open_key, name, leave_key)
                best_open, best_leave = min(best_open, opened), min(best_leave, left)
                if best_open <= open_bound() and best_leave <= key_bound():
                    break
            if best_open > open_bound():
                slow.append(f"{name} opening: {best_open * 1000:.0f} ms")
            if best_leave > key_bound():
                slow.append(f"{name} {leave_key}: {best_leave * 1000:.0f} ms")

        proxy.thaw()
        await pilot.pause(0.5)
    assert not slow, "keys answered late with the daemon stopped: " + "; ".join(slow)
