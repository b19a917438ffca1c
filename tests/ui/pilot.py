"""Helpers for pilot tests: wait for the list, wait for a condition, read the rows."""

from __future__ import annotations

from typing import Any

from textual.worker import WorkerCancelled, WorkerFailed

from tui.screens.images import ImagesScreen


async def ready(pilot: Any) -> ImagesScreen:
    """Wait until the list and its usage columns are loaded (connect, list, usage: a chain of
    workers, see ``until_settled``)."""
    screen: ImagesScreen = pilot.app.images_screen
    await until_settled(pilot, lambda: screen.loaded and screen.usage is not None, "the list")
    return screen


async def until_settled(pilot: Any, condition: Any, what: str) -> None:
    """Wait for a state the workers end in, reached through workers each started by the
    message of the one before (connect, list, usage; a layer analysis, then its tree).

    Each round waits for the workers running (``settle``), so a slow daemon or a loaded
    machine only makes a round longer; while none runs yet (it waits for a refresh or a
    timer) a short pause. Not for a state on the way while a worker still runs (a worker
    the test holds would be waited for): ``wait_for`` polls for those."""
    for _ in range(250):
        if condition():
            return
        if any(worker.is_running for worker in pilot.app.workers):
            await settle(pilot)
        else:
            await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def wait_for(pilot: Any, condition: Any, what: str, tries: int = 250) -> None:
    """Poll ``condition`` while the app runs.

    For a state reached on the way (a screen pushed by a key, a progress line, a dialog's
    stage) or after a timer (a debounced preview, the build log's flush): a worker may still
    run, held by the test itself, so waiting for the workers to end could wait for good. For
    the state the running workers end in, ``settle`` and then assert. ``tries`` pauses of
    20 ms at least (more for real network work)."""
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def settle(pilot: Any) -> None:
    """Let the workers running now finish (Textual's ``wait_for_complete``), then let the app
    handle what they posted. A failed or superseded worker is no error here: the UI shows what
    came of it, and the test reads that. A worker started by one of those messages is not
    waited for: wait for the state it leads to (``wait_for``)."""
    for _ in range(20):
        try:
            await pilot.app.workers.wait_for_complete()
        except (WorkerFailed, WorkerCancelled):
            continue  # gather stopped at that one: the others may still run
        break
    await pilot.pause()


def refs(screen: ImagesScreen) -> list[str]:
    """The references of the rows the list shows, in order."""
    return [row.reference for row in screen.model.visible]


async def open_cleanup_wizard(pilot: Any) -> Any:
    """Wait for the list, press X, wait for the cleanup wizard; the wizard (a PruneWizard)."""
    from tui.modals.prune import PruneWizard

    await ready(pilot)
    await pilot.press("X")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, PruneWizard), "wizard")
    return pilot.app.screen
