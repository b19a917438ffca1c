"""`r`: run an interactive container, like `docker run -t -i IMAGE CMD`.

The dialog takes the image (checked with the grammar), a command (the image's own by default,
read from inspect's Config.Cmd/Entrypoint) and remove-on-exit (on). Then the TUI suspends and
hands the terminal to the Docker CLI, built as an argv list for the same daemon (``-H`` or
``--context``), and comes back to the same screen when the container exits. An image that is
not present locally is pulled first, with progress, on the transfers screen.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult, SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, Label, Static
from textual.worker import Worker, get_current_worker

from tui.safe_text import visible
from tui.screens.base import BaseDialog, app_service, failure_text, features
from tui.service.api import ImageServiceAPI
from tui.service.errors import ImagedeckError, NotConnected, NotFound
from tui.service.reference import InvalidReference, parse
from tui.service.run import command_text, default_command, docker_run_argv

#: How long the dialog waits for the app's first connection before saying it has none (s).
CONNECT_WAIT = 30.0


@dataclass(frozen=True)
class RunRequest:
    """What to run. ``command`` empty means the image's own command."""

    image: str
    command: tuple[str, ...]
    remove: bool = True
    #: Whether the daemon has the image (None: not known yet, ask before running).
    present: bool | None = None


@dataclass
class _Defaults(Message):
    """The image's own entrypoint and command (or that it is not present locally)."""

    image: str
    entrypoint: list[str]
    cmd: list[str]
    present: bool


class RunDialog(BaseDialog[RunRequest | None]):
    """Image, command, remove on exit; Enter runs, Esc cancels."""

    CSS_PATH = "run.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="run.cancel", tooltip="Close without running"),
    ]

    def __init__(self, image: str) -> None:
        super().__init__()
        self.image = image
        self.default_text = ""
        self._present: dict[str, bool] = {}

    def compose(self) -> ComposeResult:
        """The form."""
        with Vertical(id="run-box", classes="dialog"):
            yield Static("Run an interactive container", id="run-title", classes="dialog-title")
            yield Label("Image")
            yield Input(self.image, id="run-image")
            yield Static("", id="run-error", markup=False)
            yield Label("Command (empty or unchanged: the image's own)")
            yield Input(placeholder="reading the image's command…", id="run-command")
            yield Static("", id="run-hint", markup=False)
            yield Checkbox("Remove the container on exit (--rm)", True, id="run-remove")
            with Horizontal(id="run-buttons"):
                yield Button("Run", variant="primary", id="run-ok")
                yield Button("Cancel", id="run-cancel")

    def on_mount(self) -> None:
        """Focus the command; read the image's defaults in the background."""
        self.query_one("#run-command", Input).focus()
        self.load_defaults(self.image)

    @work(thread=True, exclusive=True, group="run-defaults", exit_on_error=False)
    def load_defaults(self, image: str) -> None:
        """Inspect the image for its entrypoint and command."""
        # Opened over the early list (tui/firstpaint.py), the app may still be connecting:
        # the command is read once it has, rather than never (NotConnected ended it silently).
        worker = get_current_worker()
        deadline = time.monotonic() + CONNECT_WAIT
        while not self.has_service and time.monotonic() < deadline and not worker.is_cancelled:
            time.sleep(0.05)
        if worker.is_cancelled:
            return
        try:
            entrypoint, cmd = default_command(self.service.inspect_image(image))
        except NotFound:
            self.post_message(_Defaults(image, [], [], present=False))
            return
        except NotConnected:
            raise  # still not connected: worker_failed says so in the hint
        except ImagedeckError:
            return
        self.post_message(_Defaults(image, entrypoint, cmd, present=True))

    def worker_failed(self, worker: Worker[Any], error: BaseException | None) -> None:
        """The image's command could not be read: say so; the user may type one."""
        if worker.group == "run-defaults":
            self.query_one("#run-hint", Static).update(
                f"Could not read the image's command: {failure_text(error)}"
            )

    def on__defaults(self, message: _Defaults) -> None:
        """Fill the command with the image's own, unless the user typed one already."""
        if message.image != self.query_one("#run-image", Input).value:
            return
        field = self.query_one("#run-command", Input)
        hint = self.query_one("#run-hint", Static)
        self._present[message.image] = message.present
        if not message.present:
            hint.update("Not present locally: it will be pulled first.")
            return
        # The image's CMD and ENTRYPOINT are its author's text; an unchanged field runs the
        # image's own command, so the visible form in it changes nothing that runs.
        text = visible(command_text(message.cmd))
        if not field.value or field.value == self.default_text:
            field.value = text
        self.default_text = text
        entry = visible(command_text(message.entrypoint)) if message.entrypoint else ""
        hint.update(f"Entrypoint: {entry} (the command is its arguments)" if entry else "")

    @on(Input.Changed, "#run-image")
    def _image_changed(self, event: Input.Changed) -> None:
        error = None
        try:
            parse(event.value)
        except InvalidReference as exc:
            error = str(exc)
        self.query_one("#run-error", Static).update(error or "")
        self.query_one("#run-ok", Button).disabled = error is not None
        if error is None and event.value != self.image:
            self.load_defaults(event.value)

    @on(Input.Submitted)
    @on(Button.Pressed, "#run-ok")
    def _submit(self) -> None:
        image = self.query_one("#run-image", Input).value
        try:
            parse(image)
        except InvalidReference as exc:
            self.query_one("#run-error", Static).update(str(exc))
            return
        text = self.query_one("#run-command", Input).value.strip()
        try:
            command = () if text == self.default_text.strip() else tuple(shlex.split(text))
        except ValueError as exc:  # an unclosed quote
            self.query_one("#run-error", Static).update(f"The command does not parse: {exc}")
            return
        remove = self.query_one("#run-remove", Checkbox).value
        self.dismiss(RunRequest(image, command, remove, self._present.get(image)))

    @on(Button.Pressed, "#run-cancel")
    def action_cancel(self) -> None:
        """Close without running."""
        self.dismiss(None)


# --- handing the terminal over -----------------------------------------------------------------

Runner = Callable[[Sequence[str]], int]


def run_and_wait(argv: Sequence[str]) -> int:
    """Run ``argv`` on the real terminal, then wait for Enter so its output can be read."""
    print(f"$ {shlex.join(argv)}", flush=True)
    code = subprocess.run(list(argv), check=False).returncode
    print(f"\n[container exited with code {code}] Press Enter to return to imagedeck…", flush=True)
    try:
        sys.stdin.readline()
    except (OSError, ValueError):  # no stdin to read: return at once
        pass
    return code


#: Replaced by tests that cannot hand a terminal over.
RUNNER: Runner = run_and_wait


def run_in_terminal(app: App[Any], argv: Sequence[str]) -> int | None:
    """Suspend the app, run ``argv`` on the terminal, come back. None when it could not run."""
    if shutil.which(argv[0]) is None:
        app.notify(
            f"The Docker CLI ({argv[0]!r}) is not on PATH; install it to run containers "
            "from imagedeck.",
            title="Cannot run",
            severity="error",
            timeout=10,
        )
        return None
    try:
        with app.suspend():
            code = RUNNER(argv)
    except SuspendNotSupported:
        app.notify(
            "This terminal cannot hand itself over to another program (no suspend support, "
            "e.g. in a web or test driver). Run it yourself: " + shlex.join(argv),
            title="Cannot run",
            severity="error",
            timeout=15,
        )
        return None
    app.notify(f"Container exited with code {code}.", timeout=4)
    return code


def run_request(app: App[Any], request: RunRequest) -> None:
    """Run ``request``: pull first when the image is missing, then hand the terminal over.

    When the dialog had not found out whether the daemon has the image, a worker asks (never
    the UI thread: a daemon that hangs would freeze the whole UI until its timeout).
    """
    try:
        service = app_service(app)
    except NotConnected:
        app.notify("Not connected to a Docker daemon.", severity="error")
        return
    argv = docker_run_argv(service.endpoint, request.image, request.command, remove=request.remove)
    if request.present is None:
        app.notify(f"Looking for {request.image} on the daemon…", timeout=3, markup=False)
        app.run_worker(
            partial(_find_then_run, app, service, request, argv),
            thread=True,
            exclusive=True,
            group="run-check",
            exit_on_error=False,
        )
        return
    _run_or_pull(app, request, argv, request.present)


def _find_then_run(
    app: App[Any], service: ImageServiceAPI, request: RunRequest, argv: list[str]
) -> None:
    """In a worker: ask the daemon whether it has the image, then run (or pull) on the UI."""
    try:
        service.inspect_image(request.image)
        present = True
    except NotFound:
        present = False
    except ImagedeckError as exc:
        app.call_from_thread(
            app.notify, str(exc), title="Cannot run", severity="error", markup=False
        )
        return
    app.call_from_thread(_run_or_pull, app, request, argv, present)


def _run_or_pull(app: App[Any], request: RunRequest, argv: list[str], present: bool) -> None:
    """On the UI thread: hand the terminal over, or pull first and then do so."""
    if present:
        run_in_terminal(app, argv)
        return

    from tui.screens.transfers import TransfersScreen

    def pulled(_: Any, succeeded: bool) -> None:
        if not succeeded:
            app.notify(f"Not running {request.image}: the pull did not succeed.", severity="error")
            return
        if isinstance(app.screen, TransfersScreen):
            app.pop_screen()
        # After the pop has been processed, so the list is what comes back after the run.
        app.call_later(run_in_terminal, app, argv)

    features(app).action_start_pull(request.image, on_done=pulled)
