"""What the two staged cleanup dialogs share: options → preview → running → done.

The cleanup wizard (``tui/modals/prune.py``) and the retention rules dialog
(``tui/modals/retention.py``) walk the same stages with the same buttons, keys and reports;
only their options and plans differ. The pieces both draw the same way live here:

- ``stage_buttons()``: Cancel, Back (b), Preview (p), Remove (y), Cancel first and primary
  (a destructive dialog opens with focus on Cancel);
- ``show_stage_buttons()``: which of them a stage shows, and what Cancel says;
- ``stage_keys()``: the line of keys of each stage;
- ``press()``: a button answers like its key;
- ``removing_text()`` and ``outcome_text()``: the progress line and the final report, with
  the daemon's words (references, error details) shown safely, never as markup or raw
  control characters.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Button

from tui.safe_text import safe, visible
from tui.service.cleanup import ResultLog

#: Button id -> the action it runs (the same action as its key).
BUTTON_ACTIONS = {
    "cancel": "action_cancel",
    "back": "action_back",
    "preview": "action_preview",
    "remove": "action_confirm",
}


def stage_buttons() -> Horizontal:
    """The four buttons of a staged cleanup dialog."""
    return Horizontal(
        Button("Cancel", id="cancel", variant="primary", compact=True),
        Button("Back (b)", id="back", compact=True),
        Button("Preview (p)", id="preview", variant="warning", compact=True),
        Button("Remove (y)", id="remove", variant="error", compact=True),
        classes="dialog-buttons",
    )


def show_stage_buttons(dialog: Screen[Any], stage: str, *, can_remove: bool) -> Button:
    """Show the buttons ``stage`` offers; returns Cancel (Close once it is done)."""
    dialog.query_one("#back", Button).display = stage == "preview"
    dialog.query_one("#preview", Button).display = stage == "options"
    remove = dialog.query_one("#remove", Button)
    remove.display = stage == "preview"
    remove.disabled = not can_remove
    cancel = dialog.query_one("#cancel", Button)
    cancel.label = "Close" if stage == "done" else "Cancel"
    cancel.disabled = stage == "running"
    return cancel


def stage_keys(stage: str, noun: str) -> str:
    """The keys line of ``stage``; ``noun`` is what one removal step removes."""
    return {
        "options": "p (or Enter in a field) previews; nothing is removed yet · Esc cancels",
        "previewing": "Working out what would go…",
        "preview": "y removes exactly this list · b back · Esc cancels",
        "running": f"Esc stops after the current {noun}",
        "done": "Esc or Enter closes · L reopens this report later",
    }[stage]


def press(dialog: Screen[Any], event: Button.Pressed) -> None:
    """A button of ``stage_buttons()`` was pressed: run its key's action."""
    event.stop()
    getattr(dialog, BUTTON_ACTIONS[str(event.button.id)])()


def removing_text(done: int, total: int, current: str) -> str:
    """``Removing 3/12: demo/app:1.0…`` (the reference shown, never raw)."""
    return f"Removing {done + 1}/{total}: {visible(current)}…"


def outcome_text(log: ResultLog) -> Text:
    """One line per outcome, failures in red, the daemon's words shown safely."""
    text = Text()
    for index, outcome in enumerate(log.outcomes):
        if index:
            text.append("\n")
        text.append_text(safe(outcome.line(), "red" if outcome.status == "failed" else ""))
    return text
