"""A build's live log screen: header with step counter and times, the log, a search line.

The form (``tui/screens/build.py``) pushes it with a new ``BuildRun``; its thread worker runs
the service's build generator. The worker never touches a widget: it appends (time, event)
pairs to the run's buffer and posts one coalescing ``BuildPending`` message when the buffer was
empty; the screen drains the buffer at most every ``FLUSH_INTERVAL`` seconds, so a flood of
output is a handful of repaints a second.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.timer import Timer
from textual.widgets import Footer, Input, Static
from textual.worker import Worker

from tui.messages import BackToImageList, ImageArrived, ImagesNeedReload
from tui.modals.build_dialogs import CancelBuildDialog, SaveLogDialog
from tui.modals.confirm import ConfirmDialog
from tui.safefs import existing_mode, write_text
from tui.screens import build_run
from tui.screens.base import BaseScreen, features
from tui.screens.build_run import BuildPending, BuildRun
from tui.service.build import TERMINAL_EVENTS, BuildError, BuildEvent, BuildLeftovers
from tui.service.errors import ImagedeckError
from tui.widgets.build_log import (
    CANCELLED,
    FAILED,
    RUNNING,
    SUCCEEDED,
    BuildLog,
    elapsed,
)
from tui.xdg import builds_dir

FLUSH_INTERVAL = 0.05  # seconds between log repaints while output floods in


class BuildLogScreen(BaseScreen[None]):
    """A build's live log: header with step counter and times, the log, a search line."""

    CSS_PATH = "build.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "back",
            "Back/Cancel",
            id="build_log.back",
            tooltip="Cancel a running build (asks first), else go back",
        ),
        Binding("slash", "search", "Search", id="build_log.search", tooltip="Search the log"),
        Binding("n", "next_match(1)", "Next", id="build_log.next", show=False),
        Binding("N", "next_match(-1)", "Prev", id="build_log.prev", show=False),
        Binding("s", "save", "Save log", id="build_log.save", tooltip="Save the log to a file"),
        Binding(
            "ctrl+r", "recent", "Recent", id="build_log.recent", tooltip="Recent builds", show=False
        ),
        Binding(
            "x",
            "remove_leftovers",
            "Remove leftovers",
            id="build_log.leftovers",
            tooltip="Remove the step container and images a build that lost its daemon left",
            show=False,
        ),
    ]

    def __init__(self, run: BuildRun, *, start: bool) -> None:
        super().__init__()
        self.run = run
        self._start = start
        self._last_flush = 0.0
        self._flush_timer: Timer | None = None
        self._ticker: Timer | None = None
        self._handled_end = run.model.status != RUNNING

    def compose(self) -> ComposeResult:
        """Header, status, log, search input, footer."""
        yield Static("", id="build-log-header", markup=False)
        yield Static("", id="build-log-status")
        yield BuildLog(self.run.model, clock=lambda: build_run.clock(), id="build-log")
        yield Input(
            placeholder="search the log (Enter: next, Esc: close)", id="build-search", compact=True
        )
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Start the build (or show a finished one) and tick the timers while it runs."""
        self.query_one("#build-search", Input).display = False
        log = self.query_one(BuildLog)
        log.focus()
        self.update_header()
        log.rows_changed()
        if self.run.model.status == FAILED:
            log.action_goto_error()
        if self._start:
            self.run_build()
        if self.run.model.status == RUNNING:
            self._ticker = self.set_interval(0.5, self._tick)

    def on_unmount(self) -> None:
        """Leaving (or quitting) while it runs cancels the build, so nothing is left behind."""
        if self.run.model.status == RUNNING:
            self.run.cancel.set()

    # -- the worker ----------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="build", exit_on_error=False)
    def run_build(self) -> None:
        """Run the service's build generator; queue its events for the UI (no widgets here)."""
        run = self.run
        if not self.has_service:
            event: BuildEvent = BuildError("Not connected to a Docker daemon.")
            if run.push(build_run.clock(), event):
                self.post_message(BuildPending(run))
            return
        try:
            events = self.service.build_with(run.request, run.cancel, run.builder)
            for event in events:
                if run.push(build_run.clock(), event):
                    self.post_message(BuildPending(run))
                if isinstance(event, TERMINAL_EVENTS):
                    return
        except ImagedeckError as exc:
            if run.push(build_run.clock(), BuildError(str(exc), detail=str(exc))):
                self.post_message(BuildPending(run))
            return
        except Exception as exc:  # never leave the log "running" forever
            error = BuildError(f"The build stopped unexpectedly: {type(exc).__name__}: {exc}")
            if run.push(build_run.clock(), error):
                self.post_message(BuildPending(run))

    def on_build_pending(self, message: BuildPending) -> None:
        """Drain now, or when the flush interval is up (coalescing bursts)."""
        if message.run is not self.run or self._flush_timer is not None:
            return
        wait = self._last_flush + FLUSH_INTERVAL - time.monotonic()
        if wait > 0:
            self._flush_timer = self.set_timer(wait, self.flush)
        else:
            self.flush()

    def flush(self) -> None:
        """Apply everything queued to the model and repaint once."""
        self._flush_timer = None
        self._last_flush = time.monotonic()
        events = self.run.take()
        if not events:
            return
        self.run.model.apply(events)
        log = self.query_one(BuildLog)
        log.rows_changed()
        self.update_header()
        if self.run.model.status != RUNNING and not self._handled_end:
            self._handled_end = True
            self._finished()

    def _tick(self) -> None:
        if self.run.model.status != RUNNING and self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        self.update_header()
        self.query_one(BuildLog).refresh()

    def _finished(self) -> None:
        model = self.run.model
        log = self.query_one(BuildLog)
        if model.status == SUCCEEDED:
            target = model.tags[0] if model.tags else model.image_id
            self.app.post_message(ImageArrived(target))
            self.notify(f"Built {target}", title="Build succeeded", timeout=5)
        elif model.status == FAILED:
            # The status line and the red line in the log say why; a toast would cover the log.
            log.action_goto_error()
        elif model.status == CANCELLED:
            self.notify("Build cancelled; nothing was left behind.", timeout=4)

    # -- header --------------------------------------------------------------------------------

    def update_header(self) -> None:
        """Step counter, current instruction, per-step and total elapsed times, state."""
        model = self.run.model
        now = build_run.clock()
        step = model.active
        parts = [f"Build {self.run.title}"]
        if model.buildkit:
            finished, known, cached = model.counter()
            counted = f"BuildKit {finished}/{known} steps"
            parts.append(counted + (f" ({cached} cached)" if cached else ""))
            if step.state == "running":
                parts.append(f"step {elapsed(step.duration(now))}")
        elif step.number:
            parts.append(f"Step {step.number}/{step.total}")
            parts.append(f"step {elapsed(step.duration(now))}")
        parts.append(f"total {elapsed(model.duration(now))}")
        log = self.query_one(BuildLog)
        if model.status == RUNNING and not log.follow:
            parts.append("paused (G follows)")
        self.query_one("#build-log-header", Static).update("  ·  ".join(parts))
        status = self.query_one("#build-log-status", Static)
        status.set_classes(f"status-{model.status}")
        status.update(self._status_text())

    def _status_text(self) -> Text:
        model = self.run.model
        if model.status == RUNNING:
            instruction = model.active.instruction if model.active.number else "starting"
            return Text(f"● running: {instruction}", style="bold")
        if model.status == SUCCEEDED:
            tags = ", ".join(model.tags) or model.image_id[:19]
            return Text(f"✔ Built {model.image_id[7:19] or '?'} · {tags} · Esc: to the image")
        if model.status == CANCELLED:
            return Text("⊘ Cancelled · nothing left behind · Esc: back to the form")
        message = model.error.message if model.error else "The build failed."
        if model.error is not None and model.error.leftovers is not None:
            message += " · x removes them once the daemon is back"
        return Text(f"✖ {message}")

    # -- what a build that lost its daemon left ---------------------------------------------

    def action_remove_leftovers(self) -> None:
        """`x`: remove the step container and intermediate images a dropped build left."""
        error = self.run.model.error
        left = error.leftovers if error is not None else None
        if left is None:
            self.notify("This build left nothing to remove.", timeout=3)
            return
        self.query_one("#build-log-status", Static).update(
            Text(f"Removing {left.describe()}…", style="bold")
        )
        self.remove_leftovers(left)

    @work(thread=True, exclusive=True, group="build-leftovers", exit_on_error=False)
    def remove_leftovers(self, left: BuildLeftovers) -> None:
        """Ask the daemon (once it is back) to remove them; the answer goes to the UI."""
        try:
            removed = self.service.remove_build_leftovers(left)
        except ImagedeckError as exc:
            self.app.call_from_thread(self._leftovers_done, left, None, str(exc))
            return
        self.app.call_from_thread(self._leftovers_done, left, removed, "")

    def _leftovers_done(self, left: BuildLeftovers, removed: list[str] | None, why: str) -> None:
        error = self.run.model.error
        if removed is None:
            self.notify(
                f"Not removed yet: {why}", title="Build leftovers", severity="warning", markup=False
            )
        else:
            if error is not None and error.leftovers is left:
                self.run.model.error = replace(error, leftovers=None)
            what = ", ".join(removed) or "nothing (the daemon had removed them already)"
            self.notify(f"Removed {what}.", title="Build leftovers", timeout=6, markup=False)
            self.app.post_message(ImagesNeedReload())
        self.update_header()

    def worker_failed(self, worker: Worker[Any], error: BaseException | None) -> None:
        """A broken leftovers removal puts the status line back (the reason was shown)."""
        if worker.group == "build-leftovers":
            self.update_header()

    def on_build_log_follow_changed(self, _: BuildLog.FollowChanged) -> None:
        """Say in the header when auto-scroll is paused."""
        self.update_header()

    # -- keys ----------------------------------------------------------------------------------

    def action_back(self) -> None:
        """Cancel (after asking) while running; else back (to the image after a success)."""
        search = self.query_one("#build-search", Input)
        if search.has_focus:
            search.display = False
            self.query_one(BuildLog).focus()
            return
        if self.run.model.status == RUNNING:

            def answer(yes: bool | None) -> None:
                if yes and self.run.model.status == RUNNING:
                    self.run.cancel.set()
                    self.query_one("#build-log-status", Static).update(
                        Text("⊘ Cancelling… (closing the connection, removing leftovers)")
                    )

            self.app.push_screen(CancelBuildDialog(self.run.title), answer)
            return
        if self.run.model.status == SUCCEEDED:
            # Back to the list, where the new image is selected.
            self.app.post_message(BackToImageList())
            return
        self.dismiss()

    def interrupt(self) -> bool:
        """ctrl+c while the build runs asks to cancel it (as Esc does) instead of quitting."""
        if self.run.model.status == RUNNING:
            self.action_back()
            return True
        return False

    def action_search(self) -> None:
        """Show the search line."""
        search = self.query_one("#build-search", Input)
        search.display = True
        search.focus()

    @on(Input.Changed, "#build-search")
    def _search_changed(self, event: Input.Changed) -> None:
        log = self.query_one(BuildLog)
        log.find(event.value, start=max(int(log.scroll_y) - 1, 0))

    @on(Input.Submitted, "#build-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        if not self.query_one(BuildLog).find(event.value):
            self.notify(f"No match for {event.value!r}", timeout=2)

    def action_next_match(self, direction: int) -> None:
        """The next (previous) match of the last search."""
        log = self.query_one(BuildLog)
        if log.search:
            log.find(log.search, forward=direction > 0)

    def action_save(self) -> None:
        """Ask where, then write the log there (0600)."""
        stamp = self.run.started_at.strftime("%Y%m%d-%H%M%S")
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in self.run.title)[:60]
        default = builds_dir() / f"{stamp}-{safe}.log"

        def chosen(path: str | None) -> None:
            if path:
                self.save_log(Path(os.path.expanduser(path)), self.run.model.text())

        self.app.push_screen(SaveLogDialog(str(default)), chosen)

    @work(thread=True, exclusive=True, group="build-save", exit_on_error=False)
    def save_log(self, path: Path, text: str, overwrite: bool = False) -> None:
        """Write the log in a thread (a slow disk must not stall the UI).

        A new file is created 0600. An existing one is replaced only after the user said yes
        (``overwrite``), and keeps its mode; nothing is written through a symbolic link.
        """
        try:
            write_text(path, text, overwrite=overwrite)
        except FileExistsError:
            self.app.call_from_thread(self._ask_overwrite, path, text, existing_mode(path))
            return
        except OSError as exc:
            self.app.call_from_thread(
                self.notify, f"Could not save the log: {exc}", severity="error", markup=False
            )
            return
        self.app.call_from_thread(self.notify, f"Saved the log to {path}", timeout=5, markup=False)

    def _ask_overwrite(self, path: Path, text: str, mode: int | None) -> None:
        """The file exists: overwrite it only if the user says so (focus starts on Cancel)."""
        shown = f" (mode {mode:04o})" if mode is not None else ""
        warning = ""
        if mode is not None and mode & 0o077:
            warning = (
                f"Others can read it (mode {mode:04o}) and overwriting keeps that mode; build "
                "logs can hold build args and internal host names."
            )

        def answer(yes: bool | None) -> None:
            if yes:
                self.save_log(path, text, overwrite=True)

        self.app.push_screen(
            ConfirmDialog(
                "Overwrite the file?",
                f"{path} already exists{shown}. Replace its content with this build log?",
                confirm_label="Overwrite",
                warning=warning,
            ),
            answer,
        )

    def action_recent(self) -> None:
        """The builds of this session."""
        features(self.app).action_recent_builds()
