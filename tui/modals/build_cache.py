"""The build cache in the cleanup wizard: its line, and its own prune (preview equals result).

``BuildCacheLine`` reads the daemon's build cache in a worker and says, in one line, how big
it is and how much of it nothing used for a week ("build cache: 3.1 GB, 2.4 GB unused for 7
days"). ``BuildCachePrune`` asks for an age, previews exactly which records go (the service's
``plan_cache_prune``) and removes exactly those (``prune_cache``, record by record), then says
what went, what the daemon kept, and what it reclaimed. Both only need the service's
``build_cache`` / ``plan_cache_prune`` / ``prune_cache``, so another screen (a disk map, a
headless prune) can reuse them as they are.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Input, Static
from textual.worker import Worker

from tui import format as fmt
from tui.safe_text import visible
from tui.screens.base import BaseDialog, ServiceNode, app_service, failure_text
from tui.service.buildkit import BuildCacheUsage, CachePrunePlan, CachePruneResult
from tui.service.cleanup import parse_age
from tui.service.errors import ImagedeckError, NotConnected

UNUSED_FOR = timedelta(days=7)


def _days(delta: timedelta) -> str:
    days = delta.total_seconds() / 86400
    if days >= 1 and days == int(days):
        return f"{int(days)} day{'s' if days != 1 else ''}"
    hours = delta.total_seconds() / 3600
    return f"{hours:g} hours"


def cache_line(usage: BuildCacheUsage, now: datetime, age: timedelta = UNUSED_FOR) -> str:
    """``build cache: 3.1 GB, 2.4 GB unused for 7 days`` (or that it is empty)."""
    if not usage.records:
        return "build cache: empty"
    unused = usage.unused_for(age, now)
    return (
        f"build cache: {fmt.size(usage.size)}, {fmt.size(unused)} unused for {_days(age)}"
        f" ({len(usage.records)} records)"
    )


def plan_text(plan: CachePrunePlan, now: datetime, width: int = 72) -> Text:
    """One line per record the prune removes: size, idle time, type, description."""
    text = Text()
    for index, record in enumerate(plan.records):
        if index:
            text.append("\n")
        size = "shared" if record.shared else fmt.size(record.size)
        idle = fmt.age(record.idle_since, now)
        what = visible(f"{record.type}: {record.description}")
        line = f"{size:>9}  {idle:<16} {what}"
        text.append(line[:width])
    if not plan.records:
        text.append("Nothing matches: no cache record is unused for that long.", style="italic")
    return text


def plan_summary(plan: CachePrunePlan) -> str:
    """What the preview promises."""
    parts = [f"{len(plan.records)} records, frees {fmt.size(plan.freed)}"]
    if plan.kept_in_use:
        parts.append(f"{plan.kept_in_use} in use kept")
    if plan.kept_for_children:
        parts.append(f"{plan.kept_for_children} kept for newer records built on them")
    return " · ".join(parts)


def result_summary(plan: CachePrunePlan, result: CachePruneResult) -> str:
    """What happened, compared with the preview."""
    went = len(set(result.deleted) & {r.id for r in plan.records})
    text = (
        f"{went} of {len(plan.records)} records removed, {fmt.size(result.reclaimed)} reclaimed"
        f" (the preview said {fmt.size(plan.freed)})."
    )
    if result.failed:
        text += f" {len(result.failed)} kept by the daemon."
    if result.extra:
        text += f" {len(result.extra)} more went with them."
    return text


class CacheLoaded(Message):
    """The build cache was read (``usage`` None: with ``error`` saying why not)."""

    def __init__(self, usage: BuildCacheUsage | None, error: str = "") -> None:
        super().__init__()
        self.usage = usage
        self.error = error


class BuildCacheLine(ServiceNode, Static):
    """One line about the build cache; reads it in a worker when mounted (and on ``load``).

    A ServiceNode: a worker's unexpected failure is logged and shown like any other (a
    worker's StateChanged does not bubble to the screen), and the line says it is unknown."""

    DEFAULT_CSS = """
    BuildCacheLine {
        color: $text-muted;
        height: auto;
    }
    """

    def __init__(self, *, hint: str = "", id: str | None = None) -> None:
        super().__init__("build cache: reading…", id=id, markup=False)
        self.hint = hint
        self.usage: BuildCacheUsage | None = None

    def on_mount(self) -> None:
        """Read the cache."""
        self.load()

    @work(thread=True, exclusive=True, group="build-cache-line", exit_on_error=False)
    def load(self) -> None:
        """Read the build cache (the service's /system/df) off the UI thread."""
        try:
            service = app_service(self.app)
        except NotConnected:
            self.post_message(CacheLoaded(None, "not connected"))
            return
        try:
            self.post_message(CacheLoaded(service.build_cache()))
        except ImagedeckError as exc:
            self.post_message(CacheLoaded(None, str(exc)))

    def worker_failed(self, worker: Worker[Any], error: BaseException | None) -> None:
        """The read broke unexpectedly: the line stops saying "reading…"."""
        self.update(f"build cache: unknown ({failure_text(error)})")

    def on_cache_loaded(self, message: CacheLoaded) -> None:
        """Show the figures (or why there are none)."""
        message.stop()
        self.usage = message.usage
        if message.usage is None:
            self.update(f"build cache: unknown ({message.error})")
            return
        line = cache_line(message.usage, fmt.clock())
        self.update(f"{line} · {self.hint}" if self.hint and message.usage.records else line)


class PlanComputed(Message):
    """The preview of a cache prune."""

    def __init__(self, plan: CachePrunePlan) -> None:
        super().__init__()
        self.plan = plan


class PruneDone(Message):
    """The cache prune finished."""

    def __init__(self, result: CachePruneResult) -> None:
        super().__init__()
        self.result = result


class BuildCachePrune(BaseDialog["CachePruneResult | None"]):
    """Prune the build cache: an age, the exact preview, then exactly that list."""

    CSS_PATH = ["confirm.tcss", "build_cache.tcss"]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="build_cache.cancel"),
        Binding("p", "preview", "Preview", id="build_cache.preview"),
        Binding("y", "confirm", "Prune", id="build_cache.confirm"),
    ]

    def __init__(self, age: str = "7d") -> None:
        super().__init__()
        self.age = age
        self.stage = "options"  # options → previewing → preview → running → done
        self.plan: CachePrunePlan | None = None
        self.result: CachePruneResult | None = None

    def compose(self) -> ComposeResult:
        """The age, the preview list, the summary and the buttons."""
        with Vertical(classes="dialog", id="cache-dialog"):
            yield Static("Prune the build cache", classes="dialog-title", id="cache-title")
            yield BuildCacheLine(id="cache-line")
            with Horizontal(classes="prune-row", id="cache-options"):
                yield Static("Unused for ", classes="prune-label")
                yield Input(
                    self.age, placeholder="any age (e.g. 24h, 7d)", id="cache-age", compact=True
                )
            yield Static("", id="cache-error", classes="dialog-warning", markup=False)
            with VerticalScroll(id="cache-preview", classes="dialog-body"):
                yield Static("", id="cache-list")
            yield Static("", id="cache-summary", classes="dialog-status", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cache-cancel", variant="primary", compact=True)
                yield Button("Preview (p)", id="cache-preview-button", compact=True)
                yield Button("Prune (y)", id="cache-prune", variant="error", compact=True)
            yield Static("", id="cache-keys", classes="dialog-keys", markup=False)

    def on_mount(self) -> None:
        """Start at the options, the age focused."""
        self.query_one("#cache-error").display = False
        self._show("options")
        self.query_one("#cache-age", Input).focus()

    def _show(self, stage: str) -> None:
        self.stage = stage
        self.query_one("#cache-options").display = stage == "options"
        self.query_one("#cache-preview").display = stage in ("preview", "running", "done")
        self.query_one("#cache-preview-button", Button).display = stage == "options"
        prune = self.query_one("#cache-prune", Button)
        prune.display = stage == "preview"
        prune.disabled = not (self.plan and self.plan.records)
        cancel = self.query_one("#cache-cancel", Button)
        cancel.label = "Close" if stage == "done" else "Cancel"
        cancel.disabled = stage == "running"
        keys = {
            "options": "p (or Enter) previews; nothing is removed yet · Esc cancels",
            "previewing": "Working out which records would go…",
            "preview": "y prunes exactly these records · Esc cancels",
            "running": "Pruning…",
            "done": "Esc or Enter closes",
        }[stage]
        self.query_one("#cache-keys", Static).update(keys)
        self.query_one("#cache-summary").display = stage != "options"
        if stage in ("preview", "done"):
            cancel.focus()

    def action_preview(self) -> None:
        """Work out exactly which records go (nothing is removed)."""
        if self.stage != "options":
            return
        error = self.query_one("#cache-error", Static)
        try:
            age = parse_age(self.query_one("#cache-age", Input).value)
        except ValueError as exc:
            error.update(str(exc))
            error.display = True
            return
        error.display = False
        self._show("previewing")
        self.query_one("#cache-summary", Static).update("Reading the build cache…")
        self.compute(age)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the age previews."""
        event.stop()
        self.action_preview()

    @work(thread=True, exclusive=True, group="cache-plan", exit_on_error=False)
    def compute(self, age: timedelta | None) -> None:
        """The service's plan (reads /system/df)."""
        self.post_message(PlanComputed(self.service.plan_cache_prune(age)))

    def on_plan_computed(self, message: PlanComputed) -> None:
        """Show exactly what would go."""
        if self.stage != "previewing":
            return
        self.plan = message.plan
        width = min(78, self.app.size.width) - 6
        now = fmt.clock()
        self.query_one("#cache-list", Static).update(plan_text(message.plan, now, width))
        self.query_one("#cache-summary", Static).update(plan_summary(message.plan))
        self._show("preview")

    def action_confirm(self) -> None:
        """`y` in the preview: prune exactly the previewed records."""
        if self.stage != "preview" or self.plan is None or not self.plan.records:
            return
        self._show("running")
        self.run_prune(self.plan)

    @work(thread=True, exclusive=True, group="cache-prune", exit_on_error=False)
    def run_prune(self, plan: CachePrunePlan) -> None:
        """Record by record, children first."""
        self.post_message(PruneDone(self.service.prune_cache(plan)))

    def on_prune_done(self, message: PruneDone) -> None:
        """What went, compared with the preview."""
        self.result = message.result
        plan = self.plan or CachePrunePlan(None, ())
        self.query_one("#cache-summary", Static).update(result_summary(plan, message.result))
        if message.result.failed:
            kept = Text("\n".join(visible(f) for f in message.result.failed), style="red")
            self.query_one("#cache-list", Static).update(kept)
        self.query_one("#cache-title", Static).update("Build cache pruned")
        self.query_one("#cache-line", BuildCacheLine).load()
        self._show("done")

    def worker_failed(self, worker: Worker[Any], error: BaseException | None) -> None:
        """A failed preview goes back to the options; a failed prune says so and ends."""
        reason = failure_text(error)
        if worker.group == "cache-plan":
            self._show("options")
            error_line = self.query_one("#cache-error", Static)
            error_line.update(reason)
            error_line.display = True
        elif worker.group == "cache-prune":
            self.query_one("#cache-summary", Static).update(f"The prune stopped: {reason}")
            self._show("done")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Buttons do what their keys do."""
        event.stop()
        if event.button.id == "cache-cancel":
            self.action_cancel()
        elif event.button.id == "cache-preview-button":
            self.action_preview()
        elif event.button.id == "cache-prune":
            self.action_confirm()

    def action_cancel(self) -> None:
        """Close (not while pruning)."""
        if self.stage != "running":
            self.dismiss(self.result)
