"""The build's small dialogs: the context picker, recent builds, cancel, and where to save the log.

Their look is BaseDialog's (``tui/screens/base.py``); ``build_dialogs.tcss`` sets only what
differs (the picker's size, the save dialog's width).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DirectoryTree, Input, OptionList, Static
from textual.widgets.option_list import Option

from tui.modals.confirm import ConfirmDialog
from tui.screens import build_run
from tui.screens.base import BaseDialog
from tui.screens.build_run import BuildRun
from tui.widgets.build_log import CANCELLED, FAILED, SUCCEEDED, elapsed


class PathPicker(BaseDialog[Path | None]):
    """A directory tree to choose the build context."""

    CSS_PATH = "build_dialogs.tcss"

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


class RecentBuilds(BaseDialog[BuildRun | None]):
    """This session's builds, newest first; Enter reopens a log."""

    CSS_PATH = "build_dialogs.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Close", id="build.recent.close"),
    ]

    def __init__(self, runs: list[BuildRun]) -> None:
        super().__init__()
        self.runs = list(runs)

    def compose(self) -> ComposeResult:
        """The list."""
        now = build_run.clock()
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


class CancelBuildDialog(ConfirmDialog):
    """Cancel the running build? A ConfirmDialog: focus on "Keep building", Esc keeps it."""

    CSS_PATH = "build_dialogs.tcss"  # relative to this module; the look is BaseDialog's

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

    CSS_PATH = "build_dialogs.tcss"

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
