"""Esc while the retention rules remove images stops after the current reference.

The dialog's run is a worker; Esc cancels it and the service's loop stops on that worker's
``cancelled_event`` (no flag of the dialog's own): the reference being removed finishes, the
rest are reported as skipped, and nothing after them is asked of the daemon.
"""

from __future__ import annotations

import threading
from typing import Any

from tests.ui.fake import make_app
from tests.ui.pilot import ready, wait_for
from tests.ui.test_cleanup_fake import CleanupFake
from tui.modals.retention import RetentionDialog
from tui.service.cleanup import Outcome


class GatedRemoval(CleanupFake):
    """The first removal waits for the test to let it finish; every removal is recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.release = threading.Event()
        self.removed: list[str] = []

    def remove_reference(self, item: Any) -> Outcome:
        """Deleted (after the gate, the first time)."""
        self.started.set()
        self.release.wait(30)
        self.removed.append(item.reference)
        return Outcome(item.reference, "deleted", "", item.image.id)


async def test_escape_during_the_run_stops_after_the_current_reference() -> None:
    fake = GatedRemoval()
    app = make_app(fake)
    async with app.run_test(size=(100, 40)) as pilot:
        await ready(pilot)
        dialog = RetentionDialog({"keep_last": 1})
        app.push_screen(dialog)
        await wait_for(pilot, lambda: app.screen is dialog, "the retention dialog")
        await pilot.press("enter")  # in the keep-newest field: preview
        await wait_for(pilot, lambda: dialog.stage == "preview", "the preview")
        planned = [i.reference for i in dialog.plan.delete.items]
        assert len(planned) >= 2, planned  # something must be left to skip
        await pilot.press("y")
        await wait_for(pilot, fake.started.is_set, "the first removal")
        run = next(w for w in app.workers if w.group == "retention-run")
        await pilot.press("escape")
        assert run.cancelled_event.is_set()  # what the service's loop looks at
        assert dialog.stage == "running"  # Esc stops the run; it does not close the dialog
        fake.release.set()
        await wait_for(pilot, lambda: dialog.stage == "done", "the outcome")
        log = dialog.result
        assert log is not None and log.stopped_early
        assert fake.removed == planned[:1]
        statuses = [(o.subject, o.status) for o in log.outcomes]
        assert statuses == [(planned[0], "deleted")] + [(r, "skipped") for r in planned[1:]]
