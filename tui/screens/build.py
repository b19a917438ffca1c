"""Build an image: the form (`b`), with the Dockerfile beside it.

The form checks everything it can while you type (paths, tags, build args, target stage) and
shows the Dockerfile with syntax highlighting; ctrl+s starts a ``BuildRun``
(``tui/screens/build_run.py``) in the log screen (``tui/screens/build_log.py``). The small
dialogs (context picker, recent builds, cancel, save) are in ``tui/modals/build_dialogs.py``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Button, Checkbox, Footer, Input, Label, Static

from tui.modals.build_dialogs import PathPicker
from tui.safe_text import visible
from tui.screens import build_run
from tui.screens.base import BaseScreen, features
from tui.screens.build_log import BuildLogScreen
from tui.screens.build_run import BuildRun
from tui.screens.build_session import FormState, build_session
from tui.service.build import (
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
from tui.widgets.build_log import BuildLogModel

PREVIEW_MAX_BYTES = 256 * 1024


class BuilderKnown(Message):
    """The probe found which builder a build will use."""

    def __init__(self, info: BuilderInfo) -> None:
        super().__init__()
        self.info = info


# -- the form ----------------------------------------------------------------------------


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
        return build_session(self.app).form

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
        run = BuildRun(
            request, BuildLogModel(build_run.clock()), build_run.wall_clock(), builder=self.builder
        )
        build_session(self.app).add(run)
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
        features(self.app).action_recent_builds()

    def action_back(self) -> None:
        """Back to the image list."""
        self.dismiss()
