"""`X`: the cleanup wizard. Options, then a preview of exactly what goes, then that removal.

The removal runs on the previewed set, image by image, never as a blind `docker image prune`
(which would also take whatever appeared since the preview).
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, RadioButton, RadioSet, Static
from textual.worker import Worker

from tui import format as fmt
from tui.modals.build_cache import BuildCacheLine, BuildCachePrune
from tui.modals.cleanup_messages import RemovalFinished, RemovalProgress
from tui.modals.cleanup_stages import (
    outcome_text,
    press,
    removing_text,
    show_stage_buttons,
    stage_buttons,
    stage_keys,
)
from tui.screens.base import BaseDialog, failure_text
from tui.service.cleanup import (
    PruneOptions,
    PrunePlan,
    ResultLog,
    mark_not_attempted,
    parse_age,
    remove_each,
)
from tui.service.errors import ImagedeckError


class PlanReady(Message):
    """The preview is computed."""

    def __init__(self, plan: PrunePlan) -> None:
        super().__init__()
        self.plan = plan


class PlanFailed(Message):
    """Computing the preview failed."""

    def __init__(self, error: ImagedeckError) -> None:
        super().__init__()
        self.error = error


def preview_text(plan: PrunePlan, width: int = 72) -> Text:
    """Every image that will go, one line each: references, short ID, unique size, age.

    ``width`` is the room the dialog has; long reference lists are cut with '…' so each image
    stays on one line (the full list is in the results log afterwards).
    """
    text = Text()
    if not plan.candidates:
        text.append("Nothing matches: no image would be removed.", style="bold")
    room = max(width - 39, 12)
    label_width = min(max((len(c.label) for c in plan.candidates), default=10), room)
    for index, candidate in enumerate(plan.candidates):
        image = candidate.image
        if index:
            text.append("\n")
        text.append(fmt.ellipsize(candidate.label, label_width).ljust(label_width), style="bold")
        size = fmt.size(image.unique_size).rjust(8)
        text.append(f"  {image.short_id}  {size}  {fmt.age(image.created)}", style="dim")
    return text


def preview_summary(plan: PrunePlan) -> str:
    """Count and space, plus what matched but stays, and why."""
    n = len(plan.candidates)
    space = fmt.size(plan.freed.bytes)
    lines = [
        f"{n} image{'s' if n != 1 else ''} will be removed, "
        f"{'' if plan.freed.exact else 'about '}{space} reclaimed."
    ]
    if plan.kept_for_children:
        lines.append(
            "Kept because other images are built on them: " + "; ".join(plan.kept_for_children)
        )
    if plan.in_use:
        lines.append(f"{plan.in_use} dangling image(s) kept: containers use them.")
    if plan.note:
        lines.append(plan.note)
    return "\n".join(lines)


class PruneWizard(BaseDialog["ResultLog | None"]):
    """Options → preview (exact list and space) → removal of that list → outcome report.

    Esc cancels at the options and the preview (nothing removed); during the removal it stops
    after the current image; after it, it closes. Dismisses with the results log, if any ran.
    """

    CSS_PATH = ["confirm.tcss", "prune.tcss"]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="prune.cancel"),
        Binding("y", "confirm", "Remove", id="prune.confirm"),
        Binding("b", "back", "Back", id="prune.back"),
        Binding("p", "preview", "Preview", id="prune.preview"),
        Binding("r", "retention", "Retention rules", id="prune.retention"),
        Binding("c", "build_cache", "Build cache", id="prune.build_cache"),
    ]

    def __init__(self, filter_text: str = "") -> None:
        super().__init__()
        self.filter_text = filter_text
        self.stage = "options"  # options → previewing → preview → running → done
        self.plan: PrunePlan | None = None
        self.result: ResultLog | None = None
        # The running cleanup's outcomes so far (kept for a worker that fails mid-way).
        self.results: ResultLog | None = None
        self._stop = threading.Event()
        self._preview_plain = ""  # the preview as last written (refresh_ages compares)

    def compose(self) -> ComposeResult:
        """Both stages; only one is shown at a time."""
        with Vertical(classes="dialog", id="prune-dialog"):
            # markup=False: the title names the filter and label the user typed.
            yield Static("Cleanup wizard", classes="dialog-title", id="prune-title", markup=False)
            with Vertical(id="prune-options"):
                with RadioSet(id="prune-mode", compact=True):
                    yield RadioButton("Dangling images only", value=True, id="mode-dangling")
                    yield RadioButton("All images no container uses", id="mode-unused")
                label = (
                    f"Only images the filter shows ({self.filter_text!r})"
                    if self.filter_text
                    else "Only images the filter shows (no filter set)"
                )
                yield Checkbox(
                    Text(label),  # the filter is typed text: never markup
                    bool(self.filter_text),
                    id="prune-filter",
                    compact=True,
                    disabled=not self.filter_text,
                )
                with Horizontal(classes="prune-row"):
                    yield Static("Older than ", classes="prune-label")
                    yield Input(
                        placeholder="any age (e.g. 24h, 7d, 2w)", id="prune-age", compact=True
                    )
                with Horizontal(classes="prune-row"):
                    yield Static("Label      ", classes="prune-label")
                    yield Input(
                        placeholder="key or key=value (empty: any)", id="prune-label", compact=True
                    )
                with RadioSet(id="prune-label-mode", compact=True):
                    yield RadioButton("with the label", value=True, id="label-with")
                    yield RadioButton("without it", id="label-without")
                yield Static("", id="prune-error", classes="dialog-warning", markup=False)
                yield BuildCacheLine(hint="c: prune it", id="prune-build-cache")
                yield Static(
                    "r: retention rules (keep newest N, unused for, until below a size)",
                    id="prune-retention-hint",
                    classes="dialog-keys",
                    markup=False,
                )
            with VerticalScroll(id="prune-preview", classes="dialog-body"):
                yield Static("", id="prune-list")
            yield Static("", id="prune-summary", classes="dialog-status", markup=False)
            yield stage_buttons()
            yield Static("", id="prune-keys", classes="dialog-keys")

    def on_mount(self) -> None:
        """Start at the options."""
        self._show("options")
        self.query_one("#prune-error").display = False
        self.query_one("#prune-mode", RadioSet).focus()
        self.set_interval(fmt.AGE_CHECK_SECONDS, self.refresh_ages)

    def refresh_ages(self) -> bool:
        """The preview's ages stay current while it is open (no daemon call): its lines are
        written again when one now reads differently. Returns whether they were."""
        if self.stage != "preview" or self.plan is None:
            return False
        text = preview_text(self.plan, min(78, self.app.size.width) - 6)
        if text.plain == self._preview_plain:
            return False
        self._preview_plain = text.plain
        self.query_one("#prune-list", Static).update(text)
        return True

    # -- stages ------------------------------------------------------------------------------

    def _show(self, stage: str) -> None:
        self.stage = stage
        options = stage == "options"
        self.query_one("#prune-options").display = options
        self.query_one("#prune-preview").display = stage in ("preview", "running", "done")
        can_remove = self.plan is not None and bool(self.plan.candidates)
        cancel = show_stage_buttons(self, stage, can_remove=can_remove)
        self.query_one("#prune-keys", Static).update(stage_keys(stage, "image"))
        if stage == "options":
            self.query_one("#prune-summary", Static).update("")
        self.query_one("#prune-summary").display = stage != "options"
        if stage == "preview":
            # The list that is about to go has focus, so it scrolls at once (↓, PgDn) before
            # `y` can be pressed; nothing destructive is focused.
            self.query_one("#prune-preview", VerticalScroll).focus()
        elif stage == "done":
            cancel.focus()

    def options(self) -> PruneOptions | None:
        """The options as entered, or None (with the reason shown) when the age is wrong."""
        error = self.query_one("#prune-error", Static)
        try:
            age = parse_age(self.query_one("#prune-age", Input).value)
        except ValueError as exc:
            error.update(str(exc))
            error.display = True
            return None
        error.display = False
        unused = self.query_one("#mode-unused", RadioButton).value
        use_filter = self.query_one("#prune-filter", Checkbox).value and bool(self.filter_text)
        return PruneOptions(
            mode="unused" if unused else "dangling",
            filter_text=self.filter_text if use_filter else "",
            older_than=age,
            label=self.query_one("#prune-label", Input).value.strip(),
            with_label=self.query_one("#label-with", RadioButton).value,
        )

    def action_build_cache(self) -> None:
        """`c` at the options: the build cache's own prune; its line is read again after."""
        if self.stage != "options":
            return
        line = self.query_one(BuildCacheLine)

        def pruned(_result: object) -> None:
            line.load()

        self.app.push_screen(BuildCachePrune(), pruned)

    def action_preview(self) -> None:
        """Compute the plan (nothing is removed)."""
        if self.stage != "options":
            return
        options = self.options()
        if options is None:
            return
        self._show("previewing")
        self.query_one("#prune-summary", Static).update(f"Looking for {options.describe()}…")
        self.make_plan(options)

    @work(thread=True, exclusive=True, group="prune-plan", exit_on_error=False)
    def make_plan(self, options: PruneOptions) -> None:
        """The service lists, filters and sizes the candidates."""
        try:
            service = self.service
            self.post_message(PlanReady(service.plan_prune(options)))
        except ImagedeckError as exc:
            self.post_message(PlanFailed(exc))

    def on_plan_ready(self, message: PlanReady) -> None:
        """Show exactly what would go."""
        if self.stage != "previewing":
            return
        self.plan = message.plan
        self.query_one("#prune-title", Static).update(
            f"Cleanup preview: {message.plan.options.describe()}"
        )
        width = min(78, self.app.size.width) - 6
        preview = preview_text(message.plan, width)
        self._preview_plain = preview.plain
        self.query_one("#prune-list", Static).update(preview)
        self.query_one("#prune-summary", Static).update(preview_summary(message.plan))
        self._show("preview")

    def on_plan_failed(self, message: PlanFailed) -> None:
        """Back to the options, with the reason."""
        self._show("options")
        error = self.query_one("#prune-error", Static)
        error.update(str(message.error))
        error.display = True

    def action_retention(self) -> None:
        """`r` at the options: the retention rules' own preview and run (tui/modals/retention.py);
        the wizard closes with its results."""
        if self.stage != "options":
            return
        from tui.modals.retention import RetentionDialog

        defaults = dict(getattr(getattr(self.app, "config", None), "prune", {}) or {})

        def done(log: ResultLog | None) -> None:
            if log is not None:
                self.dismiss(log)

        self.app.push_screen(RetentionDialog(defaults), done)

    def action_back(self) -> None:
        """From the preview back to the options."""
        if self.stage == "preview":
            self.plan = None
            self.query_one("#prune-title", Static).update("Cleanup wizard")
            self._show("options")
            self.query_one("#prune-mode", RadioSet).focus()

    def action_confirm(self) -> None:
        """`y` in the preview: remove exactly the previewed images."""
        if self.stage != "preview" or self.plan is None or not self.plan.candidates:
            return
        self._show("running")
        self.run_plan(self.plan)

    @work(thread=True, exclusive=True, group="prune-run", exit_on_error=False)
    def run_plan(self, plan: PrunePlan) -> None:
        """Each previewed image in turn (children first), never forced."""
        service = self.service
        log = self.results = ResultLog(f"Cleanup ({plan.options.describe()})")
        remove_each(
            log,
            plan.candidates,
            lambda candidate: service.remove_image_fully(candidate.image),
            lambda candidate: (candidate.label, candidate.image.id),
            self._stop,
            lambda done, total, current: self.post_message(RemovalProgress(done, total, current)),
            stopped="stopped before this image",
        )
        removed = [o.image_id for o in log.outcomes if o.status == "deleted"]
        freed = plan.freed_by(removed)
        log.freed = freed.bytes
        log.freed_estimate = "" if freed.exact else (freed.why or "some layer sizes estimated")
        self.post_message(RemovalFinished(log))

    def worker_failed(self, worker: Worker[Any], error: BaseException | None) -> None:
        """Hand control back: a failed preview returns to the options with the reason, a
        failed run ends with what it did and the rest marked "not attempted"."""
        reason = failure_text(error)
        if worker.group == "prune-plan":
            self.post_message(PlanFailed(ImagedeckError(reason)))
        elif worker.group == "prune-run" and self.plan is not None:
            log = self.results or ResultLog(f"Cleanup ({self.plan.options.describe()})")
            done = {o.image_id for o in log.outcomes}
            rest = [(c.label, c.image.id) for c in self.plan.candidates if c.image.id not in done]
            mark_not_attempted(log, rest, f"not attempted: {reason}")
            self.post_message(RemovalFinished(log))

    def on_removal_progress(self, message: RemovalProgress) -> None:
        """Which image is being removed."""
        self.query_one("#prune-summary", Static).update(
            removing_text(message.done, message.total, message.current)
        )

    def on_removal_finished(self, message: RemovalFinished) -> None:
        """The outcome report: what went, what failed and why, the space reclaimed."""
        self.result = message.log
        log = message.log
        self.query_one("#prune-list", Static).update(outcome_text(log))
        removed = log.counts().get("deleted", 0)
        self.query_one("#prune-title", Static).update("Cleanup finished")
        self.query_one("#prune-summary", Static).update(
            f"{removed} image{'s' if removed != 1 else ''} removed, "
            f"{log.freed_words(fmt.size)} reclaimed. {log.summary().capitalize()}."
        )
        self._show("done")

    # -- keys and buttons --------------------------------------------------------------------

    @on(Input.Submitted)
    def _submitted(self, _: Input.Submitted) -> None:
        self.action_preview()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Buttons answer like the keys."""
        press(self, event)

    def action_cancel(self) -> None:
        """The safe answer at each stage."""
        if self.stage == "running":
            self._stop.set()
            self.query_one("#prune-keys", Static).update("Stopping after the current image…")
            return
        self.dismiss(self.result)
