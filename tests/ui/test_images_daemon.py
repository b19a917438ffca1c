"""The list screen end to end against the real sandbox daemon."""

from __future__ import annotations

import uuid

import pytest
from textual.widgets import Static

from tests.conftest import BASE_IMAGE, DockerCli, Sandbox
from tests.ui.test_images_screen import ready, refs, wait_for
from tui.app import ImagedeckApp
from tui.screens.daemon_down import DaemonDownScreen
from tui.service import ImageService

pytestmark = pytest.mark.daemon


def real_app(host: str) -> ImagedeckApp:
    return ImagedeckApp(lambda: ImageService.connect(host, timeout=5), host_hint=host)


async def test_a_tag_made_with_the_cli_appears_live(
    sandbox: Sandbox, docker_cli: DockerCli
) -> None:
    target = f"test/live-{uuid.uuid4().hex[:8]}"
    app = real_app(sandbox.docker_host)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await ready(pilot)
            assert "demo/app:10.0" in refs(screen)
            await pilot.press("slash", *"test/live", "enter")
            docker_cli("tag", BASE_IMAGE, f"{target}:v1", check=True)
            await wait_for(pilot, lambda: f"{target}:v1" in refs(screen), "the CLI's tag")
            # The filter stayed: only rows that match it are shown.
            assert all("test/live" in r for r in refs(screen))
            docker_cli("rmi", f"{target}:v1", check=True)
            await wait_for(pilot, lambda: f"{target}:v1" not in refs(screen), "the untag")
    finally:
        docker_cli("rmi", f"{target}:v1")


async def test_dead_socket_gives_the_daemon_down_screen(tmp_path) -> None:  # type: ignore[no-untyped-def]
    host = f"unix://{tmp_path}/dead.sock"
    app = real_app(host)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DaemonDownScreen), "down screen")

        def shown() -> str:
            return " ".join(str(w.render()) for w in app.screen.query(Static))

        # The screen is pushed before it has composed its text: wait for the words.
        await wait_for(pilot, lambda: host in shown(), "the host on screen")
        assert "socket does not exist" in shown()
        await pilot.press("q")
    assert app.return_code == 0


async def test_containers_screen_follows_daemon_events(
    sandbox: Sandbox, docker_cli: DockerCli
) -> None:
    from tui.screens.containers import ContainersScreen

    name = f"t-ev-{uuid.uuid4().hex[:8]}"
    app = real_app(sandbox.docker_host)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await ready(pilot)
            await pilot.press("c")
            await wait_for(pilot, lambda: isinstance(app.screen, ContainersScreen), "containers")
            screen = app.screen
            assert isinstance(screen, ContainersScreen)
            if not screen.show_all:
                await pilot.press("a")
            await wait_for(pilot, lambda: screen.loaded, "the first load")
            docker_cli("create", "--name", name, BASE_IMAGE, "true", check=True)
            await wait_for(
                pilot, lambda: name in [c.name for c in screen.containers], "the new container"
            )
            docker_cli("rm", name, check=True)
            await wait_for(
                pilot, lambda: name not in [c.name for c in screen.containers], "its removal"
            )
    finally:
        docker_cli("rm", "-f", name)
