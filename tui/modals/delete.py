"""Deleting images: the confirm dialog, the conflict way out, the results log, and the glue.

``CleanupController`` is a hidden widget the images screen mounts on first use; it owns the
workers and the results log of the cleanup flows, so the list screen only calls one method per
key (``d``, ``u``, ``t``, ``X``, ``c``, ``L``).
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker

from tui import format as fmt
from tui.modals.confirm import ConfirmDialog
from tui.screens.base import BaseDialog, ServiceWidget, failure_text
from tui.service.cleanup import (
    BuildParents,
    DeleteItem,
    DeletePlan,
    Freed,
    ImageLayers,
    Outcome,
    ResultLog,
    approximate_freed,
    freed_space,
    mark_not_attempted,
    plan_delete,
    remove_each,
)
from tui.service.errors import ImagedeckError
from tui.service.models import Image, ImageRow

if TYPE_CHECKING:
    from tui.listmodel import ImageListModel
    from tui.screens.list_host import ImageListHost
    from tui.service.api import ImageServiceAPI

Choice = Literal["cancel", "containers", "force"]
MAX_LOGS = 20


# -- messages ---------------------------------------------------------------------------------


class FreedComputed(Message):
    """The layer-exact space a removal gives back."""

    def __init__(self, freed: Freed) -> None:
        super().__init__()
        self.freed = freed


class ParentsFound(Message):
    """The untagged build parents the delete takes along (overlay2 store)."""

    def __init__(self, parents: BuildParents) -> None:
        super().__init__()
        self.parents = parents


class KeptByChildren(Message):
    """Images of the delete that child images keep (the daemon will only untag them)."""

    def __init__(self, kept: dict[str, tuple[str, ...]]) -> None:
        super().__init__()
        self.kept = kept


class RemovalProgress(Message):
    """A bulk removal moved on to item ``done + 1`` of ``total``; newer replaces queued."""

    def __init__(self, done: int, total: int, current: str) -> None:
        super().__init__()
        self.done = done
        self.total = total
        self.current = current

    def can_replace(self, message: Message) -> bool:
        """Only the newest progress matters."""
        return isinstance(message, RemovalProgress)


class RemovalFinished(Message):
    """A bulk removal ended (all items, or stopped early)."""

    def __init__(self, log: ResultLog) -> None:
        super().__init__()
        self.log = log


class LayersLoaded(Message):
    """Layer data for freed-space sums arrived."""

    def __init__(self, layers: dict[str, ImageLayers], asked: frozenset[str]) -> None:
        super().__init__()
        self.layers = layers
        self.asked = asked


class ChildrenLoaded(Message):
    """The images built on a conflicted image."""

    def __init__(self, children: list[str]) -> None:
        super().__init__()
        self.children = children


# -- the delete dialog ------------------------------------------------------------------------


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
                text.append(f"\n         image stays as {', '.join(item.keeps)}", style="dim")
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


# -- the conflict dialog ----------------------------------------------------------------------


def conflict_text(outcome: Outcome) -> Text:
    """Who holds the image (name, short ID, status) and what each way out does."""
    text = Text()
    text.append(outcome.detail + "\n")
    if outcome.holders:
        text.append("\nContainers using it:\n", style="bold")
        width = max(len(h.name) for h in outcome.holders)
        for holder in outcome.holders:
            style = "bold yellow" if holder.running else ""
            line = f"  {holder.name.ljust(width)}  {holder.short_id}  {holder.status}\n"
            text.append(line, style)
    running = [h for h in outcome.holders if h.running]
    if running:
        names = ", ".join(h.name for h in running)
        refuses = (
            "Podman's force would stop and remove it along with the image"
            if outcome.podman
            else (
                "Force (docker rmi -f) would only remove the tag: the image stays (as <none> "
                "if this is its last tag), because the daemon never deletes an image a running "
                "container uses"
            )
        )
        text.append(
            f"\n{names} {'is' if len(running) == 1 else 'are'} running. {refuses}, and "
            "imagedeck does not stop containers for you: stop it first "
            f"(docker stop {running[0].name}), then delete again.",
            style="yellow",
        )
    elif outcome.holders and outcome.podman:
        text.append(
            "\nr removes the stopped container"
            f"{'s' if len(outcome.holders) != 1 else ''} above, then the image.\n"
            "f force-removes the image, and on Podman the stopped container"
            f"{'s' if len(outcome.holders) != 1 else ''} above with it (asks again first)."
        )
    elif outcome.holders and outcome.containerd:
        text.append(
            "\nr removes the stopped container"
            f"{'s' if len(outcome.holders) != 1 else ''} above, then the image: that frees "
            "the space.\n"
            "f only untags it: on the containerd image store force removes the name, the "
            "image stays as <none> for the container and nothing is freed (asks again first)."
        )
    elif outcome.holders:
        text.append(
            "\nr removes the stopped container"
            f"{'s' if len(outcome.holders) != 1 else ''} above, then the image.\n"
            "f force-removes the image alone and leaves the container pointing at a bare image "
            "ID (asks again first)."
        )
    if outcome.children:
        text.append(
            "\nOther images are built on this one (it is their parent layer chain), so the "
            "daemon keeps it while they exist. Delete those images first, or only untag this "
            "reference: the layers stay for its children either way."
        )
    return text


class ConflictDialog(BaseDialog[Choice]):
    """The tutorial's `docker rmi` conflict, with the ways out: containers then image, force.

    Cancel is focused and is what Esc answers. Force is a separate choice that asks again,
    and neither way out is offered when a running container holds the image.
    """

    CSS_PATH = "confirm.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "choose('cancel')", "Cancel", id="conflict.cancel"),
        Binding("r", "choose('containers')", "Remove containers", id="conflict.containers"),
        Binding("f", "choose('force')", "Force…", id="conflict.force"),
    ]

    def __init__(
        self, outcome: Outcome, *, source: ImageServiceAPI | None = None, where: str = ""
    ) -> None:
        """``source``/``where``: the fleet daemon the conflict is on (else the app's service)."""
        super().__init__()
        self.outcome = outcome
        self.source = source
        self.where = where
        holders = outcome.holders
        self.can_resolve = bool(holders) and not any(h.running for h in holders)

    def compose(self) -> ComposeResult:
        """What holds the image, and the buttons that apply."""
        title = f"{self.outcome.subject} is in use"
        if self.outcome.children and not self.outcome.holders:
            title = f"{self.outcome.subject} has dependent child images"
        if self.where:
            title += f" on {self.where}"
        with Vertical(classes="dialog danger", id="conflict-dialog"):
            yield Static(title, classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-body"):
                yield Static(conflict_text(self.outcome), id="conflict-text")
                if self.outcome.children:
                    yield Static("Looking for child images…", id="conflict-children")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", variant="primary", compact=True)
                if self.can_resolve:
                    n = len(self.outcome.holders)
                    yield Button(
                        f"Remove {n} container{'s' if n != 1 else ''}, then image (r)",
                        id="containers",
                        variant="warning",
                        compact=True,
                    )
                    yield Button("Force… (f)", id="force", variant="error", compact=True)
            keys = "r containers then image · f force… · Esc cancels"
            yield Static(keys if self.can_resolve else "Esc closes", classes="dialog-keys")

    def on_mount(self) -> None:
        """Cancel is the default; look up child images when that is the conflict."""
        self.query_one("#cancel", Button).focus()
        if self.outcome.children:
            self.load_children()

    @work(thread=True, exclusive=True, group="conflict-children", exit_on_error=False)
    def load_children(self) -> None:
        """Which images are built on this one."""
        try:
            service = self.source if self.source is not None else self.service
            children = service.child_images(self.outcome.image_id)
        except ImagedeckError as exc:
            children = [f"(could not list them: {exc})"]
        self.post_message(ChildrenLoaded(children))

    def worker_failed(self, worker: Worker[Any], error: BaseException | None) -> None:
        """The children lookup broke: say so instead of "Looking for child images…"."""
        if worker.group == "conflict-children":
            self.post_message(ChildrenLoaded([f"(could not list them: {failure_text(error)})"]))

    def on_children_loaded(self, message: ChildrenLoaded) -> None:
        """List the children."""
        text = "Built on it: " + (", ".join(message.children) or "(none listed)")
        self.query_one("#conflict-children", Static).update(text)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Buttons answer like the keys."""
        event.stop()
        self.action_choose(str(event.button.id))

    def action_choose(self, choice: str) -> None:
        """Close with a choice; ways out that do not apply are ignored."""
        if choice in ("containers", "force") and not self.can_resolve:
            return
        self.dismiss(choice)  # type: ignore[arg-type]


def force_warning(outcome: Outcome) -> str:
    """What force leaves behind, naming the containers."""
    names = ", ".join(f"{h.name} ({h.short_id})" for h in outcome.holders)
    if outcome.podman:
        return (
            f"Force removes {outcome.subject} and, on Podman, {names} with it: the "
            f"container{'s are' if len(outcome.holders) != 1 else ' is'} deleted, not left "
            "pointing at a bare image ID. Removing the containers first (r) does the same, "
            "one step at a time."
        )
    if outcome.containerd:
        return (
            f"{names} still use{'s' if len(outcome.holders) == 1 else ''} {outcome.subject}. "
            "On the containerd image store force only untags it: the image stays as <none> "
            "for the container, and no space comes back. To free the space, remove the "
            "container first (r), then the image."
        )
    return (
        f"Force removes {outcome.subject} although {names} still "
        f"use{'s' if len(outcome.holders) == 1 else ''} it. The container stays, pointing at a "
        "bare image ID: `docker ps -a` shows the ID instead of the name, and it cannot be "
        "recreated from the name. Removing the container first (r) avoids this."
    )


# -- the results log --------------------------------------------------------------------------


class ResultsLogScreen(BaseDialog["Outcome | None"]):
    """The outcomes of recent deletes and cleanups, newest first; Enter on a conflict resolves."""

    CSS_PATH = "confirm.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,L", "close", "Close", id="results.close"),
    ]

    def __init__(self, logs: list[ResultLog]) -> None:
        super().__init__()
        self.logs = logs
        self._outcomes: dict[str, Outcome] = {}

    def compose(self) -> ComposeResult:
        """One block per operation."""
        options: list[Option] = []
        for n, log in enumerate(self.logs):
            when = log.when.astimezone().strftime("%H:%M:%S")
            head = f"{when}  {log.title}: {log.summary()}"
            if log.freed is not None:
                head += f", {log.freed_words(fmt.size)} freed"
            options.append(Option(Text(head, style="bold"), id=f"h{n}", disabled=True))
            for m, outcome in enumerate(log.outcomes):
                key = f"o{n}-{m}"
                self._outcomes[key] = outcome
                line = outcome.line()
                if outcome.conflict:
                    line += "  [Enter: ways out]"
                options.append(Option(Text(line), id=key))  # never markup
        with Vertical(classes="dialog", id="results-dialog"):
            yield Static("Results of deletes and cleanups", classes="dialog-title")
            if options:
                yield OptionList(*options, id="results-list")
            else:
                yield Static("Nothing deleted yet in this session.", classes="dialog-note")
            yield Static(
                "Enter on a conflict shows the ways out · Esc closes", classes="dialog-keys"
            )

    @on(OptionList.OptionSelected, "#results-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        outcome = self._outcomes.get(str(event.option.id))
        if outcome is not None and outcome.conflict:
            self.dismiss(outcome)

    def action_close(self) -> None:
        """Close the log."""
        self.dismiss(None)


# -- the controller ---------------------------------------------------------------------------


class ResolveFinished(Message):
    """A conflict's way out or an untag finished."""

    def __init__(self, log: ResultLog) -> None:
        super().__init__()
        self.log = log


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
        plan = plan_delete(rows)
        images = self._images()
        needed = set(plan.removed_ids) | {i.id for i in images if i.shared_size != 0}
        missing = needed - set(self.layer_data) - self._asked
        if missing and self.has_service:
            self._asked |= missing
            self.load_layers(images, set(plan.removed_ids), frozenset(missing))
        if needed - set(self.layer_data):
            return approximate_freed(plan.removed_ids, images)
        return freed_space(plan.removed_ids, images, self.layer_data)

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
            self.images_screen._update_summary()
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
