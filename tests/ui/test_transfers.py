"""Pull, push, transfers panel and run, pressing keys against a fake service.

``TransferFake`` scripts pull and push streams through the real ProgressTracker: a reference
containing ``missing`` is not found, ``denied`` has no access, ``slow`` stops half-way and waits
for its cancel. The snapshot tests use it too.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import replace
from typing import Any

import pytest

from tests.ui.fake import FakeService, make_app, make_image
from tests.ui.pilot import ready, wait_for
from tui.modals.pull import PullDialog
from tui.modals.run import RunDialog
from tui.screens.transfers import TransferProgress, TransfersScreen
from tui.service.errors import Cancelled, NotFound, RegistryError
from tui.service.reference import parse
from tui.service.registry_catalog import CatalogHits, SearchResult, registry_catalog
from tui.service.transfer_progress import ProgressTracker, TransferEvent
from tui.service.transfers import familiar
from tui.widgets.progress import CANCELLED, DONE, FAILED

MB = 1_000_000

SEARCH_INDEX: tuple[SearchResult, ...] = (
    SearchResult("library/busybox", "Busybox base image.", 3412, True),
    SearchResult("library/alpine", "A minimal Docker image based on Alpine Linux.", 11020, True),
    SearchResult("demo/app", "Demo application with several numbered releases.", 42, False),
    SearchResult("demo/pushed", "An image pushed to the sandbox registry.", 7, False, True),
    SearchResult("tools/alpine-curl", "Alpine with curl, for quick HTTP checks.", 128, False, True),
)
CATALOG: tuple[SearchResult, ...] = (
    SearchResult("127.0.0.1:5000/demo/app", "2 tags: 1.0, 2.0", 0, False, tags=("1.0", "2.0")),
    SearchResult("127.0.0.1:5000/demo/pushed", "1 tag: latest", 0, False, tags=("latest",)),
)


def _pull_script(slow: bool) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [
        {"status": "Pulling from test/app", "id": "v1"},
        {"status": "Already exists", "progressDetail": {}, "id": "a1b2c3d4e5f6"},
        {"status": "Pulling fs layer", "progressDetail": {}, "id": "0f1e2d3c4b5a"},
        {"status": "Pulling fs layer", "progressDetail": {}, "id": "9988776655aa"},
        {"status": "Waiting", "progressDetail": {}, "id": "9988776655aa"},
    ]
    for current in (4 * MB, 8 * MB):
        messages.append(
            {
                "status": "Downloading",
                "progressDetail": {"current": current, "total": 20 * MB},
                "id": "0f1e2d3c4b5a",
            }
        )
    if slow:
        return messages
    messages += [
        {"status": "Downloading", "progressDetail": {"current": 20 * MB, "total": 20 * MB},
         "id": "0f1e2d3c4b5a"},
        {"status": "Download complete", "progressDetail": {}, "id": "0f1e2d3c4b5a"},
        {"status": "Extracting", "progressDetail": {"current": 20 * MB, "total": 20 * MB},
         "id": "0f1e2d3c4b5a"},
        {"status": "Pull complete", "progressDetail": {}, "id": "0f1e2d3c4b5a"},
        {"status": "Downloading", "progressDetail": {"current": 3 * MB, "total": 3 * MB},
         "id": "9988776655aa"},
        {"status": "Download complete", "progressDetail": {}, "id": "9988776655aa"},
        {"status": "Pull complete", "progressDetail": {}, "id": "9988776655aa"},
        {"status": "Digest: sha256:" + "5e" * 32},
        {"status": "Status: Downloaded newer image"},
    ]  # fmt: skip
    return messages


class TransferFake(FakeService):
    """FakeService with scripted pulls, pushes, search and catalog."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pulled: list[str] = []
        self.pushed: list[str] = []
        self.searches: list[tuple[str, int, int, bool]] = []

    def _stream(
        self, messages: list[dict[str, Any]], cancel: threading.Event | None, what: str
    ) -> Iterator[TransferEvent]:
        tracker = ProgressTracker()
        for message in messages:
            if cancel is not None and cancel.is_set():
                raise Cancelled(what)
            event = tracker.feed(message)
            if event is not None:
                yield event

    def _hold(self, cancel: threading.Event | None, what: str) -> None:
        # A slow transfer waits for its cancel (bounded, so a broken test cannot hang).
        if cancel is not None and cancel.wait(20):
            raise Cancelled(what)
        raise RegistryError(f"{what}: the test never cancelled")

    def pull(
        self,
        reference: str,
        all_tags: bool = False,
        platform: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[TransferEvent]:
        """As ImageService.pull."""
        parse(reference)
        self._check()
        what = f"Pull {reference}"
        if "missing" in reference:
            raise NotFound(
                f"pull {reference}: not found in the registry (manifest for {reference} not "
                "found: manifest unknown)"
            )
        if "denied" in reference:
            raise RegistryError(f"pull {reference}: no access: the repository needs a login")
        slow = "slow" in reference
        yield from self._stream(_pull_script(slow), cancel, what)
        if slow:
            self._hold(cancel, what)
        self.pulled.append(reference)
        with self._lock:
            self.images.append(make_image(100 + len(self.pulled), (familiar(reference),)))
        self.emit("image", "pull", reference)

    def push(
        self, reference: str, cancel: threading.Event | None = None
    ) -> Iterator[TransferEvent]:
        """As ImageService.push."""
        parse(reference)
        what = f"Push {reference}"
        messages: list[dict[str, Any]] = [
            {"status": f"The push refers to repository [{parse(reference).name}]"},
            {"status": "Preparing", "progressDetail": {}, "id": "a1b2c3d4e5f6"},
            {"status": "Layer already exists", "progressDetail": {}, "id": "a1b2c3d4e5f6"},
            {"status": "Preparing", "progressDetail": {}, "id": "0f1e2d3c4b5a"},
            {"status": "Pushing", "progressDetail": {"current": MB, "total": 2 * MB},
             "id": "0f1e2d3c4b5a"},
        ]  # fmt: skip
        slow = "slow" in reference
        if not slow:
            messages += [
                {"status": "Pushed", "progressDetail": {}, "id": "0f1e2d3c4b5a"},
                {"status": "v1: digest: sha256:" + "7a" * 32 + " size: 739"},
                {"progressDetail": {}, "aux": {"Tag": "v1", "Digest": "sha256:" + "7a" * 32}},
            ]
        yield from self._stream(messages, cancel, what)
        if slow:
            self._hold(cancel, what)
        self.pushed.append(reference)

    def search(
        self, term: str, limit: int = 25, min_stars: int = 0, official_only: bool = False
    ) -> list[SearchResult]:
        """As ImageService.search, from a fixed index."""
        self.searches.append((term, limit, min_stars, official_only))
        if "offline" in term:
            raise RegistryError(
                f"search {term}: the registry cannot be reached (dial tcp: lookup "
                "index.docker.io: no such host)"
            )
        if term.startswith("127.0.0.1:5000/"):
            raise RegistryError(
                f"The index for {term!r} does not offer search (Unexpected status code 404). "
                "A v2-only registry has no search: type host:port/ to list its catalog instead."
            )
        needle = term.split("/", 1)[1] if term.startswith("127.0.0.1:") else term
        hits = [
            r
            for r in sorted(SEARCH_INDEX, key=lambda r: (-r.stars, r.name))
            if needle in r.name and r.stars >= min_stars and (r.official or not official_only)
        ]
        return hits[:limit]

    def catalog(self, registry: str, term: str = "", max_repos: int = 100) -> CatalogHits:
        """As ImageService.catalog, from a fixed catalog at 127.0.0.1:5000 only."""
        if registry != "127.0.0.1:5000":
            return registry_catalog("127.0.0.1:9", term, timeout=0.5)  # a clear error
        hits = [r for r in CATALOG if term in r.name.split("/", 1)[1]]
        return CatalogHits(hits[:max_repos], len(hits))

    def inspect_image(self, reference: str) -> dict[str, Any]:
        """As FakeService.inspect_image (NotFound for images it does not have)."""
        image = self.find(reference)
        return {"Id": image.id, "Config": {"Entrypoint": None, "Cmd": ["sh"]}}


async def pull_with_dialog(pilot: Any, reference: str) -> None:
    """Press p, type the reference, press Enter."""
    await pilot.press("p")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, PullDialog), "pull dialog")
    await pilot.press(*reference)
    await pilot.press("enter")


# --- pull -------------------------------------------------------------------------------------


async def test_p_pulls_with_layer_progress_and_selects_the_new_image() -> None:
    fake = TransferFake()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pull_with_dialog(pilot, "127.0.0.1:5000/test/app:v1")
        screen = pilot.app.transfers_screen()
        await wait_for(pilot, lambda: pilot.app.screen is screen, "transfers screen pops up")
        await wait_for(
            pilot, lambda: any(t.state == DONE for t in screen.transfers.values()), "pull ends"
        )
        (transfer,) = screen.transfers.values()
        assert [layer.status for layer in transfer.layers.values()] == [
            "Already exists",
            "Pull complete",
            "Pull complete",
        ]
        assert transfer.event is not None and transfer.event.overall.fraction == 1.0
        await pilot.press("T")
        images = pilot.app.images_screen
        await wait_for(pilot, lambda: pilot.app.screen is images, "back on the list")
        await wait_for(
            pilot,
            lambda: (
                (row := images.current_row()) is not None
                and row.reference == "127.0.0.1:5000/test/app:v1"
            ),
            "new image selected",
        )


async def test_pull_dialog_checks_the_reference_as_you_type() -> None:
    async with make_app(TransferFake()).run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PullDialog), "pull dialog")
        dialog = pilot.app.screen
        await pilot.press(*"Demo/App")
        error = str(dialog.query_one("#pull-error").render())
        assert "lowercase" in error
        assert dialog.query_one("#pull-ok").disabled
        await pilot.press("enter")
        assert pilot.app.screen is dialog  # nothing was pulled
        for _ in range(8):
            await pilot.press("backspace")
        await pilot.press(*"localhost:5000/team/app")
        assert str(dialog.query_one("#pull-error").render()) == ""
        assert not dialog.query_one("#pull-ok").disabled
        await pilot.press("escape")
        assert not isinstance(pilot.app.screen, PullDialog)


async def test_several_pulls_a_failure_and_esc_cancels_the_selected_one() -> None:
    fake = TransferFake()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pull_with_dialog(pilot, "test/slow:v1")
        screen = pilot.app.transfers_screen()
        await wait_for(pilot, lambda: pilot.app.screen is screen, "transfers screen")
        await pilot.press("p")  # another pull, from the transfers screen
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PullDialog), "dialog again")
        await pilot.press(*"test/missing:v1", "enter")
        await wait_for(pilot, lambda: pilot.app.screen is screen, "back on transfers")
        slow, missing = screen.transfers.values()
        await wait_for(pilot, lambda: missing.state == FAILED, "missing fails")
        assert "not found in the registry" in missing.error
        assert slow.running  # the failure left the other one running
        await wait_for(pilot, lambda: slow.event is not None, "slow shows progress")
        await pilot.press("up")  # select the slow one
        await pilot.press("escape")
        await wait_for(pilot, lambda: slow.state == CANCELLED, "slow cancelled")
        assert "Cancelled" in slow.error
        assert fake.pulled == []
        await pilot.press("escape")  # nothing running is selected: back to the list
        assert pilot.app.screen is pilot.app.images_screen


async def test_transfers_keep_running_while_the_list_is_used() -> None:
    fake = TransferFake()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pull_with_dialog(pilot, "test/slow:v1")
        screen = pilot.app.transfers_screen()
        await wait_for(pilot, lambda: pilot.app.screen is screen, "transfers screen")
        await pilot.press("T")
        assert pilot.app.screen is pilot.app.images_screen
        await pilot.press("down", "down")  # the list still answers
        (slow,) = screen.transfers.values()
        assert slow.running
        await pilot.press("T")
        assert pilot.app.screen is screen
        await pilot.press("escape")
        await wait_for(pilot, lambda: slow.state == CANCELLED, "cancelled from the panel")


def test_progress_messages_replace_queued_ones_of_the_same_transfer() -> None:
    event = ProgressTracker().feed({"status": "Waiting", "id": "abc"})
    assert event is not None
    first, newer, other = (
        TransferProgress(1, event),
        TransferProgress(1, event),
        TransferProgress(2, event),
    )
    assert newer.can_replace(first)
    assert not other.can_replace(first)


# --- push -------------------------------------------------------------------------------------


async def test_shift_p_pushes_the_current_tag() -> None:
    fake = TransferFake()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        images = await ready(pilot)
        images.select_after_load("127.0.0.1:5000/demo/app:1.0")
        await pilot.press("P")
        screen = pilot.app.transfers_screen()
        await wait_for(pilot, lambda: pilot.app.screen is screen, "transfers screen")
        (push,) = screen.transfers.values()
        await wait_for(pilot, lambda: push.state == DONE, "push ends")
        assert push.kind == "push"
        assert fake.pushed == ["127.0.0.1:5000/demo/app:1.0"]
        assert {layer.status for layer in push.layers.values()} == {
            "Layer already exists",
            "Pushed",
        }


# --- run --------------------------------------------------------------------------------------


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Replace the terminal hand-over: record the argv, pretend the container printed."""
    calls: list[list[str]] = []

    def runner(argv: Any) -> int:
        calls.append(list(argv))
        return 0

    monkeypatch.setattr("tui.modals.run.RUNNER", runner)
    monkeypatch.setattr("tui.modals.run.shutil.which", lambda name: f"/usr/bin/{name}")
    return calls


async def open_run_dialog(pilot: Any, reference: str) -> tuple[Any, Any]:
    """Select ``reference`` in the list and press `r`; the list screen and the run dialog."""
    images = await ready(pilot)
    images.select_after_load(reference)
    await pilot.press("r")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, RunDialog), "run dialog")
    return images, pilot.app.screen


async def test_r_runs_the_image_with_its_own_command(
    captured: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(TransferFake())
    monkeypatch.setattr(app, "suspend", nullcontext)
    async with app.run_test(size=(120, 40)) as pilot:
        images, dialog = await open_run_dialog(pilot, "demo/app:1.0")
        await wait_for(pilot, lambda: dialog.query_one("#run-command").value == "sh", "default cmd")
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(captured), "docker run")
        assert captured == [
            ["docker", "-H", "unix:///fake/docker.sock", "run", "-i", "-t", "--rm", "demo/app:1.0"]
        ]
        assert pilot.app.screen is images  # back on the same screen


async def test_run_with_a_command_and_without_rm(
    captured: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(TransferFake())
    monkeypatch.setattr(app, "suspend", nullcontext)
    async with app.run_test(size=(120, 40)) as pilot:
        _images, dialog = await open_run_dialog(pilot, "demo/app:1.0")
        await wait_for(pilot, lambda: dialog.query_one("#run-command").value == "sh", "default cmd")
        dialog.query_one("#run-command").value = "echo 'hi there'"
        dialog.query_one("#run-remove").value = False
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(captured), "docker run")
        assert captured[0][-4:] == ["-t", "demo/app:1.0", "echo", "hi there"]
        assert "--rm" not in captured[0]


async def test_run_pulls_a_missing_image_first(
    captured: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = TransferFake()
    app = make_app(fake)
    monkeypatch.setattr(app, "suspend", nullcontext)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, RunDialog), "run dialog")
        dialog = pilot.app.screen
        dialog.query_one("#run-image").value = "test/fresh:v1"
        await wait_for(
            pilot, lambda: "pulled first" in str(dialog.query_one("#run-hint").render()), "hint"
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(captured), "docker run after the pull")
        assert fake.pulled == ["test/fresh:v1"]
        assert captured[0][-1] == "test/fresh:v1"
        await wait_for(pilot, lambda: pilot.app.screen is pilot.app.images_screen, "list again")


async def test_run_without_suspend_support_says_so() -> None:
    # The headless test driver cannot suspend, like textual-web: a message, no crash.
    async with make_app(TransferFake()).run_test(size=(120, 40)) as pilot:
        images, _dialog = await open_run_dialog(pilot, "demo/app:1.0")
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: any("cannot hand itself over" in n.message for n in pilot.app._notifications),
            "suspend message",
        )
        assert pilot.app.screen is images


async def test_run_without_docker_cli_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tui.modals.run.shutil.which", lambda name: None)
    async with make_app(TransferFake()).run_test(size=(120, 40)) as pilot:
        _images, _dialog = await open_run_dialog(pilot, "demo/app:1.0")
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: any("not on PATH" in n.message for n in pilot.app._notifications),
            "missing CLI message",
        )


def test_fake_images_are_plain() -> None:
    # The fake keeps the seeded shape; TransferFake only adds what a pull brings.
    fake = TransferFake()
    assert next(replace(i, shared_size=None) for i in fake.images).tags == (
        "imagedeck/busybox:latest",
    )


__all__ = ["CATALOG", "SEARCH_INDEX", "TransferFake", "TransfersScreen"]
