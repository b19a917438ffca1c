"""End to end on the sandbox daemon: `b`, fill the form, build, see the log, image selected."""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.pilot import ready, wait_for
from tui.app import ImagedeckApp
from tui.screens.build import BuildScreen
from tui.screens.build_log import BuildLogScreen
from tui.service import ImageService
from tui.widgets.build_log import FAILED, SUCCEEDED

pytestmark = pytest.mark.daemon

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DockerCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(autouse=True)
def legacy_builder(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are the legacy builder's (Step n/m headers): keep it where buildx exists.

    tests/ui/test_buildkit_daemon.py drives the same form with BuildKit.
    """
    monkeypatch.setenv("IMAGEDECK_BUILDER", "legacy")


def tries(seconds: float) -> int:
    """``wait_for``'s tries for ``seconds`` of a real build (pauses of 20 ms at least)."""
    return int(seconds / 0.02)


async def _build(pilot: Any, context: Path, tags: str) -> BuildLogScreen:
    """Wait for the list, open the form with b, fill it, start the build; the log screen.

    The build's end shows after the log's flush timer (bursts are coalesced): the tests poll
    for its status rather than only waiting for the build's worker."""
    app = pilot.app
    await ready(pilot)
    await pilot.press("b")
    await wait_for(pilot, lambda: isinstance(app.screen, BuildScreen), "the form")
    app.screen.query_one("#field-context").value = str(context)
    app.screen.query_one("#field-tags").focus()
    await pilot.press(*tags)
    await pilot.pause(0.3)
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: isinstance(app.screen, BuildLogScreen), "the log")
    return app.screen  # type: ignore[no-any-return]


async def leave_for_the_new_image(pilot: Any, reference: str) -> None:
    """Esc leaves the log; the list then selects ``reference`` (the build's first tag)."""
    images = pilot.app.images_screen
    await pilot.press("escape")
    await wait_for(
        pilot,
        lambda: (row := images.current_row()) is not None and row.reference == reference,
        "the new image selected in the list",
        tries(60),
    )


@contextlib.contextmanager
def tagged_a_and_b(docker_cli: DockerCli, repo: str) -> Iterator[None]:
    """The body builds ``repo``:a and :b; after it the daemon has both (docker CLI); then
    both are removed, whatever happened."""
    try:
        yield
        out = docker_cli("images", "--format", "{{.Repository}}:{{.Tag}}", repo).stdout
        assert set(out.split()) == {f"{repo}:a", f"{repo}:b"}
    finally:
        with contextlib.suppress(Exception):
            docker_cli("rmi", f"{repo}:a", f"{repo}:b")


async def test_build_from_the_keyboard_on_the_daemon(sandbox: Any, docker_cli: DockerCli) -> None:
    repo = f"test/build-{uuid.uuid4().hex[:8]}"
    app = ImagedeckApp(ImageService.connect)
    with tagged_a_and_b(docker_cli, repo):
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await _build(pilot, FIXTURES / "build-multi", f"{repo}:a {repo}:b")
            await wait_for(pilot, lambda: screen.run.model.status != "running", "end", tries(60))
            model = screen.run.model
            assert model.status == SUCCEEDED, model.error
            assert [s.number for s in model.steps][-1] == model.steps[-1].total
            assert "greeting=hello" in [line for s in model.steps for line in s.lines]
            await leave_for_the_new_image(pilot, f"{repo}:a")


async def test_tutorial_dockerfile_fails_cleanly_in_the_log(sandbox: Any) -> None:
    app = ImagedeckApp(ImageService.connect)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _build(pilot, FIXTURES / "tutorial", "runoob/centos:6.7")
        await wait_for(pilot, lambda: screen.run.model.status != "running", "end", tries(60))
        model = screen.run.model
        assert model.status == FAILED
        failed = model.failed_step
        assert failed is not None and failed.number == 1 and not failed.collapsed
        assert failed.error[0].startswith("Cannot pull centos:6.7:")
        assert "Cannot pull centos:6.7" in str(screen.query_one("#build-log-status").render())
