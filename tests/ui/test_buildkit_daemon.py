"""The build form and log with BuildKit, end to end on the sandbox daemon (buildx 0.13.1).

Engine-dependent expectations say so by name: Engine 20.10's BuildKit has no heredocs, so there
the modern Dockerfile is the cache-mount one (tests/fixtures/buildkit-cache-mount).
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Checkbox

from tests.service.test_buildkit import buildx_config  # noqa: F401 - the fixture
from tests.ui.pilot import ready, settle, wait_for
from tests.ui.test_build_daemon import _build, leave_for_the_new_image, tagged_a_and_b, tries
from tui.app import ImagedeckApp
from tui.screens.build import BuildScreen
from tui.service import ImageService
from tui.widgets.build_log import FAILED, SUCCEEDED

pytestmark = pytest.mark.daemon

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DockerCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(autouse=True)
def with_buildx(buildx_config: str, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """The app's docker CLI finds buildx; the builder is chosen as a user's would be."""
    monkeypatch.setenv("DOCKER_CONFIG", buildx_config)
    monkeypatch.delenv("IMAGEDECK_BUILDER", raising=False)


async def test_modern_dockerfile_from_b(sandbox: Any, docker_cli: DockerCli, engine: Any) -> None:
    repo = f"test/bk-ui-{uuid.uuid4().hex[:8]}"
    modern = "buildkit-cache-mount" if engine.name == "docker-20.10" else "buildkit-modern"
    app = ImagedeckApp(ImageService.connect)
    with tagged_a_and_b(docker_cli, repo):
        async with app.run_test(size=(120, 40)) as pilot:
            await ready(pilot)
            await pilot.press("b")
            await wait_for(pilot, lambda: isinstance(app.screen, BuildScreen), "the form")
            form = app.screen
            assert isinstance(form, BuildScreen)
            await settle(pilot)  # the builder probe (a worker) has answered
            assert form.builder is not None
            label = str(form.query_one("#build-builder").render())
            assert label.startswith("Builder: BuildKit (buildx 0.13.1, builder ")
            assert "docker driver" in label
            # No cache: the steps run (and print) even when an earlier test built them.
            form.query_one("#field-nocache", Checkbox).value = True
            await pilot.pause(0.1)
            await pilot.press("escape")
            screen = await _build(pilot, FIXTURES / modern, f"{repo}:a {repo}:b")
            await wait_for(
                pilot, lambda: screen.run.model.status != "running", "the end", tries(120)
            )
            model = screen.run.model
            assert model.status == SUCCEEDED, model.error
            steps = {s.header: s for s in model.by_key.values()}
            mount = next(s for h, s in steps.items() if "--mount=type=cache" in h)
            assert mount.state in ("done", "cached") and mount.ended is not None
            assert all(s.finished and s.ended is not None for s in steps.values())
            finished, known, _cached = model.counter()
            assert finished == known == len(steps)
            header = str(screen.query_one("#build-log-header").render())
            assert f"BuildKit {known}/{known} steps" in header
            cat = next(s for h, s in steps.items() if h.startswith("[final") and "RUN cat" in h)
            if engine.name == "docker-20.10":
                assert list(cat.lines) == ["hello from the cache-mount fixture"]
            else:
                assert list(cat.lines)[:2] == ["heredoc line one", "heredoc line two"]
            await leave_for_the_new_image(pilot, f"{repo}:a")


async def test_tutorial_dockerfile_fails_readably_with_buildkit(sandbox: Any) -> None:
    app = ImagedeckApp(ImageService.connect)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _build(pilot, FIXTURES / "tutorial", "runoob/centos:6.7")
        await wait_for(pilot, lambda: screen.run.model.status != "running", "the end", tries(120))
        model = screen.run.model
        assert model.status == FAILED
        failed = model.failed_step
        assert failed is not None and failed.key and not failed.collapsed
        assert failed.header == "[internal] load metadata for docker.io/library/centos:6.7"
        assert failed.error[0].startswith("Cannot pull docker.io/library/centos:6.7: ")
        status = str(screen.query_one("#build-log-status").render())
        assert "Cannot pull docker.io/library/centos:6.7" in status


async def test_cancel_from_the_log(sandbox: Any, docker_cli: DockerCli) -> None:
    from tui.modals.build_dialogs import CancelBuildDialog
    from tui.widgets.build_log import CANCELLED

    repo = f"test/bk-ui-{uuid.uuid4().hex[:8]}"
    app = ImagedeckApp(ImageService.connect)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, BuildScreen), "the form")
        form = app.screen
        form.query_one("#field-context").value = str(FIXTURES / "build-cancel")
        form.query_one("#field-buildargs").value = f"NONCE={uuid.uuid4().hex}"
        form.query_one("#field-tags").focus()
        await pilot.press(*f"{repo}:x")
        await pilot.pause(0.3)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: hasattr(app.screen, "run"), "the log")
        screen = app.screen
        model = screen.run.model  # type: ignore[attr-defined]

        def sleeping() -> bool:
            return any("sleeping" in s.lines for s in model.by_key.values())

        await wait_for(pilot, sleeping, "the sleeping step's output", tries(120))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, CancelBuildDialog), "the question")
        await pilot.press("y")
        await wait_for(pilot, lambda: model.status == CANCELLED, "the cancel", tries(60))
        running = [s for s in model.by_key.values() if "sleep 30" in s.header]
        assert running and running[0].state == "cancelled"
        assert any(r.startswith("cache ") for r in model.removed)
    assert docker_cli("images", "-q", repo).stdout.strip() == ""
