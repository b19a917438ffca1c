"""Issue 14, item 9: at 80x24 no notification covers the conflict dialog.

Deleting an image a stopped container uses ends at the tutorial's conflict; the dialog that
explains it must be whole on screen (its text, its buttons and its key line), with no toast
drawn over it. A toast is drawn with a "▌" edge, which no dialog row carries.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import StartApp
from tests.e2e.test_flows import filter_to

pytestmark = pytest.mark.daemon

TOAST_EDGE = "▌"


def test_no_toast_covers_the_conflict_dialog_at_80x24(start_app: StartApp) -> None:
    term = start_app(cols=80, rows=24)
    filter_to(term, "demo/stopped")
    term.press("d")
    term.wait_for_text("demo/stopped", "Cancel")
    term.press("y")
    term.wait_for_text("is in use", "ideck-stopped")
    # A toast would arrive with the dialog; give the program time to draw everything it has.
    term.settle(quiet=1.5)
    lines = term.lines()
    top = next(i for i, line in enumerate(lines) if "is in use" in line) - 1
    bottom = next(i for i in range(top + 1, len(lines)) if "╰" in lines[i])
    dialog = lines[top : bottom + 1]
    assert not any(TOAST_EDGE in line for line in dialog), term.dump()
    # Its last lines are all there: the buttons and the keys.
    text = "\n".join(dialog)
    for words in ("Cancel", "Remove 1 container, then image (r)", "Force… (f)", "Esc cancels"):
        assert words in text, term.dump()
    # The outcome is not lost for want of a toast: the results log has it.
    term.press("escape")
    term.wait_gone("is in use")
    term.press("L")
    term.wait_for_text("Results of deletes and cleanups", "demo/stopped", "Enter: ways out")
    term.press("escape")
