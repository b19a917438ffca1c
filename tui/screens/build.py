"""Build an image: the form (`b`), the live log, and the session's recent builds.

Flow: the form checks everything it can while you type (paths, tags, build args, target
stage) and shows the Dockerfile with syntax highlighting; ctrl+s pushes ``BuildLogScreen``,
whose thread worker runs the service's build generator. The worker never touches a widget: it
appends (time, event) pairs to its ``BuildRun``'s buffer and posts one coalescing
``BuildPending`` message when the buffer was empty; the screen drains the buffer at most every
``FLUSH_INTERVAL`` seconds, so a flood of output is a handful of repaints a second.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import (
    Button,
    Checkbox,
    DirectoryTree,
    Footer,
    Input,
    Label,
    OptionList,
    Static,
)
from textual.widgets.option_list import Option
from textual.worker import Worker

from tui.messages import BackToImageList, ImageArrived, ImagesNeedReload
from tui.modals.confirm import ConfirmDialog
from tui.safe_text import visible
from tui.safefs import app_state_dir, existing_mode, write_text
from tui.screens.base import BaseDialog, BaseScreen
from tui.service.build import (
    TERMINAL_EVENTS,
    BuildError,
    BuildEvent,
    BuildLeftovers,
    BuildRequest,
    check_build_request,
    check_platform,
    dockerfile_args,
    dockerfile_stages,
    parse_assignments,
)
from tui.service.buildkit import BuilderInfo, buildkit_features
from tui.service.errors import ImagedeckError
from tui.service.reference import parse
from tui.widgets.build_log import (
    CANCELLED,
    FAILED,
    RUNNING,
    SUCCEEDED,
    BuildLog,
    BuildLogModel,
    elapsed,
)

# Replaced by tests with a fixed clock so times in snapshots do not move.
clock: Callable[[], float] = time.monotonic
wall_clock: Callable[[], datetime] = datetime.now

FLUSH_INTERVAL = 0.05  # seconds between log repaints while output floods in
PREVIEW_MAX_BYTES = 256 * 1024
RECENT_BUILDS = 20


def state_dir() -> Path:
    """``$XDG_STATE_HOME/imagedeck`` (``~/.local/state/imagedeck`` by default)."""
    return app_state_dir()


# -- the session's builds --------------------------------------------------------------------


@dataclass(eq=False)
class BuildRun:
    """One build of this session: its request, its log model, and the worker's buffer."""

    request: BuildRequest
    model: BuildLogModel
    started_at: datetime
    cancel: threading.Event = field(default_factory=threading.Event)
    pending: list[tuple[float, BuildEvent]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    builder: BuilderInfo | None = None  # None: probed when the build starts

    @property
    def title(self) -> str:
        """The first tag, or the context directory's name."""
        if self.request.tag_texts:
            return self.request.tag_texts[0]
        return f"{self.request.context_dir.name or '/'} (untagged)"

    def push(self, at: float, event: BuildEvent) -> bool:
        """Queue an event (worker thread); True when the UI must be told (buffer was empty)."""
        with self.lock:
            was_empty = not self.pending
            self.pending.append((at, event))
        return was_empty

    def take(self) -> list[tuple[float, BuildEvent]]:
        """Everything queued so far (UI thread)."""
        with self.lock:
            taken, self.pending = self.pending, []
        return taken


_SESSIONS: weakref.WeakKeyDictionary[App[Any], list[BuildRun]] = weakref.WeakKeyDictionary()


def builds_for(app: App[Any]) -> list[BuildRun]:
    """The recent builds of this app's session, newest first."""
    return _SESSIONS.setdefault(app, [])


class BuildPending(Message):
    """The worker queued events for ``run``; a newer one replaces a queued one."""

    def __init__(self, run: BuildRun) -> None:
        super().__init__()
        self.run = run

    def can_replace(self, message: Message) -> bool:
        """One pending notice per run is enough: the drain takes everything."""
        return isinstance(message, BuildPending) and message.run is self.run


class BuilderKnown(Message):
    """The probe found which builder a build will use."""

    def __init__(self, info: BuilderInfo) -> None:
        super().__init__()
        self.info = info


# -- the form --------------------------------------------------------------------------------


@dataclass
class FormState:
    """What the form holds, kept between visits in the same session."""

    context: str = "."
    dockerfile: str = "Dockerfile"
    tags: str = ""
    buildargs: str = ""
    labels: str = ""
    target: str = ""
    platform: str = ""
    nocache: bool = False
    pull: bool = False


_FORMS: weakref.WeakKeyDictionary[App[Any], FormState] = weakref.WeakKeyDictionary()


def split_tags(text: str) -> list[str]:
    """Tags separated by spaces or commas."""
    return [t for t in text.replace(",", " ").split() if t]


FIELDS = (
    ("context", "Context", "directory sent to the daemon (ctrl+o: pick)"),
    ("dockerfile", "Dockerfile", "path, relative to the context"),
    ("tags", "Tags", "repo:tag … (spaces or commas)"),
    ("buildargs", "Build args", "KEY=VALUE … (KEY alone: from your environment)"),
    ("labels", "Labels", "key=value …"),
    ("target", "Target", "stage name (multi-stage Dockerfiles)"),
    ("platform", "Platform", "e.g. linux/amd64 (empty: the daemon's)"),
)


class BuildScreen(BaseScreen[None]):
    """The build form with the Dockerfile beside it (below it on narrow terminals)."""

    CSS_PATH = "build.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "build", "Build", id="build.start", tooltip="Start the build"),
        Binding("ctrl+o", "pick", "Pick dir", id="build.pick", tooltip="Pick the context"),
        Binding("ctrl+r", "recent", "Recent", id="build.recent", tooltip="Recent builds"),
        Binding("escape", "back", "Back", id="build.back", tooltip="Back to the image list"),
    ]

    def __init__(self, context: str | None = None) -> None:
        super().__init__()
        self._initial_context = context
        self._preview_timer: Timer | None = None
        self.errors: dict[str, str] = {}
        self.stages: list[str] = []
        self.declared_args: list[str] = []
        self.builder: BuilderInfo | None = None
        self.dockerfile_text = ""

    @property
    def form(self) -> FormState:
        """This session's form values."""
        return _FORMS.setdefault(self.app, FormState())

    def compose(self) -> ComposeResult:
        """Title, the form, the Dockerfile preview, the footer."""
        form = self.form
        if self._initial_context is not None:
            form.context = self._initial_context
        yield Static("Build an image", id="build-title", markup=False)
        with Horizontal(id="build-body"):
            with VerticalScroll(id="build-form"):
                for name, label, placeholder in FIELDS:
                    with Horizontal(classes="form-row"):
                        yield Label(label, classes="form-label")
                        yield Input(
                            str(getattr(form, name)),
                            placeholder=placeholder,
                            id=f"field-{name}",
                            compact=True,
                        )
                        if name == "context":
                            yield Button("…", id="pick", compact=True)
                    yield Static("", id=f"error-{name}", classes="form-error", markup=False)
                with Horizontal(classes="form-row checks"):
                    yield Checkbox("No cache", form.nocache, id="field-nocache", compact=True)
                    yield Checkbox("Always pull", form.pull, id="field-pull", compact=True)
                yield Static("", id="build-hint", markup=False)
                yield Static("Builder: checking…", id="build-builder", markup=False)
                with Horizontal(classes="form-row buttons"):
                    yield Button("Build (ctrl+s)", id="start", variant="primary", compact=True)
            with VerticalScroll(id="dockerfile-pane"):
                yield Static("", id="dockerfile-title", markup=False)
                yield Static("", id="dockerfile-preview")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Check the initial values and show the Dockerfile; focus the first empty field."""
        self.probe_builder()
        self._layout_for(self.size.width)
        self.refresh_preview()
        self.validate_all()
        first = "tags" if self.form.context.strip() else "context"
        self.query_one(f"#field-{first}", Input).focus()

    def on_resize(self) -> None:
        """Side by side when wide, stacked when narrow."""
        self._layout_for(self.size.width)

    def _layout_for(self, width: int) -> None:
        self.query_one("#build-body").set_class(width < 110, "narrow")

    # -- validation as you type ----------------------------------------------------------------

    def value(self, name: str) -> str:
        """The text of field ``name``."""
        return self.query_one(f"#field-{name}", Input).value

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        name = (event.input.id or "").removeprefix("field-")
        if not hasattr(self.form, name):
            return
        setattr(self.form, name, event.value)
        if name in ("context", "dockerfile"):
            # Reading the Dockerfile on every keystroke is wasteful; wait for a pause.
            if self._preview_timer is not None:
                self._preview_timer.stop()
            self._preview_timer = self.set_timer(0.2, self.refresh_preview)
        self.validate_all()

    @on(Checkbox.Changed)
    def _checked(self, event: Checkbox.Changed) -> None:
        name = (event.checkbox.id or "").removeprefix("field-")
        if hasattr(self.form, name):
            setattr(self.form, name, event.value)

    @on(Input.Submitted)
    def _submitted(self, _: Input.Submitted) -> None:
        self.focus_next()

    def validate_all(self) -> dict[str, str]:
        """Check every field; show each error under its field; return them."""
        errors: dict[str, str] = {}
        context = self.value("context").strip()
        if not context:
            errors["context"] = "Choose a build context directory."
        else:
            path = Path(os.path.expanduser(context))
            if not path.exists():
                errors["context"] = f"{path} does not exist."
            elif not path.is_dir():
                errors["context"] = f"{path} is not a directory."
        if "context" not in errors:
            dockerfile = self._dockerfile_path()
            if dockerfile is None or not dockerfile.is_file():
                errors["dockerfile"] = f"There is no Dockerfile at {dockerfile}."
        for tag in split_tags(self.value("tags")):
            try:
                ref = parse(tag)
            except ImagedeckError as exc:
                errors["tags"] = str(exc)
                break
            if ref.digest:
                errors["tags"] = f"{tag!r}: a build tag cannot have a digest."
                break
        for name, kind in (("buildargs", "build arg"), ("labels", "label")):
            try:
                parse_assignments(self.value(name), kind)
            except ImagedeckError as exc:
                errors[name] = str(exc)
        target = self.value("target").strip()
        if target and self.stages and target not in self.stages:
            errors["target"] = f"No stage {target!r}; the Dockerfile has: {', '.join(self.stages)}."
        elif target and not self.stages and "dockerfile" not in errors:
            errors["target"] = "The Dockerfile has no named stages (FROM … AS name)."
        platform = self.value("platform").strip()
        try:
            check_platform(platform)
        except ImagedeckError as exc:
            errors["platform"] = str(exc)
        for name, _label, _placeholder in FIELDS:
            error = self.query_one(f"#error-{name}", Static)
            error.update(f"✖ {errors[name]}" if name in errors else "")
            error.display = name in errors
        self.errors = errors
        return errors

    def _dockerfile_path(self) -> Path | None:
        context = self.value("context").strip()
        if not context:
            return None
        name = self.value("dockerfile").strip() or "Dockerfile"
        path = Path(os.path.expanduser(name))
        return path if path.is_absolute() else Path(os.path.expanduser(context)) / path

    def refresh_preview(self) -> None:
        """Show the Dockerfile with highlighting, and learn its stages and ARGs."""
        self._preview_timer = None
        path = self._dockerfile_path()
        title = self.query_one("#dockerfile-title", Static)
        preview = self.query_one("#dockerfile-preview", Static)
        text = ""
        if path is not None and path.is_file():
            try:
                with path.open("rb") as handle:
                    text = handle.read(PREVIEW_MAX_BYTES).decode("utf-8", "replace")
            except OSError as exc:
                title.update(f"{path}: {exc.strerror}")
                preview.update("")
                return
            title.update(str(path))
            # A Dockerfile is anyone's text: its control characters are shown, not sent.
            shown = visible(text, keep_newlines=True, keep_tabs=True)
            preview.update(
                Syntax(shown, "docker", theme="ansi_dark", line_numbers=True, word_wrap=True)
            )
        else:
            title.update("No Dockerfile yet")
            preview.update(Text("Choose a context that holds a Dockerfile.", style="italic"))
        self.stages = dockerfile_stages(text)
        self.declared_args = dockerfile_args(text)
        hints = []
        if self.declared_args:
            hints.append("ARGs: " + " ".join(self.declared_args))
        if self.stages:
            hints.append("stages: " + " ".join(self.stages))
        self.query_one("#build-hint", Static).update("  ·  ".join(hints))
        self.dockerfile_text = text
        self._show_builder()
        self.validate_all()

    # -- which builder -------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="build-probe", exit_on_error=False)
    def probe_builder(self) -> None:
        """Ask (in a thread: it runs the docker CLI) whether BuildKit can be used."""
        if not self.has_service:
            return
        self.post_message(BuilderKnown(self.service.builder_info()))

    def on_builder_known(self, message: BuilderKnown) -> None:
        """Say which builder the build will use."""
        self.builder = message.info
        self._show_builder()

    def _show_builder(self) -> None:
        if not self.is_mounted:
            return
        label = self.query_one("#build-builder", Static)
        if self.builder is None:
            label.update("Builder: checking…")
            return
        # The builder's name and driver come from `docker buildx inspect` (a user's config).
        text = f"Builder: {visible(self.builder.description)}"
        needs = buildkit_features(self.dockerfile_text)
        if not self.builder.buildkit and needs:
            text += f" · this Dockerfile needs BuildKit: {', '.join(needs)}"
        label.update(text)
        label.set_class(not self.builder.buildkit and bool(needs), "builder-warning")

    # -- actions -------------------------------------------------------------------------------

    def request(self) -> BuildRequest | None:
        """The checked request, or None after showing why not."""
        errors = self.validate_all()
        if errors:
            first = next(iter(errors))
            self.query_one(f"#field-{first}", Input).focus()
            self.notify(errors[first], title="Cannot build yet", severity="error")
            return None
        try:
            return check_build_request(
                self.value("context").strip(),
                self.value("dockerfile").strip() or "Dockerfile",
                split_tags(self.value("tags")),
                parse_assignments(self.value("buildargs"), "build arg"),
                parse_assignments(self.value("labels"), "label"),
                self.value("target").strip(),
                self.query_one("#field-nocache", Checkbox).value,
                self.query_one("#field-pull", Checkbox).value,
                self.value("platform").strip(),
            )
        except ImagedeckError as exc:
            self.notify(str(exc), title="Cannot build yet", severity="error")
            return None

    def action_build(self) -> None:
        """Check the form and start the build in the log screen."""
        request = self.request()
        if request is None:
            return
        run = BuildRun(request, BuildLogModel(clock()), wall_clock(), builder=self.builder)
        runs = builds_for(self.app)
        runs.insert(0, run)
        del runs[RECENT_BUILDS:]
        self.app.push_screen(BuildLogScreen(run, start=True))

    @on(Button.Pressed, "#start")
    def _start_pressed(self) -> None:
        self.action_build()

    @on(Button.Pressed, "#pick")
    def _pick_pressed(self) -> None:
        self.action_pick()

    def action_pick(self) -> None:
        """Choose the context directory in a tree."""
        start = Path(os.path.expanduser(self.value("context").strip() or "."))

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.query_one("#field-context", Input).value = str(path)
                self.query_one("#field-tags", Input).focus()

        self.app.push_screen(PathPicker(start if start.is_dir() else Path.cwd()), chosen)

    def action_recent(self) -> None:
        """The builds of this session."""
        show_recent(self)

    def action_back(self) -> None:
        """Back to the image list."""
        self.dismiss()


class PathPicker(BaseDialog[Path | None]):
    """A directory tree to choose the build context."""

    CSS_PATH = "build.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="build.pick.cancel"),
        Binding("ctrl+s,s", "choose", "Choose", id="build.pick.choose", tooltip="Use this dir"),
        Binding("backspace,u", "up", "Parent", id="build.pick.up", tooltip="Go to the parent"),
    ]

    def __init__(self, start: Path) -> None:
        super().__init__()
        self.root = start.resolve()

    def compose(self) -> ComposeResult:
        """The tree and a line of keys."""
        with Vertical(classes="picker"):
            yield Static(str(self.root), id="picker-root", markup=False)
            yield _DirsOnly(self.root, id="picker-tree")
            yield Static(
                "Enter opens · s chooses the highlighted directory · u parent · Esc cancels",
                classes="picker-keys",
                markup=False,
            )

    def on_mount(self) -> None:
        """Focus the tree."""
        self.query_one(DirectoryTree).focus()

    def _highlighted(self) -> Path:
        tree = self.query_one(DirectoryTree)
        node = tree.cursor_node
        if node is not None and node.data is not None:
            path = Path(node.data.path)
            return path if path.is_dir() else path.parent
        return self.root

    def action_choose(self) -> None:
        """Use the highlighted directory."""
        self.dismiss(self._highlighted())

    def action_up(self) -> None:
        """Show the parent directory."""
        self.root = self.root.parent
        self.query_one(DirectoryTree).path = self.root
        self.query_one("#picker-root", Static).update(str(self.root))

    def action_cancel(self) -> None:
        """Keep the old context."""
        self.dismiss(None)


class _DirsOnly(DirectoryTree):
    """A DirectoryTree that lists directories only (a context is a directory)."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        """Directories, hidden ones last."""
        return sorted((p for p in paths if p.is_dir()), key=lambda p: (p.name.startswith("."), p))


class RecentBuilds(BaseDialog["BuildRun | None"]):
    """This session's builds, newest first; Enter reopens a log."""

    CSS_PATH = "build.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Close", id="build.recent.close"),
    ]

    def __init__(self, runs: list[BuildRun]) -> None:
        super().__init__()
        self.runs = list(runs)

    def compose(self) -> ComposeResult:
        """The list."""
        now = clock()
        options = []
        for index, run in enumerate(self.runs):
            model = run.model
            mark = {SUCCEEDED: "✔", FAILED: "✖", CANCELLED: "⊘"}.get(model.status, "…")
            when = run.started_at.strftime("%H:%M:%S")
            options.append(
                Option(
                    # Text, never markup: the title can be a directory's name ("[x] [bold]").
                    Text(
                        f"{mark} {when}  {run.title}  {model.status} in "
                        f"{elapsed(model.duration(now))}"
                    ),
                    id=str(index),
                )
            )
        with Vertical(classes="picker"):
            yield Static("Recent builds (this session)", classes="dialog-title", markup=False)
            yield OptionList(*options, id="recent-list")
            yield Static("Enter opens the log · Esc closes", classes="picker-keys", markup=False)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Reopen that build's log."""
        self.dismiss(self.runs[int(event.option.id or 0)])

    def action_cancel(self) -> None:
        """Close."""
        self.dismiss(None)


# -- the log ---------------------------------------------------------------------------------


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
        yield BuildLog(self.run.model, clock=lambda: clock(), id="build-log")
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
            if run.push(clock(), event):
                self.post_message(BuildPending(run))
            return
        try:
            events = self.service.build_with(run.request, run.cancel, run.builder)
            for event in events:
                if run.push(clock(), event):
                    self.post_message(BuildPending(run))
                if isinstance(event, TERMINAL_EVENTS):
                    return
        except ImagedeckError as exc:
            if run.push(clock(), BuildError(str(exc), detail=str(exc))):
                self.post_message(BuildPending(run))
            return
        except Exception as exc:  # never leave the log "running" forever
            error = BuildError(f"The build stopped unexpectedly: {type(exc).__name__}: {exc}")
            if run.push(clock(), error):
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
        now = clock()
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
        default = state_dir() / "builds" / f"{stamp}-{safe}.log"

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
        show_recent(self)


class CancelBuildDialog(ConfirmDialog):
    """Cancel the running build? A ConfirmDialog: focus on "Keep building", Esc keeps it."""

    CSS_PATH = "build.tcss"  # relative to this module; the dialog look is BaseDialog's

    # Its own binding ids (the keymap file may remap them), on ConfirmDialog's actions.
    inherit_bindings = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "cancel", "Keep building", id="build.cancel.keep"),
        Binding("y", "confirm", "Cancel build", id="build.cancel.yes"),
        Binding("left,h", "app.focus_previous", "Previous", show=False, id="build.cancel.left"),
        Binding("right,l", "app.focus_next", "Next", show=False, id="build.cancel.right"),
    ]

    def __init__(self, title: str) -> None:
        super().__init__(
            f"Cancel the build of {title}?",
            "The daemon stops the running step and its container is removed.",
            confirm_label="Cancel build",
            cancel_label="Keep building",
            keys="y cancels the build · Esc keeps it running",
        )


class SaveLogDialog(BaseDialog["str | None"]):
    """Where to save the log (the default is under the XDG state directory)."""

    CSS_PATH = "build.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="build.save.cancel"),
    ]

    def __init__(self, default: str) -> None:
        super().__init__()
        self.default = default

    def compose(self) -> ComposeResult:
        """A path input."""
        with Vertical(classes="dialog"):
            yield Static(
                "Save the build log (owner-only, 0600)", classes="dialog-title", markup=False
            )
            yield Input(self.default, id="save-path", compact=True)
            yield Static("Enter saves · Esc cancels", classes="picker-keys", markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Save there."""
        event.stop()
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        """Do not save."""
        self.dismiss(None)


def show_recent(screen: Screen[Any]) -> None:
    """The session's builds; choosing one reopens its log."""
    runs = builds_for(screen.app)
    if not runs:
        screen.notify("No builds yet in this session.", timeout=3)
        return

    def chosen(run: BuildRun | None) -> None:
        if run is not None:
            screen.app.push_screen(BuildLogScreen(run, start=False))

    screen.app.push_screen(RecentBuilds(runs), chosen)


def open_build(screen: Screen[Any], context: str | None = None) -> None:
    """Open the build form from any screen (the images screen's `b`)."""
    screen.app.push_screen(BuildScreen(context))
