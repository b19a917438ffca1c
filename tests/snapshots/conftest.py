"""Snapshot set-up: ages are measured against a fixed clock so screens do not change by date."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ui.fake import EPOCH
from tui import format as fmt


@pytest.fixture(autouse=True)
def fixed_clock() -> Iterator[None]:
    """Pin `tui.format.clock` to the fake service's epoch."""
    saved = fmt.clock
    fmt.clock = lambda: EPOCH
    yield
    fmt.clock = saved


@pytest.fixture(autouse=True)
def steady_cursors(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cursors stay visible: a blink caught mid-way would make a snapshot differ run to run."""
    from textual.widgets import Input, TextArea

    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)
    monkeypatch.setattr(TextArea, "_toggle_cursor_blink_visible", lambda self: None)
