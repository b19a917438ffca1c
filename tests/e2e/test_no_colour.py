"""State never by colour alone: under NO_COLOR a selected and an unselected radio button or
checkbox still look different (the wizard's mode, the pull dialog's "All tags")."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import StartApp

pytestmark = pytest.mark.daemon


def test_toggles_read_without_colour(start_app: StartApp) -> None:
    term = start_app(cols=120, rows=40, env={"NO_COLOR": "1"})
    term.press("X")
    term.wait_for_text("Dangling images only", "All images no container uses")
    assert "▐●▌ Dangling images only" in term.line_with("Dangling images only"), term.dump()
    assert "▐ ▌ All images no container uses" in term.line_with("All images no"), term.dump()
    term.press("escape")
    term.wait_gone("Dangling images only")
    term.press("p")
    term.wait_for_text("All tags of the repository")
    assert "▐ ▌ All tags of the repository" in term.line_with("All tags"), term.dump()
    term.press("escape")
