"""The delete dialog (`d`): every reference that goes, the space that comes back, the run.

The flows around it (conflicts, the results log, untag) are run by the cleanup controller
(``tui/screens/cleanup_controller.py``); its messages are in ``tui/modals/cleanup_messages.py``.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static
from textual.worker import Worker

from tui import format as fmt
from tui.modals.cleanup_messages import (
    FreedComputed,
    KeptByChildren,
    ParentsFound,
    RemovalFinished,
    RemovalProgress,
)
from tui.screens.base import BaseDialog, failure_text
from tui.service.cleanup import (
    BuildParents,
    DeletePlan,
    Freed,
    ResultLog,
    approximate_freed,
    freed_space,
    mark_not_attempted,
    remove_each,
)
from tui.service.errors import ImagedeckError
from tui.service.models import Image


def plan_lines(plan: DeletePlan, kept: dict[str, tuple[str, ...]] | None = None) -> Text:
    """One line per reference: untag or delete, and why an image stays or what blocks it.

    ``kept``: image ID -> the child images built on it that the delete leaves. The daemon
    removes only the tag of such an image and keeps the image while they exist.
    """
    kept = kept or {}
    text = Text()
    width = max((len(i.reference) for i in plan.items), default=10)
    for index, item in enumerate(plan.items):
        if index:
            text.append("\n")
        children = kept.get(item.image.id, ()) if item.action == "delete" else ()
        if children:
            text.append("untag  ", style="bold cyan")
            text.append(item.reference.ljust(width))
            names = ", ".join(children[:3]) + (
                f" +{len(children) - 3} more" if len(children) > 3 else ""
            )
            text.append(
                f"\n         only untagged: {fmt.plural(len(children), 'child image')} built on it "
                f"({names}); the daemon keeps the image and its space while they exist",
                style="yellow",
            )
        elif item.action == "delete":
            text.append("delete ", style="bold red")
            text.append(item.reference.ljust(width))
            unique = fmt.size(item.image.unique_size)
            text.append(f"  {item.image.short_id} · unique {unique}", style="dim")
            if item.in_use:
                n = item.image.containers or 0
                text.append(
                    f"\n         ⚠ used by {n} container{'s' if n != 1 else ''}: "
                    "will stop at a conflict you can then resolve",
                    style="yellow",
                )
        else:
            text.append("untag  ", style="bold cyan")
            text.append(item.reference.ljust(width))
            if item.keeps:
                text.append(f"\n         image stays as {item.keeps_words}", style="dim")
    return text


def parents_text(parents: BuildParents | None) -> str:
    """The line that says, before the delete, which build parents go with it and their bytes."""
    if parents is None or not parents.ids:
        return ""
    n = len(parents.ids)
    ids = ", ".join(i.removeprefix("sha256:")[:12] for i in parents.ids[:3])
    more = f" +{n - 3} more" if n > 3 else ""
    whose = "its" if n == 1 else "their"
    return (
        f"\nAlso deleted: {fmt.plural(n, 'untagged build parent')} ({ids}{more}), left by "
        f"the build; {fmt.size(parents.bytes)} of the space above is {whose} layers"
    )


def freed_text(freed: Freed, computing: bool, untag_only: bool = False) -> str:
    """The space line of the dialogs.

    ``untag_only``: every item only removes a tag (each image keeps another), so nothing
    comes back, and that is exact: "about 0 B (some layer sizes estimated)" said otherwise.
    """
    if untag_only:
        return "Space that comes back: none (only tags are removed; every image stays)"
    if computing:
        return f"Space that comes back: ≈ {fmt.size(freed.bytes)} (checking shared layers…)"
    if freed.exact:
        return f"Space that comes back: {fmt.size(freed.bytes)}"
    why = freed.why or "some layer sizes estimated"
    return f"Space that comes back: about {fmt.size(freed.bytes)} ({why})"


class DeleteDialog(BaseDialog["ResultLog | None"]):
    """Lists every reference that goes (untag or delete) and the space that comes back.

    Opens with focus on Cancel; Esc cancels; `y` confirms. While the removal runs the dialog
    shows which item it is on; Esc then stops after the current item. It dismisses with the
    results log (None when cancelled before anything ran).
    """

    CSS_PATH = "confirm.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "cancel", "Cancel", id="delete.cancel"),
        Binding("y", "confirm", "Delete", id="delete.confirm"),
    ]

    def __init__(
        self,
        plan: DeletePlan,
        images: list[Image],
        *,
        title: str = "",
        note: str = "",
        first: str = "",
    ) -> None:
        super().__init__()
        self.first = first  # a warning that must be read before the plan (hidden marks)
        self.plan = plan
        self.images = images
        self.title_text = title or _plan_title(plan)
        self.note = note
        self.freed = approximate_freed(plan.removed_ids, images)
        self.parents: BuildParents | None = None
        self.kept: dict[str, tuple[str, ...]] = {}  # image ID -> children that keep it
        self.running = False
        self._stop = threading.Event()
        # Filled by the removal worker item by item, so a failure mid-way still has the
        # outcomes so far to report (see worker_failed).
        self.results = ResultLog("Delete")

    def compose(self) -> ComposeResult:
        """Title, the plan, space, status line, Cancel (focused) and Delete."""
        with Vertical(classes="dialog danger", id="delete-dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            if self.first:
                yield Static(self.first, id="delete-first", classes="dialog-warning", markup=False)
            with VerticalScroll(classes="dialog-body"):
                yield Static(plan_lines(self.plan), id="delete-plan")
            if self.note:
                yield Static(self.note, classes="dialog-warning", markup=False)
            yield Static(
                freed_text(
                    self.freed,
                    bool(self.plan.removed_ids),
                    untag_only=not self.plan.removed_ids,
                ),
                id="delete-freed",
                classes="dialog-status",
                markup=False,
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", variant="primary", compact=True)
                yield Button("Delete (y)", id="confirm", variant="error", compact=True)
            yield Static("y deletes · Esc cancels", id="delete-keys", classes="dialog-keys")

    def on_mount(self) -> None:
        """Focus Cancel and work out the exact space in the background."""
        self.query_one("#cancel", Button).focus()
        if self.plan.removed_ids:
            self.sum_freed()

    @work(thread=True, exclusive=True, group="delete-freed", exit_on_error=False)
    def sum_freed(self) -> None:
        """Layer-exact space (inspect and history of the images involved)."""
        service = self.service
        kept = self._children_that_keep(service)
        if kept:
            self.post_message(KeptByChildren(kept))
        removed = tuple(i for i in self.plan.removed_ids if i not in kept)
        layers = service.layers_for(self.images, removed)
        self.post_message(FreedComputed(freed_space(removed, self.images, layers)))
        try:
            parents = service.build_parents(self.plan.removed_ids, self.images, layers)
        except (ImagedeckError, NotImplementedError):
            return  # an extra line only: the space figure above stands without it
        if parents is not None:
            self.post_message(ParentsFound(parents))

    def _children_that_keep(self, service: Any) -> dict[str, tuple[str, ...]]:
        """Image ID -> child images the delete leaves (issue 14 item 14).

        The daemon never deletes an image other images are built on: it only removes the tag
        (the containerd store keeps the image as <none>). Children this same delete removes
        first do not count. A failed lookup keeps the plan as it is.
        """
        removed = set(self.plan.removed_ids)
        going = {i.reference for i in self.plan.items if i.image.id in removed}
        going |= {i.removeprefix("sha256:")[:12] for i in removed}
        kept: dict[str, tuple[str, ...]] = {}
        for item in self.plan.items:
            if item.action != "delete":
                continue
            try:
                children = service.child_images(item.image.id)
            except (ImagedeckError, NotImplementedError):
                continue
            left = tuple(c for c in children if c not in going)
            if left:
                kept[item.image.id] = left
        return kept

    def on_kept_by_children(self, message: KeptByChildren) -> None:
        """Say per item that it will only be untagged, and why."""
        self.kept = message.kept
        self.query_one("#delete-plan", Static).update(plan_lines(self.plan, self.kept))
        if self.title_text == _plan_title(self.plan):  # the title counts what really happens
            as_run = DeletePlan(
                tuple(
                    replace(i, action="untag") if i.image.id in self.kept else i
                    for i in self.plan.items
                ),
                tuple(i for i in self.plan.removed_ids if i not in self.kept),
            )
            self.title_text = _plan_title(as_run)
            self.query_one(".dialog-title", Static).update(self.title_text)

    def on_freed_computed(self, message: FreedComputed) -> None:
        """Show the exact number."""
        self.freed = message.freed
        self.query_one("#delete-freed", Static).update(
            freed_text(message.freed, False) + parents_text(self.parents)
        )

    def on_parents_found(self, message: ParentsFound) -> None:
        """Say beforehand that the image's untagged build parents go too, and their bytes."""
        self.parents = message.parents
        if not self.running:
            self.query_one("#delete-freed", Static).update(
                freed_text(self.freed, False) + parents_text(self.parents)
            )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Buttons answer like the keys."""
        event.stop()
        if event.button.id == "confirm":
            self.action_confirm()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        """Before the run: close, nothing done. During it: stop after the current item."""
        if self.running:
            self._stop.set()
            self.query_one("#delete-keys", Static).update("Stopping after the current item…")
            return
        self.dismiss(None)

    def action_confirm(self) -> None:
        """Start removing, one item after the other."""
        if self.running:
            return
        self.running = True
        for button in self.query(Button):
            button.disabled = True
        self.query_one("#delete-keys", Static).update("Esc stops after the current item")
        self.run_removal()

    @work(thread=True, exclusive=True, group="delete-run", exit_on_error=False)
    def run_removal(self) -> None:
        """Each item in turn; a failure is recorded and the next item goes on.

        A daemon that stops answering ends the loop: the rest is marked "not attempted".
        """
        service = self.service
        log = self.results
        remove_each(
            log,
            self.plan.items,
            service.remove_reference,
            lambda item: (item.reference, item.image.id),
            self._stop,
            lambda done, total, current: self.post_message(RemovalProgress(done, total, current)),
        )
        estimate_known = self.freed.exact or bool(self.freed.why)
        if log.outcomes and all(o.ok for o in log.outcomes) and estimate_known:
            # On the containerd store every figure is an estimate: shown with "about".
            log.freed = self.freed.bytes
            log.freed_estimate = "" if self.freed.exact else self.freed.why
        self.post_message(RemovalFinished(log))

    def worker_failed(self, worker: Worker[Any], error: BaseException | None) -> None:
        """Hand control back: the space line says why; a broken removal ends with what it did."""
        if worker.group == "delete-freed":
            self.query_one("#delete-freed", Static).update(
                f"Space that comes back: about {fmt.size(self.freed.bytes)} "
                f"(could not check shared layers: {failure_text(error)})"
            )
            return
        if worker.group != "delete-run":
            return
        self.running = False
        for button in self.query(Button):
            button.disabled = False
        done = {o.subject for o in self.results.outcomes}
        rest = [(i.reference, i.image.id) for i in self.plan.items if i.reference not in done]
        mark_not_attempted(self.results, rest, f"not attempted: {failure_text(error)}")
        self.dismiss(self.results)

    def on_removal_progress(self, message: RemovalProgress) -> None:
        """Which item runs now."""
        self.query_one("#delete-freed", Static).update(
            f"Removing {message.done + 1}/{message.total}: {message.current}…"
        )

    def on_removal_finished(self, message: RemovalFinished) -> None:
        """Hand the log to whoever opened the dialog."""
        self.dismiss(message.log)


def _plan_title(plan: DeletePlan) -> str:
    parts = []
    if plan.deletes:
        parts.append(f"delete {plan.deletes} image{'s' if plan.deletes != 1 else ''}")
    if plan.untags:
        parts.append(f"untag {plan.untags} reference{'s' if plan.untags != 1 else ''}")
    return (" and ".join(parts) or "nothing").capitalize() + "?"
