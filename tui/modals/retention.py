"""Retention rules in the cleanup wizard (`X`, then `r`): rules → exact preview → that removal.

The rules combine (see :mod:`tui.service.retention`): keep the newest N tags of each
repository, only what was not used for a while, least recently used first until the images use
less than a size, never repositories matching keep patterns, never an image a container uses.
They start from the config file's ``[prune]`` table. The preview lists every reference that
goes (untag or delete, and why) with the space that comes back; ``y`` hands exactly those
references to the daemon, one by one, never forced.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, Static
from textual.worker import Worker, get_current_worker

from tui import format as fmt
from tui.modals.cleanup_messages import RemovalFinished, RemovalProgress
from tui.modals.cleanup_stages import (
    outcome_text,
    press,
    removing_text,
    show_stage_buttons,
    stage_buttons,
    stage_keys,
)
from tui.safe_text import safe, visible
from tui.screens.base import BaseDialog, failure_text
from tui.service.cleanup import ResultLog, row_reference
from tui.service.errors import ImagedeckError
from tui.service.policy import RetentionPolicy, policy_from_text


class RetentionPlanReady(Message):
    """The preview is computed."""

    def __init__(self, plan: Any) -> None:
        super().__init__()
        self.plan = plan


class RetentionPlanFailed(Message):
    """Computing the preview failed."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


def plan_lines(plan: Any, width: int = 72) -> Text:
    """One line per reference: untag or delete, the reference, its last use, and why."""
    text = Text()
    if not plan.delete.items:
        text.append("Nothing matches: no tag or image would be removed.", style="bold")
    by_ref = {row_reference(p.row): p for p in plan.rows}
    refs = [visible(i.reference) for i in plan.delete.items]
    ref_width = min(max((len(r) for r in refs), default=10), max(width // 3, 12))
    for index, item in enumerate(plan.delete.items):
        if index:
            text.append("\n")
        planned = by_ref.get(item.reference)
        used = (
            planned.last_used.strftime("%Y-%m-%d") if planned and planned.last_used else "unknown"
        )
        style = "bold red" if item.action == "delete" else "bold"
        text.append(f"{item.action:<7}", style=style)
        text.append(fmt.ellipsize(refs[index], ref_width).ljust(ref_width))
        reason = visible(planned.reason) if planned else ""
        rest = f"  used {used} · {reason}"
        room = max(width - 7 - ref_width, 0)
        text.append(fmt.ellipsize(rest, room), style="dim")
    for kept in plan.kept:
        text.append("\nkept   ", style="green")
        text.append(fmt.ellipsize(f"{visible(kept.label)}: {visible(kept.reason)}", width - 7))
    return text


def plan_summary(plan: Any) -> str:
    """Counts, space (exact or not), the disk target and the record's start."""
    deletes, untags = plan.delete.deletes, plan.delete.untags
    about = "" if plan.freed.exact else "about "
    lines = [
        f"{deletes} image{'s' if deletes != 1 else ''} deleted, "
        f"{untags} tag{'s' if untags != 1 else ''} removed: "
        f"{about}{fmt.size(plan.freed.bytes)} reclaimed."
    ]
    if plan.disk_before is not None and plan.policy.below is not None:
        lines.append(
            f"Images use {fmt.size(plan.disk_before)}; after: {fmt.size(plan.disk_after)} "
            f"(target below {fmt.size(plan.policy.below)})."
        )
    if plan.since is not None:
        lines.append(
            f"Last use recorded since {plan.since.strftime('%Y-%m-%d %H:%M')} UTC; "
            "images not seen in use count as unused since then."
        )
    elif plan.policy.unused_for is not None or plan.policy.below is not None:
        lines.append("No last-use record: creation times stand in for last use.")
    return "\n".join(lines)


class RetentionDialog(BaseDialog["ResultLog | None"]):
    """Rules → preview (every reference, the space) → removal of exactly that → outcome.

    Esc cancels at the rules and the preview; during the removal it stops after the current
    reference; after it, it closes. Dismisses with the results log, if anything ran.
    """

    CSS_PATH = ["confirm.tcss", "prune.tcss", "retention.tcss"]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="retention.cancel"),
        Binding("y", "confirm", "Remove", id="retention.confirm"),
        Binding("b", "back", "Back", id="retention.back"),
        Binding("p", "preview", "Preview", id="retention.preview"),
    ]

    def __init__(self, defaults: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.defaults = dict(defaults or {})
        self.stage = "options"
        self.plan: Any = None
        self.result: ResultLog | None = None

    def compose(self) -> ComposeResult:
        """The rules, the preview, the buttons."""
        d = self.defaults
        with Vertical(classes="dialog", id="retention-dialog"):
            yield Static("Cleanup by retention rules", classes="dialog-title", id="retention-title")
            with Vertical(id="retention-options"):
                for field, label, placeholder, value in (
                    ("keep-last", "Keep newest", "N tags of each repository", d.get("keep_last")),
                    (
                        "unused-for",
                        "Unused for ",
                        "e.g. 30d, 12h, 2w (empty: any)",
                        d.get("unused_for"),
                    ),
                    ("below", "Until below", "a size, e.g. 20GB (LRU first)", d.get("below")),
                    ("keep", "Never touch", "patterns, e.g. imagedeck/* *:release-*", None),
                ):
                    with Horizontal(classes="prune-row"):
                        yield Static(label, classes="retention-label")
                        text = " ".join(d.get("keep", ())) if field == "keep" else value
                        yield Input(
                            "" if text is None else str(text),
                            placeholder=placeholder,
                            id=f"retention-{field}",
                            compact=True,
                        )
                yield Checkbox(
                    "Dangling images too",
                    bool(d.get("dangling", False)),
                    id="retention-dangling",
                    compact=True,
                )
                yield Static(
                    "Rules combine: a tag goes only when no rule keeps it. Images a container "
                    "uses, and images others are built on, always stay.",
                    classes="dialog-note",
                )
                yield Static("", id="retention-error", classes="dialog-warning", markup=False)
            with VerticalScroll(id="retention-preview", classes="dialog-body"):
                yield Static("", id="retention-list")
            yield Static("", id="retention-summary", classes="dialog-status", markup=False)
            yield stage_buttons()
            yield Static("", id="retention-keys", classes="dialog-keys", markup=False)

    def on_mount(self) -> None:
        """Start at the rules."""
        self.query_one("#retention-error").display = False
        self._show("options")
        self.query_one("#retention-keep-last", Input).focus()

    # -- stages ------------------------------------------------------------------------------

    def _show(self, stage: str) -> None:
        self.stage = stage
        options = stage == "options"
        self.query_one("#retention-options").display = options
        self.query_one("#retention-preview").display = not options and stage != "previewing"
        can_remove = self.plan is not None and bool(self.plan.delete.items)
        cancel = show_stage_buttons(self, stage, can_remove=can_remove)
        self.query_one("#retention-keys", Static).update(stage_keys(stage, "reference"))
        self.query_one("#retention-summary").display = not options
        if stage in ("preview", "done"):
            cancel.focus()

    def policy(self) -> RetentionPolicy | None:
        """The rules as entered, or None (with the reason shown) when one is wrong."""
        error = self.query_one("#retention-error", Static)
        try:
            policy = policy_from_text(
                keep_last=self.query_one("#retention-keep-last", Input).value,
                unused_for=self.query_one("#retention-unused-for", Input).value,
                below=self.query_one("#retention-below", Input).value,
                keep=self.query_one("#retention-keep", Input).value.replace(",", " ").split(),
                dangling=self.query_one("#retention-dangling", Checkbox).value,
            )
        except ValueError as exc:
            error.update(str(exc))
            error.display = True
            return None
        if policy.empty:
            error.update("Give at least one rule: keep newest, unused for, until below, dangling.")
            error.display = True
            return None
        error.display = False
        return policy

    def action_preview(self) -> None:
        """Compute the plan (nothing is removed)."""
        if self.stage != "options":
            return
        policy = self.policy()
        if policy is None:
            return
        self._show("previewing")
        self.query_one("#retention-summary", Static).update(f"Planning: {policy.describe()}…")
        self.make_plan(policy)

    @work(thread=True, exclusive=True, group="retention-plan", exit_on_error=False)
    def make_plan(self, policy: RetentionPolicy) -> None:
        """Images, containers, parents and layers from the daemon; then the pure planner."""
        from tui.service.retention import gather, plan_retention

        recorder = getattr(self.app, "last_used", None)
        record = recorder.record if recorder is not None else None
        try:
            self.post_message(
                RetentionPlanReady(plan_retention(policy, gather(self.service, record)))
            )
        except ImagedeckError as exc:
            self.post_message(RetentionPlanFailed(str(exc)))

    def on_retention_plan_ready(self, message: RetentionPlanReady) -> None:
        """Show exactly what would go."""
        if self.stage != "previewing":
            return
        self.plan = message.plan
        self.query_one("#retention-title", Static).update(
            safe(f"Preview: {message.plan.policy.describe()}")
        )
        width = min(78, self.app.size.width) - 6
        self.query_one("#retention-list", Static).update(plan_lines(message.plan, width))
        self.query_one("#retention-summary", Static).update(plan_summary(message.plan))
        self._show("preview")

    def on_retention_plan_failed(self, message: RetentionPlanFailed) -> None:
        """Back to the rules, with the reason."""
        self._show("options")
        error = self.query_one("#retention-error", Static)
        error.update(message.reason)
        error.display = True

    def action_back(self) -> None:
        """From the preview back to the rules."""
        if self.stage == "preview":
            self.plan = None
            self.query_one("#retention-title", Static).update("Cleanup by retention rules")
            self._show("options")
            self.query_one("#retention-keep-last", Input).focus()

    def action_confirm(self) -> None:
        """`y` in the preview: remove exactly the previewed references."""
        if self.stage != "preview" or self.plan is None or not self.plan.delete.items:
            return
        self._show("running")
        self.run_plan(self.plan)

    @work(thread=True, exclusive=True, group="retention-run", exit_on_error=False)
    def run_plan(self, plan: Any) -> None:
        """The previewed references in turn (children first), never forced."""
        from tui.service.retention import run_retention

        log = run_retention(
            self.service,
            plan,
            stop=get_current_worker().cancelled_event,  # Esc cancels this worker
            progress=lambda done, total, ref: self.post_message(RemovalProgress(done, total, ref)),
        )
        self.post_message(RemovalFinished(log))

    def worker_failed(self, worker: Worker[Any], error: BaseException | None) -> None:
        """A failed preview returns to the rules with the reason; a failed run ends the dialog
        with an empty report (the results log says what happened)."""
        reason = failure_text(error)
        if worker.group == "retention-plan":
            self.post_message(RetentionPlanFailed(reason))
        elif worker.group == "retention-run":
            log = ResultLog("Cleanup by retention rules")
            self.post_message(RemovalFinished(log))

    def on_removal_progress(self, message: RemovalProgress) -> None:
        """Which reference is being removed."""
        self.query_one("#retention-summary", Static).update(
            removing_text(message.done, message.total, message.current)
        )

    def on_removal_finished(self, message: RemovalFinished) -> None:
        """The outcome: what went, what failed and why, the space reclaimed."""
        self.result = log = message.log
        self.query_one("#retention-list", Static).update(outcome_text(log))
        self.query_one("#retention-title", Static).update("Cleanup finished")
        self.query_one("#retention-summary", Static).update(
            f"{log.summary().capitalize()}: {fmt.size(log.freed or 0)} reclaimed."
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
            self.workers.cancel_group(self, "retention-run")
            self.query_one("#retention-keys", Static).update("Stopping after the current item…")
            return
        self.dismiss(self.result)
