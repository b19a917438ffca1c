"""The fleet's delete and cleanup dialog: one preview grouped by daemon, then each outcome.

Stages: (cleanup only) choose what to clean up; the daemons are asked for their plans in a
worker; the preview lists, per daemon, exactly what will be handed to that daemon; `y` carries
it out (each daemon's part on that daemon, in a worker); the results list each outcome under
its daemon. Focus starts on Cancel; Esc at any stage before the run is the safe answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Static
from textual.worker import Worker

from tui import format as fmt
from tui.safe_text import safe
from tui.screens.base import BaseDialog, failure_text
from tui.service.cleanup_plan import Outcome, PruneOptions
from tui.service.fleet import FleetOutcome, FleetPlan

if TYPE_CHECKING:
    from tui.service.api import ImageServiceAPI

Planner = Callable[[PruneOptions], FleetPlan]
Executor = Callable[[FleetPlan, threading.Event, Callable[[FleetOutcome], object]], list[Any]]
# A daemon's service if it is connected (Fleet.connected: never connects, UI-thread safe).
ServiceOf = Callable[[str], "ImageServiceAPI | None"]


def plan_text(plan: FleetPlan) -> Text:
    """The preview: per daemon a heading with its counts and freed space, then its lines."""
    text = Text()
    for group in plan.groups:
        if text:
            text.append("\n")
        if group.problem:
            text.append(safe(group.daemon, "bold"))
            text.append(safe(f" — {group.problem}", "italic"))
            text.append("\n")
            continue
        deletes = sum(1 for line in group.lines if line.action == "delete")
        untags = len(group.lines) - deletes
        counts = [f"{deletes} to delete"] if deletes else []
        if untags:
            counts.append(f"{untags} to untag")
        if group.freed is not None and deletes:
            about = "" if group.freed.exact else "about "
            counts.append(f"frees {about}{fmt.size(group.freed.bytes)}")
        text.append(safe(group.daemon, "bold"))
        text.append(f" — {', '.join(counts) or 'nothing to do'}\n")
        for line in group.lines:
            detail = f"  ({line.detail})" if line.detail else ""
            text.append(safe(f"  {line.action:<6} {line.subject}{detail}"))
            text.append("\n")
        if group.note:
            text.append(safe(f"  {group.note}", "italic"))
            text.append("\n")
    text.rstrip()
    return text


def outcome_text(outcomes: list[FleetOutcome], names: tuple[str, ...]) -> Text:
    """The results: per daemon its counts, then each outcome's line."""
    text = Text()
    for name in names:
        mine = [o.outcome for o in outcomes if o.daemon == name]
        if not mine:
            continue
        if text:
            text.append("\n")
        counts: dict[str, int] = {}
        for outcome in mine:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        words = ", ".join(f"{n} {status}" for status, n in counts.items())
        text.append(safe(name, "bold"))
        text.append(f" — {words}\n")
        for outcome in mine:
            text.append(safe(f"  {outcome.line()}"))
            text.append("\n")
    text.rstrip()
    return text


class PlanReady(Message):
    """The daemons' plans arrived."""

    def __init__(self, plan: FleetPlan) -> None:
        super().__init__()
        self.plan = plan


class StepDone(Message):
    """One step of the run ended (on some daemon)."""

    def __init__(self, outcome: FleetOutcome) -> None:
        super().__init__()
        self.outcome = outcome


class Resolved(Message):
    """A conflict's way out ended on its daemon: the outcomes that replace the conflict."""

    def __init__(self, conflict: FleetOutcome, outcomes: list[Outcome]) -> None:
        super().__init__()
        self.conflict = conflict
        self.outcomes = outcomes


class RunDone(Message):
    """Every daemon's part has run."""

    def __init__(self, outcomes: list[FleetOutcome]) -> None:
        super().__init__()
        self.outcomes = outcomes


class FleetPlanDialog(BaseDialog[list[FleetOutcome] | None]):
    """Preview grouped by daemon, then the run and each outcome (see the module docstring)."""

    CSS_PATH = "fleet.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "cancel", "Cancel", id="fleet_plan.cancel"),
        Binding("y", "confirm", "Confirm", id="fleet_plan.yes"),
        Binding("d", "choose('dangling')", "Dangling", show=False, id="fleet_plan.dangling"),
        Binding("u", "choose('unused')", "Unused", show=False, id="fleet_plan.unused"),
        Binding("r", "resolve", "Ways out", show=False, id="fleet_plan.resolve"),
    ]

    def __init__(
        self,
        names: tuple[str, ...],
        executor: Executor,
        *,
        plan: FleetPlan | None = None,
        planner: Planner | None = None,
        filter_text: str = "",
        service_of: ServiceOf | None = None,
    ) -> None:
        """``service_of``: a daemon's service by name, for a conflict's ways out (``r``)."""
        super().__init__()
        self.service_of = service_of
        self.resolving = False
        self.names = names
        self.executor = executor
        self.planner = planner
        self.filter_text = filter_text
        self.plan = plan
        self.stage = "preview" if plan is not None else "options"
        self.outcomes: list[FleetOutcome] = []
        self.stop = threading.Event()

    def compose(self) -> ComposeResult:
        """Title, body (options, preview or results), status, buttons, keys."""
        with Vertical(id="fleet-plan-box", classes="dialog danger"):
            yield Static("", id="fleet-plan-title", classes="dialog-title", markup=False)
            with VerticalScroll(id="fleet-plan-body", classes="dialog-body"):
                yield Static("", id="fleet-plan-text", markup=False)
            yield Static("", id="fleet-plan-status", classes="dialog-status", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", variant="primary", compact=True)
                yield Button("Dangling (d)", id="dangling", compact=True)
                yield Button("Unused (u)", id="unused", compact=True)
                yield Button("Delete (y)", id="confirm", variant="error", compact=True)
                yield Button("Ways out (r)", id="resolve", variant="warning", compact=True)
            yield Static("", id="fleet-plan-keys", classes="dialog-keys", markup=False)

    def on_mount(self) -> None:
        """Show the first stage; Cancel has the focus (Enter alone removes nothing)."""
        self._show()
        self.query_one("#cancel", Button).focus()

    def _show(self) -> None:
        stage = self.stage
        title = self.query_one("#fleet-plan-title", Static)
        body = self.query_one("#fleet-plan-text", Static)
        status = self.query_one("#fleet-plan-status", Static)
        keys = self.query_one("#fleet-plan-keys", Static)
        self.query_one("#dangling", Button).display = stage == "options"
        self.query_one("#unused", Button).display = stage == "options"
        self.query_one("#confirm", Button).display = stage == "preview" and self._has_work()
        conflicts = self.conflicts() if stage == "done" else []
        self.query_one("#resolve", Button).display = bool(conflicts)
        self.query_one("#resolve", Button).disabled = self.resolving
        cancel = self.query_one("#cancel", Button)
        cancel.label = "Close" if stage == "done" else "Cancel"
        cancel.disabled = stage == "running"
        daemons = f"{len(self.names)} daemons" if len(self.names) != 1 else self.names[0]
        if stage == "options":
            title.update(f"Clean up on {daemons}")
            where = f" matching {self.filter_text!r}" if self.filter_text else ""
            body.update(
                f"Remove, on each daemon, its dangling images{where} (d), or every image{where} "
                "no container uses (u). Each daemon's plan is shown before anything is removed."
            )
            status.update("")
            keys.update("d dangling · u unused · Esc cancel")
        elif stage == "planning":
            title.update(f"Clean up on {daemons}")
            body.update("Asking each daemon what it would remove…")
            keys.update("Esc cancel")
        elif stage == "preview" and self.plan is not None:
            plan = self.plan
            verb = "Delete" if plan.kind == "delete" else "Clean up"
            what = f": {plan.what}" if plan.what else ""
            where = f"{len(plan.groups)} of {daemons}" if len(self.names) > 1 else daemons
            title.update(f"{verb} on {where}{what}")
            body.update(plan_text(plan))
            status.update(
                f"{plan.count} step(s), each on its own daemon."
                if self._has_work()
                else "Nothing to remove on any daemon."
            )
            keys.update("y confirm · Esc cancel")
        elif stage == "running":
            total = self.plan.count if self.plan is not None else 0
            status.update(f"Removing… {len(self.outcomes)} of {total} done")
            keys.update("")
        elif stage == "done":
            title.update("Results by daemon")
            body.update(outcome_text(self.outcomes, self.names))
            failed = sum(1 for o in self.outcomes if not o.outcome.ok)
            said = (
                f"{len(self.outcomes)} step(s) carried out, {failed} failed."
                if failed
                else f"{len(self.outcomes)} step(s) carried out, none failed."
            )
            if conflicts:
                first = conflicts[0]
                said += (
                    f" {len(conflicts)} in use or with child images: r shows the ways out "
                    f"for {first.outcome.subject} on {first.daemon}."
                )
            status.update(safe(said))
            if conflicts:
                keys.update("r ways out (asks first, on that daemon only) · Enter or Esc close")
            else:
                keys.update("Enter or Esc close")
            cancel.focus()

    def _has_work(self) -> bool:
        return self.plan is not None and self.plan.count > 0

    # -- options and planning ------------------------------------------------------------------

    def action_choose(self, mode: str) -> None:
        """Cleanup: ask each daemon for its plan in this mode."""
        if self.stage != "options" or self.planner is None:
            return
        options = PruneOptions(
            mode="unused" if mode == "unused" else "dangling", filter_text=self.filter_text
        )
        self.stage = "planning"
        self._show()
        self.make_plan(options)

    @work(thread=True, exclusive=True, group="fleet-plan", exit_on_error=False)
    def make_plan(self, options: PruneOptions) -> None:
        """Every daemon's plan (a daemon that cannot plan says why in its group)."""
        if self.planner is not None:
            self.post_message(PlanReady(self.planner(options)))

    def on_plan_ready(self, message: PlanReady) -> None:
        """Show the preview."""
        if self.stage != "planning":
            return
        self.plan = message.plan
        self.stage = "preview"
        self._show()
        self.query_one("#cancel", Button).focus()

    # -- the run -------------------------------------------------------------------------------

    def action_confirm(self) -> None:
        """Carry the plan out (only from the preview, only when there is something to do)."""
        if self.stage != "preview" or not self._has_work() or self.plan is None:
            return
        self.stage = "running"
        self._show()
        self.run_plan(self.plan)

    @work(thread=True, exclusive=True, group="fleet-run", exit_on_error=False)
    def run_plan(self, plan: FleetPlan) -> None:
        """Each daemon's part on that daemon; each step's outcome as it ends."""
        outcomes = self.executor(plan, self.stop, lambda o: self.post_message(StepDone(o)))
        self.post_message(RunDone(outcomes))

    def on_step_done(self, message: StepDone) -> None:
        """Count the step."""
        if self.stage == "running":
            self.outcomes.append(message.outcome)
            self._show()

    def on_run_done(self, message: RunDone) -> None:
        """Show every outcome, grouped by daemon."""
        self.outcomes = list(message.outcomes)
        self.stage = "done"
        self._show()

    # -- a conflict's ways out (as on the single list: containers then image, or force) --------

    def conflicts(self) -> list[FleetOutcome]:
        """The failed outcomes the conflict dialog can explain, in fleet order."""
        return [o for o in self.outcomes if o.outcome.conflict]

    def action_resolve(self) -> None:
        """The first conflict's ways out, on its daemon: the conflict dialog (Cancel focused;
        r removes the stopped containers then the image; f asks again before forcing)."""
        conflicts = self.conflicts()
        if self.stage != "done" or not conflicts or self.resolving or self.service_of is None:
            return
        from tui.modals.conflict import ConflictDialog

        conflict = conflicts[0]
        source = self.service_of(conflict.daemon)
        if source is None:
            self.query_one("#fleet-plan-status", Static).update(
                f"{conflict.daemon} is not connected: close and press R to ask it again."
            )
            return
        dialog = ConflictDialog(conflict.outcome, source=source, where=conflict.daemon)
        self.app.push_screen(dialog, lambda choice: self._chosen(conflict, choice))

    def _chosen(self, conflict: FleetOutcome, choice: str | None) -> None:
        if choice == "containers":
            self._resolve_start(conflict, "containers")
        elif choice == "force":
            from tui.modals.confirm import ConfirmDialog
            from tui.modals.conflict import force_warning

            outcome = conflict.outcome
            dialog = ConfirmDialog(
                f"Force remove {outcome.subject} on {conflict.daemon}?",
                force_warning(outcome),
                confirm_label="Force remove",
                warning="This is not the default way out. Cancel and press r to remove "
                "the container first.",
            )
            self.app.push_screen(
                dialog, lambda ok: self._resolve_start(conflict, "force") if ok else None
            )

    def _resolve_start(self, conflict: FleetOutcome, choice: str) -> None:
        self.resolving = True
        what = "Removing the containers, then" if choice == "containers" else "Force removing"
        self._show()
        self.query_one("#fleet-plan-status", Static).update(
            safe(f"{what} {conflict.outcome.subject} on {conflict.daemon}…")
        )
        self.run_resolution(conflict, choice)

    @work(thread=True, exclusive=True, group="fleet-resolve", exit_on_error=False)
    def run_resolution(self, conflict: FleetOutcome, choice: str) -> None:
        """Containers then image, or force, on the conflict's own daemon only."""
        service = self.service_of(conflict.daemon) if self.service_of is not None else None
        outcome = conflict.outcome
        if service is None:
            failed = Outcome(outcome.subject, "failed", f"{conflict.daemon} is not connected")
            self.post_message(Resolved(conflict, [failed]))
            return
        if choice == "containers":
            outcomes = service.remove_with_containers(outcome.subject, outcome.holders)
        else:
            outcomes = [service.force_remove(outcome.subject)]
        self.post_message(Resolved(conflict, outcomes))

    def on_resolved(self, message: Resolved) -> None:
        """The way out's outcomes take the conflict's place under its daemon."""
        self.resolving = False
        replaced = [FleetOutcome(message.conflict.daemon, o) for o in message.outcomes]
        at = next(
            (n for n, o in enumerate(self.outcomes) if o is message.conflict), len(self.outcomes)
        )
        self.outcomes[at : at + 1] = replaced
        self._show()

    def worker_failed(self, worker: Worker[Any], error: BaseException | None) -> None:
        """A failed plan or run gives control back with the reason."""
        reason = failure_text(error)
        if worker.group == "fleet-resolve":
            self.resolving = False
            self._show()
            self.query_one("#fleet-plan-status", Static).update(reason)
            return
        if worker.group == "fleet-plan":
            self.stage = "options"
        else:
            self.stage = "done"
        self._show()
        self.query_one("#fleet-plan-status", Static).update(reason)

    # -- leaving -------------------------------------------------------------------------------

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button = event.button.id
        if button == "confirm":
            self.action_confirm()
        elif button == "resolve":
            self.action_resolve()
        elif button in ("dangling", "unused"):
            self.action_choose(button)
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        """Before the run: nothing happens. After it: close with the outcomes."""
        if self.stage == "running":
            self.stop.set()  # the steps not started are reported as not attempted
            return
        self.dismiss(self.outcomes if self.stage == "done" else None)
