"""The context switcher: `C` / the palette, pick a context, reconnect, reload every screen.

Fast tests use fake services per context; the daemon tests use real Docker contexts (made with
the docker CLI in a temporary DOCKER_CONFIG) pointing at the sandbox over tcp+TLS and at a
dead socket.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.service.test_remote import Remote, remote  # noqa: F401 - the fixture
from tests.ui.fake import FakeService, make_app, make_image
from tests.ui.test_images_screen import ready, refs, wait_for
from tui.modals.contexts import ContextsScreen
from tui.screens.daemon_down import DaemonDownScreen
from tui.service.connection import ContextInfo, Endpoint
from tui.service.errors import DaemonUnreachable

CONTEXTS = [
    ContextInfo("default", "unix:///fake/docker.sock", "the local daemon", current=True),
    ContextInfo("build-box", "ssh://me@build-box", "CI builder"),
    ContextInfo("gone", "unix:///nonexistent.sock"),
]


class BoxService(FakeService):
    """The other daemon: its own host and images."""

    def __init__(self) -> None:
        super().__init__([make_image(40, ("box/only:here",)), make_image(41, ("box/too:1",))])
        self.endpoint = Endpoint("ssh://me@build-box", "--context", "build-box")


def context_app(default: FakeService | None = None) -> Any:
    """An app whose contexts are fakes: default, build-box (BoxService) and gone (down)."""
    local = default or FakeService()
    box = BoxService()
    local.endpoint = Endpoint("unix:///fake/docker.sock", "default", "default")

    def connect(name: str) -> Any:
        if name == "gone":
            raise DaemonUnreachable(
                "unix:///nonexistent.sock (context gone)", "the socket does not exist"
            )
        return {"default": local, "build-box": box}[name]

    return make_app(local, context_factory=connect, context_lister=lambda: list(CONTEXTS))


def header(app: Any) -> str:
    return str(app.images_screen.query_one("#header").render())


async def open_from_palette(pilot: Any) -> None:
    """ctrl+p, type the command, run the first match."""
    from textual.command import CommandList, CommandPalette

    app = pilot.app
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
    await pilot.press(*"switch docker")
    commands = app.screen.query_one(CommandList)
    await wait_for(pilot, lambda: commands.option_count > 0, "a matching command")
    await pilot.press("down", "enter")


async def choose(pilot: Any, name: str, key: str = "C") -> None:
    """Open the switcher with ``key`` and pick ``name``."""
    app = pilot.app
    if key == "ctrl+p":
        await open_from_palette(pilot)
    else:
        await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(app.screen, ContextsScreen), "the switcher")
    names = [c.name for c in app.screen.contexts]
    options = app.screen.query_one("#contexts-list")
    while options.highlighted != names.index(name):
        await pilot.press("down" if options.highlighted < names.index(name) else "up")
    await pilot.press("enter")


async def test_switch_reloads_the_list_and_the_header() -> None:
    app = context_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        assert "demo/app:1.0" in refs(screen)
        await choose(pilot, "build-box")
        await wait_for(pilot, lambda: "box/only:here" in refs(screen), "the other daemon's rows")
        assert "demo/app:1.0" not in refs(screen)
        assert "ssh://me@build-box (context build-box)" in header(app)
        # The palette offers the same switch.
        await choose(pilot, "default", key="ctrl+p")
        await wait_for(pilot, lambda: "demo/app:1.0" in refs(screen), "the first daemon again")


async def test_switcher_marks_the_context_in_use_and_esc_keeps_it() -> None:
    app = context_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        await pilot.press("C")
        await wait_for(pilot, lambda: isinstance(app.screen, ContextsScreen), "the switcher")
        first = str(app.screen.query_one("#contexts-list").get_option_at_index(0).prompt)
        assert first.startswith("▸ default") and "in use" in first
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, "the list")
        assert "demo/app:1.0" in refs(screen)


async def test_dead_context_shows_the_daemon_down_screen_and_palette_gets_back() -> None:
    app = context_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        await choose(pilot, "gone")
        await wait_for(pilot, lambda: isinstance(app.screen, DaemonDownScreen), "daemon down")
        assert "context gone" in str(app.screen.query_one("#down-host").render())
        assert screen.images == []  # no rows of the previous daemon left behind
        await choose(pilot, "build-box", key="ctrl+p")
        await wait_for(pilot, lambda: "box/only:here" in refs(screen), "the other daemon")
        assert app.screen is screen


async def test_pending_state_names_the_daemon_and_the_ui_answers() -> None:
    import threading

    app = context_app()
    release = threading.Event()

    def slow(name: str) -> Any:
        release.wait(10)  # a slow link: the connect takes its time
        return BoxService()

    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        app.context_factory = slow
        app.switch_context("build-box")
        await pilot.pause()
        banner = screen.query_one("#banner")
        assert banner.display
        assert str(banner.render()) == "⧗ Connecting to ssh://me@build-box (context build-box)…"
        assert "ssh://me@build-box (context build-box)" in header(app)
        assert refs(screen) == []
        # The UI still answers while the connect waits.
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: app.screen is not screen, "the help")
        await pilot.press("escape")
        release.set()
        await wait_for(pilot, lambda: "box/only:here" in refs(screen), "the rows")
        assert not banner.display


# -- against the sandbox daemon --------------------------------------------------------------


@pytest.fixture
def contexts_config(remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:  # noqa: F811
    """DOCKER_CONFIG with `sandbox-tls` (the sandbox over TLS) and `dead` contexts."""
    config = tmp_path / "docker-config"
    config.mkdir()
    env = {"DOCKER_CONFIG": str(config), "PATH": os.environ.get("PATH", "")}
    c = remote.client_certs
    for name, endpoint in (
        ("sandbox-tls", f"host={remote.tls_host},ca={c}/ca.pem,cert={c}/cert.pem,key={c}/key.pem"),
        ("dead", "host=unix:///nonexistent/docker.sock"),
    ):
        subprocess.run(
            ["docker", "context", "create", name, "--docker", endpoint],
            check=True, env=env, capture_output=True,
        )  # fmt: skip
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    return config


@pytest.mark.daemon
async def test_switch_to_real_contexts(contexts_config: Path, sandbox: Any) -> None:
    from tui.app import ImagedeckApp
    from tui.service import ImageService

    app = ImagedeckApp(lambda: ImageService.connect(sandbox.docker_host), host_hint="sandbox")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        assert "demo/app:1.0" in refs(screen)
        await choose(pilot, "sandbox-tls")
        await wait_for(
            pilot, lambda: "tcp://127.0.0.1:2376 (context sandbox-tls)" in header(app), "header"
        )
        await wait_for(pilot, lambda: screen.loaded and "demo/app:1.0" in refs(screen), "rows")
        assert app.service is not None and app.service.endpoint.context == "sandbox-tls"
        await choose(pilot, "dead")
        await wait_for(pilot, lambda: isinstance(app.screen, DaemonDownScreen), "daemon down")
        reason = str(app.screen.query_one("#down-reason").render())
        assert "the socket does not exist" in reason
        await choose(pilot, "sandbox-tls", key="ctrl+p")
        await wait_for(pilot, lambda: app.screen is screen and screen.loaded, "the list again")
        assert "demo/app:1.0" in refs(screen)
