"""What the image list and the fleet view share: one screen over ``ImageListModel``.

Both show the same widgets (header, summary, a status line, the filter, the column header, the
virtual ``ImageTable``, the footer) and answer the same keys the same way: filter as you type,
sort, reverse, marks, reload, quit, and a burst of daemon events coalesced into one reload.
``ImageListScreen`` holds that; the single daemon's list (``DaemonImageList`` in
tui/screens/daemon_list.py: loading, summary, banner; ``ImagesScreen`` in images.py: its keys)
and ``FleetScreen`` (several daemons, tui/screens/fleet.py) keep what is their own.

Textual calls an ``on_*`` handler of every class in the MRO, so this base defines none that a
subclass also defines (``on_mount``, ``on_resize`` stay in the screens); the ``@on`` filter
handlers are here only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.timer import Timer
from textual.widgets import Footer, Input, Static

from tui.listmodel import ImageListModel
from tui.screens.base import BaseScreen
from tui.service.models import ImageRow
from tui.widgets.filter_input import FilterInput
from tui.widgets.image_table import ImageTable, header_text

# Events arrive in bursts (a prune deletes hundreds of images): one reload after a quiet gap of
# COALESCE_QUIET seconds, never later than COALESCE_MAX after the burst's first event.
COALESCE_QUIET = 0.1
COALESCE_MAX = 1.0


def binding(
    key: str, action: str, short: str, long: str, bid: str, show: bool = False, display: str = ""
) -> Binding:
    """A list key: ``short`` is the footer's text, ``long`` (the tooltip) the help screen's."""
    return Binding(key, action, short, show=show, id=bid, tooltip=long, key_display=display or None)


def sort_mark_bindings(prefix: str) -> list[Binding]:
    """o, O, space, a, A: the same keys and words on both lists (ids ``<prefix>.sort`` ...)."""
    return [
        binding("o", "sort", "Sort", "Sort by the next column", f"{prefix}.sort"),
        binding("O", "reverse", "Reverse", "Reverse the sort order", f"{prefix}.reverse"),
        binding("space", "mark", "Mark", "Mark / unmark this row", f"{prefix}.mark", True),
        binding(
            "a", "mark_all", "Mark all", "Mark every row the filter shows", f"{prefix}.mark_all"
        ),
        binding("A", "clear_marks", "Clear marks", "Clear all marks", f"{prefix}.clear_marks"),
    ]


def help_quit_bindings(prefix: str) -> list[Binding]:
    """? and q, the last keys of both lists."""
    return [
        binding("question_mark", "help", "Help", "Help with every key", f"{prefix}.help", True),
        binding("q", "quit", "Quit", "Quit", f"{prefix}.quit", True),
    ]


def row_reference(row: ImageRow) -> str:
    """What names ``row``'s image to the daemon: its tag, or the ID of an untagged row."""
    return row.reference if row.tagged else row.image.id


class ImageListScreen(BaseScreen[None]):
    """A list of images, one row per tag (see the module docstring).

    A subclass sets the class texts, ``reload`` and ``refresh_summary``; ``STATUS_ID`` names
    the line under the summary (the connection banner, the fleet's per-daemon lines).
    """

    SUMMARY_START: ClassVar[str] = ""
    STATUS_ID: ClassVar[str] = "banner"
    FILTER_PLACEHOLDER: ClassVar[str] = "filter: repository, tag or ID"
    COALESCE_QUIET: ClassVar[float] = COALESCE_QUIET
    COALESCE_MAX: ClassVar[float] = COALESCE_MAX

    def __init__(self) -> None:
        super().__init__()
        self.model = ImageListModel()
        # Columns the user's config hides (see tui/config.py).
        self.hidden_columns: frozenset[str] = frozenset()
        self._reload_timer: Timer | None = None
        self._first_change: float | None = None

    # -- what a subclass fills in ------------------------------------------------------------

    def header(self) -> str | Text:
        """The top line's first text."""
        return "imagedeck"

    @property
    def show_daemon(self) -> bool:
        """True when the rows come from several daemons (the DAEMON column)."""
        return False

    def reload(self) -> None:
        """List the images again."""

    def refresh_summary(self) -> None:
        """Redraw the summary line (counts, marks, sort)."""

    # -- widgets -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """Header, summary, status line, filter, table header, table, footer."""
        yield Static(self.header(), id="header", markup=False)
        yield Static(self.SUMMARY_START, id="summary", markup=False)
        yield Static("", id=self.STATUS_ID, markup=False)
        yield FilterInput(
            placeholder=self.FILTER_PLACEHOLDER, id="filter", on_value=self._apply_filter
        )
        yield Static("", id="table-header", markup=False)
        table = ImageTable(self.model, id="table", hidden=self.hidden_columns)
        table.show_daemon = self.show_daemon
        yield table
        yield Footer(compact=True, show_command_palette=False)

    def _header_width(self) -> int:
        # The table's own content width: a vertical scrollbar takes a column from the rows.
        width = self.query_one(ImageTable).scrollable_content_region.width
        return width or self.size.width or 80

    def _table_header(self) -> str:
        return header_text(self._header_width(), self.hidden_columns, self.show_daemon)

    def _update_table_header(self) -> None:
        self.query_one("#table-header", Static).update(self._table_header())

    # -- filter ------------------------------------------------------------------------------

    def action_filter(self) -> None:
        """Show the filter input and focus it."""
        field = self.query_one("#filter", Input)
        if self.focused is field:
            # The key is the filter's own (demo/app): queued behind the keys before it.
            from textual.events import Key

            field.post_message(Key("slash", "/"))
            return
        field.display = True
        # At once, not after the queued messages (Widget.focus waits for them): keys typed
        # right behind the `/` (typed ahead while starting, or pasted) belong to the filter.
        self.set_focus(field)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        # Normally already applied by the field itself (see _apply_filter); this catches
        # values set from code.
        self._apply_filter(event.value)

    def _apply_filter(self, text: str) -> None:
        # Called by FilterInput as its value changes, in the same step as the keystroke, so
        # the field and the table repaint in one frame (the Changed message arrives a frame
        # later, and the table would repaint in a second frame).
        if text.strip().lower() == self.model.filter_text:
            return
        # Rows unchanged (typing "bench/" over rows that all hold it): the field repaints, the
        # table need not (at 50,000 rows its whole-page repaint was most of the keystroke).
        if self.model.set_filter(text):
            self.query_one(ImageTable).rows_changed()
        self.refresh_summary()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, _: Input.Submitted) -> None:
        self.query_one(ImageTable).focus()

    def _drop_filter(self) -> None:
        """Empty and hide the filter field, and show every row (the table is not redrawn)."""
        field = self.query_one("#filter", Input)
        field.value = ""
        field.display = False
        self.model.set_filter("")

    def _clear_filter(self) -> bool:
        """Esc's first job: clear and hide the filter; False when there was none to clear."""
        field = self.query_one("#filter", Input)
        if not (field.value or field.display):
            return False
        self._drop_filter()
        table = self.query_one(ImageTable)
        table.rows_changed()
        table.focus()
        self.refresh_summary()
        return True

    def action_escape(self) -> None:
        """Esc clears and hides the filter."""
        self._clear_filter()

    # -- sort, marks, reload -----------------------------------------------------------------

    def _redraw(self, table_change: Callable[[ImageTable], object]) -> None:
        """After the model changed: the table's redraw that change needs, then the summary."""
        table_change(self.query_one(ImageTable))
        self.refresh_summary()

    def action_sort(self) -> None:
        """Next sort column."""
        self.model.next_sort()
        self._redraw(ImageTable.rows_changed)

    def action_reverse(self) -> None:
        """Reverse the order."""
        self.model.toggle_reverse()
        self._redraw(ImageTable.rows_changed)

    def action_mark(self) -> None:
        """Mark or unmark the current row and move down."""
        table = self.query_one(ImageTable)
        self.model.toggle_mark()
        table.refresh_current()
        table.action_cursor(1)
        self.refresh_summary()

    def action_mark_all(self) -> None:
        """Mark every shown row."""
        self.model.mark_all_visible()
        self._redraw(ImageTable.marks_changed)

    def action_clear_marks(self) -> None:
        """Clear all marks."""
        self.model.clear_marks()
        self._redraw(ImageTable.marks_changed)

    def action_reload(self) -> None:
        """Reload now."""
        self.reload()

    def action_quit(self) -> None:
        """Leave imagedeck."""
        self.app.exit()

    def coalesce_reload(self) -> None:
        """One more event of a burst: reload once the burst is over (see COALESCE_QUIET).

        The reload waits for a quiet gap of COALESCE_QUIET, but never past COALESCE_MAX after
        the first event of the burst, however steadily events keep coming.
        """
        now = time.monotonic()
        if self._first_change is None:
            self._first_change = now
        deadline = self._first_change + self.COALESCE_MAX
        if self._reload_timer is not None:
            if now >= deadline:
                return  # the armed timer is due by the deadline: let it fire
            self._reload_timer.stop()
        # Textual's timers reject a zero delay; a millisecond is "now".
        delay = max(min(now + self.COALESCE_QUIET, deadline) - now, 0.001)
        self._reload_timer = self.set_timer(delay, self._coalesced_reload)

    def _coalesced_reload(self) -> None:
        self._first_change = None
        self._reload_timer = None
        self.reload()
