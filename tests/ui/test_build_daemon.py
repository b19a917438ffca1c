"""End to end on the sandbox daemon: `b`, fill the form, build, see the log, image selected."""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

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


async def _until(pilot: Any, condition: Any, what: str, seconds: float = 60) -> None:
    for _ in range(int(seconds / 0.05)):
        await pilot.pause(0.05)
        if condition():
            return
    raise AssertionError(f"never happened: {what}")


async def _build(pilot: Any, context: Path, tags: str) -> BuildLogScreen:
    app = pilot.app
    await _until(pilot, lambda: app.images_screen.loaded, "the image list")
    await pilot.press("b")
    await _until(pilot, lambda: isinstance(app.screen, BuildScreen), "the form")
    app.screen.query_one("#field-context").value = str(context)
    app.screen.query_one("#field-tags").focus()
    await pilot.press(*tags)
    await pilot.pause(0.3)
    await pilot.press("ctrl+s")
    await _until(pilot, lambda: isinstance(app.screen, BuildLogScreen), "the log")
    return app.screen  # type: ignore[no-any-return]


async def test_build_from_the_keyboard_on_the_daemon(sandbox: Any, docker_cli: DockerCli) -> None:
    repo = f"test/build-{uuid.uuid4().hex[:8]}"
    app = ImagedeckApp(ImageService.connect)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await _build(pilot, FIXTURES / "build-multi", f"{repo}:a {repo}:b")
            await _until(pilot, lambda: screen.run.model.status != "running", "the end")
            model = screen.run.model
            assert model.status == SUCCEEDED, model.error
            assert [s.number for s in model.steps][-1] == model.steps[-1].total
            assert "greeting=hello" in [line for s in model.steps for line in s.lines]
            await pilot.press("escape")
            await _until(
                pilot,
                lambda: (
                    (row := app.images_screen.current_row()) is not None
                    and row.reference == f"{repo}:a"
                ),
                "the new image selected in the list",
            )
        out = docker_cli("images", "--format", "{{.Repository}}:{{.Tag}}", repo).stdout
        assert set(out.split()) == {f"{repo}:a", f"{repo}:b"}
    finally:
        with contextlib.suppress(Exception):
            docker_cli("rmi", f"{repo}:a", f"{repo}:b")


async def test_tutorial_dockerfile_fails_cleanly_in_the_log(sandbox: Any) -> None:
    app = ImagedeckApp(ImageService.connect)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _build(pilot, FIXTURES / "tutorial", "runoob/centos:6.7")
        await _until(pilot, lambda: screen.run.model.status != "running", "the end")
        model = screen.run.model
        assert model.status == FAILED
        failed = model.failed_step
        assert failed is not None and failed.number == 1 and not failed.collapsed
        assert failed.error[0].startswith("Cannot pull centos:6.7:")
        assert "Cannot pull centos:6.7" in str(screen.query_one("#build-log-status").render())
