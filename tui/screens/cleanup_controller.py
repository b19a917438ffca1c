"""The cleanup controller: the images screen's delete, untag, conflict and results-log flows.

``CleanupController`` is a hidden widget the images screen (and the disk map, for the list
behind it) mounts on first use; it owns the workers and the results log of the cleanup flows,
so the list screen only calls one method per key (``d``, ``u``, ``t``, ``X``, ``c``, ``L``).
The dialogs it opens live in ``tui/modals/`` (delete.py, conflict.py, results_log.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.css.query import NoMatches

from tui import format as fmt
from tui.modals.cleanup_messages import LayersLoaded, ResolveFinished
from tui.modals.confirm import ConfirmDialog
from tui.modals.conflict import Choice, ConflictDialog, force_warning
from tui.modals.delete import DeleteDialog
from tui.modals.results_log import ResultsLogScreen
from tui.screens.base import ServiceWidget
from tui.service.cleanup import (
    DeleteItem,
    Freed,
    ImageLayers,
    Outcome,
    ResultLog,
    approximate_freed,
    freed_space,
    plan_delete,
    removed_ids,
)
from tui.service.errors import ImagedeckError
from tui.service.models import Image, ImageRow

if TYPE_CHECKING:
    from tui.listmodel import ImageListModel
    from tui.screens.list_host import ImageListHost

MAX_LOGS = 20


class CleanupController(ServiceWidget):
    """Hidden helper on the images screen: runs the cleanup flows and keeps the results log."""

    def __init__(self, host: ImageListHost | None = None) -> None:
        super().__init__(id="cleanup-controller")
        self.display = False
        # Known before mounting completes: the summary asks for freed figures in the same step
        # that mounts the controller, when ``self.screen`` is not there yet.
        self._host = host
        self.logs: list[ResultLog] = []
        self.layer_data: dict[str, ImageLayers] = {}
        self._asked: set[str] = set()

    @property
    def images_screen(self) -> ImageListHost:
        """The list this controller serves."""
        if self._host is not None:
            return self._host
        return self.screen  # type: ignore[return-value]

    def _images(self) -> list[Image]:
        from tui.service.images import with_usage

        screen = self.images_screen
        return with_usage(screen.images, screen.usage)

    # -- freed space of the marks ------------------------------------------------------------

    def marked_frees(self, rows: list[ImageRow]) -> int:
        """Layer-exact space deleting ``rows`` frees; the df estimate until layers arrive."""
        return self.marked_freed(rows).bytes

    def marked_freed(self, rows: list[ImageRow]) -> Freed:
        """What deleting ``rows`` frees, and whether that is exact (see ``marked_frees``)."""
        # Only which images go matters here, not the untag items (removed_ids is linear).
        gone = removed_ids(rows)
        images = self._images()
        needed = gone | {i.id for i in images if i.shared_size != 0}
        missing = needed - set(self.layer_data) - self._asked
        if missing and self.has_service:
            self._asked |= missing
            self.load_layers(images, gone, frozenset(missing))
        if needed - set(self.layer_data):
            return approximate_freed(gone, images)
        return freed_space(gone, images, self.layer_data)

    @work(thread=True, exclusive=False, group="cleanup-layers", exit_on_error=False)
    def load_layers(self, images: list[Image], sized: set[str], asked: frozenset[str]) -> None:
        """Inspect (and read the history of) the images a freed-space sum needs."""
        wanted = [i for i in images if i.id in asked]
        layers: dict[str, ImageLayers] = {}
        try:
            layers = self.service.layers_for(wanted, sized & asked)
        except ImagedeckError:
            pass  # the summary keeps the df estimate; a delete recomputes it anyway
        self.post_message(LayersLoaded(layers, asked))

    def on_layers_loaded(self, message: LayersLoaded) -> None:
        """Recompute the summary with exact numbers."""
        message.stop()
        self.layer_data.update(message.layers)
        try:
            self.images_screen.refresh_summary()
        except NoMatches:
            pass  # the app is closing and the list is torn down: nothing left to update

    # -- delete --------------------------------------------------------------------------------

    def delete(
        self, rows: list[ImageRow], *, title: str = "", note: str = "", first: str = ""
    ) -> None:
        """`d`: confirm, then remove the rows' references (untags, then the image).

        ``first`` is a warning shown above the plan, before anything else; by default it says
        how many of the rows are marked rows the list's filter hides.
        """
        if not rows:
            self.notify("Nothing to delete: the list is empty.", severity="warning")
            return
        plan = plan_delete(rows)
        first = first or hidden_marks_warning(self.images_screen.model, rows)
        dialog = DeleteDialog(plan, self._images(), title=title, note=note, first=first)
        self.app.push_screen(dialog, self._deleted)

    def _deleted(self, log: ResultLog | None) -> None:
        if log is None:
            return
        conflicts = [o for o in log.outcomes if o.conflict]
        explained = len(log.outcomes) == 1 and bool(conflicts)
        # The conflict dialog says what the toast would ("... is used by ..."), and a toast
        # would sit over the dialog's last lines and buttons (80x24): no toast then.
        self.record(log, notify=not explained)
        if explained:
            self.resolve(conflicts[0])

    def record(self, log: ResultLog, notify: bool = True) -> None:
        """Keep the log for `L` and say how it ended in a notification (unless ``notify`` is
        False: a dialog that opens next says it)."""
        self.logs.insert(0, log)
        del self.logs[MAX_LOGS:]
        if notify:
            self._say_how_it_ended(log)
        self.images_screen.reload()

    def _say_how_it_ended(self, log: ResultLog) -> None:
        failed = [o for o in log.outcomes if o.status == "failed"]
        text = f"{log.title}: {log.summary()}"
        if log.freed:
            text += f", {log.freed_words(fmt.size)} freed"
        text += "."
        for outcome in failed[:3]:
            text += f"\n✗ {outcome.detail or outcome.subject}"
        if len(failed) > 3:
            text += f"\n… and {len(failed) - 3} more."
        if failed:
            text += "\nL shows the results log."
        self.notify(
            text,
            title=log.title,
            severity="warning" if failed else "information",
            timeout=12 if failed else 6,
        )

    # -- conflicts -----------------------------------------------------------------------------

    def resolve(self, outcome: Outcome) -> None:
        """Show the conflict and its ways out."""

        def chosen(choice: Choice | None) -> None:
            if choice == "containers":
                names = ", ".join(h.name for h in outcome.holders)
                self.notify(f"Removing {names}, then {outcome.subject}…", timeout=3, markup=False)
                self.run_resolution(outcome, "containers")
            elif choice == "force":
                dialog = ConfirmDialog(
                    f"Force remove {outcome.subject}?",
                    force_warning(outcome),
                    confirm_label="Force remove",
                    warning="This is not the default way out. Cancel and press r to remove "
                    "the container first.",
                )
                self.app.push_screen(dialog, lambda ok: self._force(outcome, ok))

        self.app.push_screen(ConflictDialog(outcome), chosen)

    def _force(self, outcome: Outcome, ok: bool | None) -> None:
        if ok:
            self.notify(f"Force removing {outcome.subject}…", timeout=3)
            self.run_resolution(outcome, "force")

    @work(thread=True, exclusive=True, group="cleanup-resolve", exit_on_error=False)
    def run_resolution(self, outcome: Outcome, choice: Choice) -> None:
        """Containers then image, or force: the outcome goes to the log."""
        service = self.service
        if choice == "containers":
            log = ResultLog("Remove containers, then image")
            log.outcomes.extend(service.remove_with_containers(outcome.subject, outcome.holders))
        else:
            log = ResultLog("Force remove")
            log.outcomes.append(service.force_remove(outcome.subject))
        self.post_message(ResolveFinished(log))

    def on_resolve_finished(self, message: ResolveFinished) -> None:
        """Report the way out's outcome."""
        message.stop()
        self.record(message.log)

    # -- untag ---------------------------------------------------------------------------------

    def untag(self, row: ImageRow | None) -> None:
        """`u`: remove this tag; on the image's last tag, confirm a delete as `d` does."""
        if row is None:
            return
        if not row.tagged:
            self.notify(
                f"{row.image.short_id} has no tag to remove; d deletes the image.",
                severity="warning",
            )
            return
        plan = plan_delete([row])
        if plan.items[0].action == "delete":
            self.delete(
                [row],
                title=f"Untag {row.reference}: it is the last tag, so this deletes the image?",
                note="This is the image's last tag: untagging it deletes the image.",
            )
            return
        self.run_untag(plan.items[0])

    @work(thread=True, exclusive=True, group="cleanup-untag", exit_on_error=False)
    def run_untag(self, item: DeleteItem) -> None:
        """One untag, reported like a delete."""
        log = ResultLog("Untag")
        log.outcomes.append(self.service.remove_reference(item))
        self.post_message(ResolveFinished(log))

    # -- results log ---------------------------------------------------------------------------

    def show_log(self) -> None:
        """`L`: reopen the results; Enter on a conflict opens its ways out."""

        def picked(outcome: Outcome | None) -> None:
            if outcome is not None:
                self.resolve(outcome)

        self.app.push_screen(ResultsLogScreen(self.logs), picked)


def hidden_marks_warning(model: ImageListModel, rows: list[ImageRow]) -> str:
    """How many of ``rows`` are marked rows the filter hides ("" when none are).

    Said first in the delete dialog, above its list: marks the filter hides are easy to forget,
    and they go too.
    """
    going = {id(row) for row in rows}
    hidden = [row for row in model.hidden_marked_rows() if id(row) in going]
    if not hidden:
        return ""
    return (
        f"⚠ {len(hidden)} of the {len(model.marks)} marked rows are hidden by the filter "
        f"{model.filter_text!r} and are deleted too (Esc, then clear the filter to see them)."
    )


def cleanup_controller(screen: ImageListHost) -> CleanupController:
    """The screen's controller, mounted on first use."""
    found = screen.query(CleanupController)
    if found:
        return found.first()
    controller = CleanupController(screen)
    screen.mount(controller)
    return controller
