"""Keys typed right behind Enter in the filter act on the list (a person typing fast, a paste).

`/demo/stopped⏎d` written at once: the filter keeps "demo/stopped" and `d` opens the delete
dialog for it. Before Enter was a priority binding, the `d` reached the filter field (Enter's
Submitted message moved the focus only after the keys queued behind it), so the filter read
"demo/stoppedd" and nothing opened; on a loaded machine the same happened to e2e tests that
pressed a key shortly after Enter.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import StartApp

pytestmark = pytest.mark.daemon


def test_a_key_typed_right_behind_enter_in_the_filter_acts_on_the_list(
    start_app: StartApp,
) -> None:
    term = start_app(cols=120, rows=40)
    term.type("/demo/stopped\rd", pause=0)  # one write: the keys arrive together
    screen = term.wait_for_text("Cancel")  # the delete dialog, focus on Cancel
    assert "demo/stoppedd" not in screen, term.dump()
    assert "demo/stopped" in screen
    term.press("escape")  # the safe answer: nothing deleted
    term.wait_gone("Cancel")
    assert "shown)" in term.text(), "the filter stays applied"
