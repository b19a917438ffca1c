"""Start-up as a person sees it: the first page before Textual, and keys typed meanwhile (issue 15).

The program draws the list's first page with the standard library before Textual has loaded
(tui/firstpaint.py); Textual then draws its own frame over it. What the first page showed must
be what Textual shows (nothing on it a placeholder that changes later), and keys typed while
the program starts must act on the list, not be lost or echoed over it.
"""

from __future__ import annotations

import re

import pyte
import pytest

from tests.e2e.conftest import StartApp

pytestmark = pytest.mark.daemon

ALT_SCREEN = b"\x1b[?1049h"
ID = re.compile(r"\b[0-9a-f]{12}\b")


def _rows(screen: str) -> list[str]:
    """The list's rows on ``screen``, top to bottom (the lines below the column header)."""
    lines = screen.splitlines()
    start = next(n for n, line in enumerate(lines) if "REPOSITORY" in line)
    return [line for line in lines[start + 1 :] if ID.search(line)]


def _frames(raw: bytes, cols: int, rows: int) -> tuple[pyte.Screen, pyte.Screen]:
    """The screen as the first page left it, and as Textual's first frame left it.

    The first page enters the alternate screen; Textual enters it again (a no-op) and then
    draws its first frame, every line from 1 to ``rows``, each placed with a cursor move.
    """
    first = raw.find(ALT_SCREEN)
    textual = raw.find(ALT_SCREEN, first + 1)
    assert first != -1 and textual != -1, "no first page was drawn before Textual's"
    last_line = raw.find(f"\x1b[{rows};1H".encode(), textual)
    assert last_line != -1, "Textual drew no full frame"
    after = re.compile(rb"\x1b\[\d+;\d+H").search(raw, last_line + 4)
    end = after.start() if after else len(raw)
    page, frame = pyte.Screen(cols, rows), pyte.Screen(cols, rows)
    pyte.ByteStream(page).feed(raw[:textual])
    pyte.ByteStream(frame).feed(raw[:end])
    return page, frame


def _look(screen: pyte.Screen, y: int, x: int) -> tuple[str, str, str, bool]:
    cell = screen.buffer[y][x]
    if cell.reverse:
        return cell.data, cell.bg, cell.fg, cell.bold
    # A blank's foreground shows nothing.
    return cell.data, cell.fg if cell.data != " " else "", cell.bg, cell.bold and cell.data != " "


def test_first_page_is_textuals_first_frame(start_app: StartApp) -> None:
    term = start_app(cols=120, rows=40)
    term.settle()
    with term._lock:
        raw = bytes(term._raw)
    page, frame = _frames(raw, 120, 40)
    assert len([line for line in page.display if ID.search(line)]) >= 10, page.display
    # The seeded dangling image is on the page: drawn as dangling, from the daemon's dangling
    # answer (asked for after the list, when the list has an untagged image).
    assert any("○" in line for line in page.display), page.display
    assert page.display == frame.display
    differ = [
        (y, x, _look(page, y, x), _look(frame, y, x))
        for y in range(40)
        for x in range(120)
        if _look(page, y, x) != _look(frame, y, x)
    ]
    assert not differ, differ[:10]


def test_keys_typed_during_start_up_move_the_cursor(start_app: StartApp) -> None:
    term = start_app(cols=120, rows=40, wait=False)
    term.type("jjj", pause=0)  # before anything is on screen
    term.wait_for_text("REPOSITORY", "on disk")
    screen = term.settle()
    assert term.selected_row() == _rows(screen)[3]
    assert "jjj" not in screen  # not echoed over the list


def test_a_filter_typed_during_start_up_applies(start_app: StartApp) -> None:
    term = start_app(cols=120, rows=40, wait=False)
    term.type("/demo/app", pause=0)
    term.wait_for_text("REPOSITORY", "on disk", "shown")
    screen = term.settle()
    listed = _rows(screen)
    assert listed and all("demo/app" in line for line in listed), screen
    assert "demo/alias" not in screen
