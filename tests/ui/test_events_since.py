"""Changes made right after the first list appears are shown: events start at that list.

The app is started as ``imagedeck`` starts it (the stdlib prefetch of the list on the local
socket, then docker-py) and also without the prefetch. At the very moment the first list is
drawn (inside the screen's first ``_apply``, before anything else can run) a tag is added and
another removed through the Engine API; both must then show. Three runs each.
"""

from __future__ import annotations

import uuid
from typing import Any

import docker
import pytest

from tests.conftest import BASE_IMAGE, Sandbox
from tests.ui.pilot import refs
from tui.app import ImagedeckApp
from tui.prefetch import Prefetch
from tui.screens.images import ImagesScreen
from tui.service import ImageService

pytestmark = pytest.mark.daemon


def make(host: str, prefetch: bool) -> ImagedeckApp:
    """The app as the command line builds it (with or without the start-up prefetch)."""

    def factory() -> ImageService:
        return ImageService.connect(host, timeout=10)

    early = None
    if prefetch:
        early = Prefetch(factory, unix_socket=host.removeprefix("unix://")).start_raw()
    return ImagedeckApp(factory, host_hint=host, prefetch=early)


async def settle(pilot: Any, condition: Any, what: str) -> None:
    """Let the app run until ``condition()`` (the events reach the list in well under a
    second; the bound only keeps a broken build from hanging). Polled, not
    wait_for_complete(): the change comes as a real daemon event on the app's events thread,
    which is no worker."""
    for _ in range(300):
        await pilot.pause(0.05)
        if condition():
            return
    raise AssertionError(f"never happened: {what}")


@pytest.mark.parametrize("run", [1, 2, 3])
@pytest.mark.parametrize("prefetch", [True, False], ids=["prefetch", "no-prefetch"])
async def test_changes_right_after_the_first_list_are_shown(
    sandbox: Sandbox, prefetch: bool, run: int
) -> None:
    api = docker.APIClient(base_url=sandbox.docker_host, version="auto", timeout=30)
    repo = f"test/since-{uuid.uuid4().hex[:8]}"
    api.tag(BASE_IMAGE, repo, "old")
    app = make(sandbox.docker_host, prefetch)
    screen = app.images_screen
    original = ImagesScreen._apply
    changed: list[str] = []

    def apply_then_change(self: ImagesScreen) -> None:
        original(self)
        if self.loaded and not changed:
            # The first paint of the list: change the daemon now, before any event stream.
            first = [tag for image in self.images for tag in image.tags]
            changed.append("old shown" if f"{repo}:old" in first else "old missing")
            api.tag(BASE_IMAGE, repo, "new")
            api.remove_image(f"{repo}:old")

    screen._apply = apply_then_change.__get__(screen)  # type: ignore[method-assign]
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot, lambda: bool(changed), "the first list")
            assert changed == ["old shown"]
            await settle(
                pilot,
                lambda: f"{repo}:new" in refs(screen) and f"{repo}:old" not in refs(screen),
                f"the tag and the untag made at the first paint (list: {refs(screen)[:5]}…)",
            )
    finally:
        for tag in ("old", "new"):
            try:
                api.remove_image(f"{repo}:{tag}")
            except docker.errors.APIError:
                pass
        api.close()
