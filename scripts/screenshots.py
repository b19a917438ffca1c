#!/usr/bin/env python3
"""Regenerate `screenshots/` (SVG, 120x40) from the sandbox daemon's state.

Run with `make screenshots` (inside the sandbox's namespace). Each entry of SHOTS opens the app
against the real daemon, presses keys as a person would, waits, and saves the screen.
Screens added by later work append their entry to SHOTS.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tui.app import ImagedeckApp  # noqa: E402
from tui.service import ImageService  # noqa: E402


@dataclass(frozen=True)
class Shot:
    """One screenshot: a file name, the keys to press after the list loads, and a wait."""

    name: str
    keys: tuple[str, ...] = ()
    wait: float = 1.0
    size: tuple[int, int] = (120, 40)
    host: str | None = None
    fleet: bool = False  # the fleet view over the sandbox daemon and its peer (issue 17)


def build_form_keys(context: str, tag: str) -> tuple[str, ...]:
    """Open the build form (`b`), replace the context directory, and type one tag."""
    to_context = ("shift+tab",) * 3 + ("ctrl+a", "ctrl+k")
    return ("b", *to_context, *context, "tab", "tab", "tab", *tag)


SHOTS: list[Shot] = [
    Shot("images", ()),
    Shot("images-filter", ("slash", "d", "e", "m", "o", "slash", "a", "p", "p")),
    Shot("help", ("question_mark",)),
    Shot("daemon-down", (), host="unix:///nonexistent/docker.sock"),
    # Pull, transfers, search (issue 5). The seeded 127.0.0.1:5000/demo/app:1.0 is present, so
    # this pull only checks the registry ("Image is up to date") and changes nothing.
    Shot("pull-dialog", ("p", *"127.0.0.1:5000/demo/app:1.0")),
    Shot("transfers", ("p", *"127.0.0.1:5000/demo/app:1.0", "enter"), wait=3.0),
    Shot("search", ("s", *"127.0.0.1:5001/a", "enter"), wait=2.0),
    Shot("search-catalog", ("s", *"127.0.0.1:5000/demo", "enter"), wait=2.0),
    # Look inside an image (issue 4): history, inspect with a path query, layers and waste.
    Shot("history", ("slash", *"wasted", "enter", "h"), wait=1.5),
    Shot("inspect", ("slash", *"wasted", "enter", "i", "full_stop", *"Config.Env", "enter")),
    Shot("layers", ("slash", *"wasted", "enter", "l", "down"), wait=2.0),
    # Cleanup (issue 3). Nothing is confirmed: the delete dialog and the wizard preview stay
    # open, and the conflict is the daemon refusing demo/stopped (nothing changes).
    Shot("delete-confirm", ("slash", *"demo/app", "enter", "a", "d"), wait=1.5),
    Shot("delete-conflict", ("slash", *"stopped", "enter", "d", "y"), wait=2.0),
    Shot("cleanup-wizard", ("X",)),
    Shot("cleanup-preview", ("X", "down", "enter", "p"), wait=2.0),
    Shot("tag-dialog", ("slash", *"wasted", "enter", "t", *"-v2")),
    Shot("containers", ("slash", *"stopped", "enter", "c", "a"), wait=2.0),
    # Build and commit (issue 6). The build shot is the tutorial's Dockerfile failing cleanly
    # (no network: "Cannot pull centos:6.7"), so nothing is created; the commit dialog is not
    # confirmed.
    Shot("build-form", build_form_keys("tests/fixtures/build-multi", "demo/built:1.0")),
    Shot(
        "build-log-tutorial",
        (*build_form_keys("tests/fixtures/tutorial", "runoob/centos:6.7"), "ctrl+s"),
        wait=3.0,
    ),
    Shot(
        "commit-dialog",
        (
            "slash",
            *"stopped",
            "enter",
            "c",
            "c",
            *"runoob/ubuntu:v2",
            "tab",
            *"has update",
            "tab",
            *"runoob",
            "tab",
            *'CMD ["cat", "/stopped.txt"]',
        ),
        wait=1.5,
    ),
    # Disk map and retention rules (issue 16): the map only reads; the rules' preview is not
    # confirmed (and protects the seeded repositories anyway).
    Shot("disk-map", ("D",), wait=2.0),
    Shot(
        "retention-preview",
        ("X", "r", "1", "tab", "tab", "tab", *"imagedeck/* hostile/*", "enter"),
        wait=2.5,
    ),
    # Archives (issue 17): the save dialog for the marked demo/app tags and the load dialog with
    # a file typed; neither is started, so nothing is written or loaded.
    Shot("archive-save", ("slash", *"demo/app", "enter", "a", "S"), wait=1.5),
    Shot("archive-load", ("I", *"images.tar"), wait=1.5),
    Shot("fleet", ("o", "o", "home"), fleet=True),
    Shot("fleet-cleanup-preview", ("X", "d"), wait=2.5, fleet=True),
]


async def open_fleet(app: ImagedeckApp, pilot: Any) -> bool:
    """Open the fleet view over the sandbox daemon and its peer (False without a peer)."""
    import os

    from tui.screens.fleet import FleetScreen
    from tui.service.fleet import Fleet, parse_members

    peer = os.environ.get("IMAGEDECK_SANDBOX_PEER_HOST", "")
    if not peer:
        print("fleet screenshots need the sandbox's peer daemon: skipped")
        return False
    main = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    screen = FleetScreen(Fleet(parse_members([f"build-1={main}", f"build-2={peer}"])))
    app.push_screen(screen)
    for _ in range(100):
        await pilot.pause(0.05)
        if screen.listing is not None:
            return True
    return True


async def take(shot: Shot, out: Path) -> None:
    """Run the app headless, press the shot's keys, save an SVG."""

    def factory() -> ImageService:
        return ImageService.connect(shot.host)

    app = ImagedeckApp(factory, host_hint=shot.host or "")
    async with app.run_test(size=shot.size) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if app.images_screen.loaded and app.images_screen.usage is not None:
                break
            if shot.host and app.screen is not app.images_screen:
                break
        if shot.fleet and not await open_fleet(app, pilot):
            return
        for key in shot.keys:
            await pilot.press(key)
        await pilot.pause(shot.wait)
        app.save_screenshot(filename=f"{shot.name}.svg", path=str(out))
    print(f"screenshots/{shot.name}.svg")


# `imagedeck serve` (issue 17): the page in headless chromium, as a PNG (a browser's pixels,
# not Textual's SVG). Needs Debian's chromium and Playwright (`make screenshots` installs both).
BROWSER_SHOT = "serve"


def take_browser(out: Path, wait: float = 3.0) -> None:
    """Start `imagedeck serve` on a free loopback port, open it in chromium, save a PNG."""
    import shutil
    import signal
    import socket
    import subprocess
    import time

    from playwright.sync_api import sync_playwright

    from tests.e2e.browser import CHROMIUM_ARGS

    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("screenshots: chromium is missing (apt-get install chromium)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = subprocess.Popen(
        [sys.executable, "-m", "tui", "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                page.goto(f"http://127.0.0.1:{port}/")
                # The terminal's first bytes arrived; then the list and its usage columns.
                page.wait_for_function("document.body.classList.contains('-first-byte')")
                page.wait_for_timeout(wait * 1000)
                page.screenshot(path=str(out / f"{BROWSER_SHOT}.png"))
            finally:
                browser.close()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
    print(f"screenshots/{BROWSER_SHOT}.png")


async def main(names: list[str]) -> None:
    """Take every shot, or only the named ones."""
    out = ROOT / "screenshots"
    out.mkdir(exist_ok=True)
    for shot in SHOTS:
        if not names or shot.name in names:
            await take(shot, out)
    if not names or BROWSER_SHOT in names:
        # Playwright's sync API wants a thread without a running event loop.
        await asyncio.to_thread(take_browser, out)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
