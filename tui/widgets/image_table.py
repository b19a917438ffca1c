"""A virtual image table: renders only the visible rows (Textual's Line API).

The row count does not set the cost of drawing, filtering, sorting, marking or moving the
cursor: the data lives in ``ImageListModel`` and each frame renders at most one screenful of
lines. Moving the cursor repaints just the two lines that changed, which keeps what an SSH
link carries per keystroke small.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import ClassVar

import humanize
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui import format as fmt
from tui.listmodel import ImageListModel, daemon_of
from tui.safe_text import visible
from tui.service.models import NONE, ImageRow


@dataclass(frozen=True)
class Column:
    """One table column: its header, width bounds and how important it is to keep."""

    id: str
    label: str
    width: int
    priority: int  # lower numbers give way first when the terminal is narrow
    right: bool = False


COLUMNS: tuple[Column, ...] = (
    # Only in a fleet view (several daemons, tui/service/fleet.py): layout(daemon=True).
    Column("daemon", "DAEMON", 10, 85),
    Column("repository", "REPOSITORY", 16, 100),
    Column("tag", "TAG", 10, 90),
    Column("id", "IMAGE ID", 12, 60),
    Column("created", "CREATED", 13, 40),
    Column("size", "SIZE", 8, 80, right=True),
    Column("unique", "UNIQUE", 8, 70, right=True),
    Column("shared", "SHARED", 8, 20, right=True),
    Column("containers", "CTR", 3, 50, right=True),
    # Given way before CREATED, so at 80 columns it shows only when the config hides another.
    Column("last_used", "LAST USED", 10, 30),
)
ESTIMATE_WIDTH = 8  # UNIQUE and SHARED
# TAG grows with spare width (half of what REPOSITORY does not need) up to this many cells.
TAG_MAX_WIDTH = 24
_TAG_WIDTH = next(c.width for c in COLUMNS if c.id == "tag")
MARK_WIDTH = 2  # mark symbol + state symbol, so state never relies on colour alone
MARK_SYMBOL = "●"
DANGLING_SYMBOL = "○"
IN_USE_SYMBOL = "▸"


@lru_cache(maxsize=32)
def layout(
    width: int, hidden: frozenset[str] = frozenset(), daemon: bool = False
) -> tuple[tuple[Column, int], ...]:
    """Columns that fit in ``width`` cells, with their widths; REPOSITORY takes what is left.

    The least important columns are dropped first, so the table keeps REPOSITORY, TAG, SIZE
    and UNIQUE even at 80 columns. Cached: every drawn line asks, and widths rarely change.
    DAEMON is there only with ``daemon`` (a list of several daemons).
    """
    columns = [c for c in COLUMNS if c.id not in hidden and (daemon or c.id != "daemon")]
    while True:
        fixed = sum(c.width for c in columns if c.id != "repository")
        gaps = len(columns)  # one space after the mark column and between columns
        spare = width - MARK_WIDTH - fixed - gaps
        repo = next((c for c in columns if c.id == "repository"), None)
        if repo is None or spare >= repo.width or len(columns) <= 3:
            break
        droppable = [c for c in columns if c.id != "repository"]
        columns.remove(min(droppable, key=lambda c: c.priority))
    repo_min = repo.width if repo is not None else 0
    tag_extra = min(max((spare - repo_min) // 2, 0), TAG_MAX_WIDTH - _TAG_WIDTH)
    if not any(c.id == "tag" for c in columns):
        tag_extra = 0
    spare -= tag_extra

    def width_of(column: Column) -> int:
        if column.id == "repository":
            return max(spare, 8)
        return column.width + (tag_extra if column.id == "tag" else 0)

    return tuple((column, width_of(column)) for column in columns)


def cell_text(row: ImageRow, column_id: str) -> str:
    """The text of one cell."""
    image = row.image
    # Names come from the daemon (any daemon of a fleet, a hostile one too): control
    # characters are shown, never written to the terminal (visible() returns them unchanged
    # in the common case, without copying).
    if column_id == "daemon":
        return visible(daemon_of(image))
    if column_id == "repository":
        # The word, not only the symbol and colour: state must read without colour.
        if image.dangling and not row.tagged:
            # Both states in symbols too: the state cell holds ○, so ▸ leads the name.
            return (
                f"{IN_USE_SYMBOL} {NONE} (dangling)" if image.containers else f"{NONE} (dangling)"
            )
        return visible(row.repository)
    if column_id == "tag":
        return visible(row.tag)
    if column_id == "id":
        return image.short_id
    if column_id == "created":
        return fmt.age(image.created)
    if column_id == "size":
        return fmt.size(image.size)
    if column_id == "unique":
        return _sized(image.unique_size, image.estimated)
    if column_id == "shared":
        return _sized(image.shared_size, image.estimated)
    if column_id == "containers":
        return "…" if image.containers is None else str(image.containers)
    return ""


# Narrower than this, the REPOSITORY cell drops the platform marker: the name comes first.
_NAME_ROOM = 8


def repository_cell(row: ImageRow, width: int) -> str:
    """REPOSITORY cut to ``width``, then the image's platform marker (see ImagePlatforms):
    ``demo/app [amd64 1/2]``, or the compact ``[1/2]`` where the full one does not fit.

    The marker stays whole and the name is cut before it (in the middle, keeping the
    registry host and the last path component; a dangling row keeps the word "(dangling)").
    """
    name = cell_text(row, "repository")
    platforms = row.image.platforms
    marker = visible(platforms.marker()) if platforms is not None else ""
    if marker and platforms is not None and len(name) + 1 + len(marker) > width:
        marker = visible(platforms.marker(compact=True))
    room = width - 1 - len(marker) if marker else width
    if room < _NAME_ROOM:
        marker, room = "", width
    if len(name) > room and not row.tagged:
        # Keep the word "(dangling)" whole when narrow: TAG says <none> too.
        name = name.replace(f"{NONE} ", "", 1)
    if row.tagged:
        name = fmt.ellipsize_path(name, room)  # keep the distinguishing end
    else:
        name = fmt.ellipsize(name, room)
    return f"{name} {marker}" if marker else name


def _sized(value: int | None, estimated: bool) -> str:
    """A size cell; an estimate leads with ``~`` so it never looks exact (containerd store).

    The cell is 8 wide: ``~123.4 MB`` would not fit, so an estimate of 100 or more of a unit
    drops the decimal (``~123 MB``), a precision it does not have anyway.
    """
    text = fmt.size(value)
    if not estimated or value is None:
        return text
    approx = f"~{text}"
    if len(approx) > ESTIMATE_WIDTH:
        approx = "~" + str(humanize.naturalsize(value, binary=False, format="%.0f"))
    return approx


def last_used_cell(row: ImageRow, lookup: Callable[[str], datetime | None] | None) -> str:
    """LAST USED: the day of the image's last recorded use, or "unknown" (see lastused.py)."""
    when = lookup(row.image.id) if lookup is not None else None
    return when.strftime("%Y-%m-%d") if when is not None else "unknown"


def header_text(width: int, hidden: frozenset[str] = frozenset(), daemon: bool = False) -> str:
    """The header line for the columns that fit in ``width`` (DAEMON too with ``daemon``)."""
    parts = [" " * MARK_WIDTH]
    for column, w in layout(width, hidden, daemon):
        label = fmt.ellipsize(column.label, w)
        parts.append(label.rjust(w) if column.right else label.ljust(w))
    return " ".join(parts)[:width]


class ImageTable(ScrollView, can_focus=True):
    """The image list, one row per tag, drawn from an ImageListModel."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="table.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="table.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="table.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="table.page_down"),
        Binding("home,g", "jump(0)", "First", show=False, id="table.first"),
        Binding("end,G", "jump(-1)", "Last", show=False, id="table.last"),
    ]

    COMPONENT_CLASSES = {
        "image-table--cursor",
        "image-table--marked",
        "image-table--dangling",
        "image-table--in-use",
    }

    DEFAULT_CSS = """
    ImageTable {
        height: 1fr;
        scrollbar-size-vertical: 1;
    }
    ImageTable > .image-table--cursor { background: $accent 40%; text-style: bold; }
    ImageTable:focus > .image-table--cursor { background: $accent; color: $text; }
    ImageTable > .image-table--marked { color: $warning; text-style: bold; }
    ImageTable > .image-table--dangling { color: $text-muted; }
    ImageTable > .image-table--in-use { color: $success; }
    """

    class CursorMoved(Message):
        """The cursor moved to another row (or the rows changed under it)."""

    def __init__(
        self,
        model: ImageListModel,
        *,
        hidden: frozenset[str] = frozenset(),
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.model = model
        self.hidden = hidden
        self._styles: dict[tuple[bool, bool, bool, bool], Style] = {}
        # Row text by id(row); valid while the stamp (rows list, width, ages...) holds.
        self._cells_cache: dict[int, str] = {}
        # The CREATED text each cached row was drawn with, and a counter bumped when a row on
        # screen would now read differently ("just now" -> "1 min ago"): see refresh_ages.
        self._drawn_ages: dict[int, str] = {}
        self._ages_version = 0
        self._cells_stamp: tuple[int, int, frozenset[str], int, int, bool] = (
            0,
            0,
            frozenset(),
            0,
            0,
            False,
        )
        # LAST USED: image ID -> when it was last used (tui/service/lastused.py), and a
        # counter bumped on every change so cached row texts are redrawn.
        self.last_used: Callable[[str], datetime | None] | None = None
        self.last_used_version = 0
        # A fleet view (several daemons) shows the DAEMON column.
        self.show_daemon = False

    def on_mount(self) -> None:
        """Keep CREATED current as time passes: a look at the rows on screen every few seconds
        (no daemon call), a repaint only when one of them reads differently."""
        self.set_interval(fmt.AGE_CHECK_SECONDS, self.refresh_ages)

    def refresh_ages(self) -> bool:
        """Repaint when a row on screen was drawn with an age that is no longer true; returns
        whether it did."""
        top = int(self.scroll_y)
        for row in self.model.visible[top : top + self.scrollable_content_region.height]:
            drawn = self._drawn_ages.get(id(row))
            if drawn is not None and drawn != fmt.age(row.image.created):
                self._ages_version += 1
                self.refresh()
                return True
        return False

    # -- data changes ------------------------------------------------------------------------

    def rows_changed(self) -> None:
        """Call after the model's rows, filter or sort changed: resize and repaint."""
        self._set_virtual_height(len(self.model.visible))
        self._scroll_cursor_into_view()
        self.refresh()
        self.post_message(self.CursorMoved())

    def _set_virtual_height(self, rows: int) -> None:
        """Set the scrollable height without a screen re-layout when the scrollbar stays put.

        ``virtual_size`` is a layout reactive: assigning it re-lays out the whole screen, which
        cost more than the filtering itself on every keystroke. Only the scrollbar appearing
        or disappearing changes the layout, so only then is a layout requested.
        """
        size = Size(self.size.width, rows)
        if size == self.virtual_size:
            return
        had_scrollbar = self.show_vertical_scrollbar
        self.set_reactive(ScrollView.virtual_size, size)
        self._scroll_update(size)  # Textual's own update of the scrollbar and scroll limits
        if self.show_vertical_scrollbar != had_scrollbar:
            self.refresh(layout=True)

    def marks_changed(self) -> None:
        """Repaint after marks changed (the rows did not)."""
        self.refresh()

    # -- drawing -----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        """Draw screen line ``y``: the row at scroll offset + y."""
        _, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        if index >= len(self.model.visible):
            return Strip.blank(width, self.rich_style)
        row = self.model.visible[index]
        marked = self.model.is_marked_at(index)
        return self._render_row(row, index == self.model.cursor, marked, width)

    def _render_row(self, row: ImageRow, is_cursor: bool, marked: bool, width: int) -> Strip:
        image = row.image
        in_use = bool(image.containers)
        style = self._row_style(image.dangling, in_use, marked, is_cursor)
        state = DANGLING_SYMBOL if image.dangling else IN_USE_SYMBOL if in_use else " "
        line = (MARK_SYMBOL if marked else " ") + state + self._cells(row, width)
        return Strip([Segment(line, style)], width)

    def _row_style(self, dangling: bool, in_use: bool, marked: bool, is_cursor: bool) -> Style:
        """The style of a row in a given state, cached until the styles or the focus change.

        Resolving a style walks the DOM and the stylesheet; a filter keystroke redraws a whole
        screenful of rows, and those few states would be resolved again for every line.
        """
        key = (dangling, in_use, marked, is_cursor)
        style = self._styles.get(key)
        if style is None:
            style = self.rich_style
            if dangling:
                style += self.get_component_rich_style("image-table--dangling", partial=True)
            elif in_use:
                style += self.get_component_rich_style("image-table--in-use", partial=True)
            if marked:
                style += self.get_component_rich_style("image-table--marked", partial=True)
            if is_cursor:
                style += self.get_component_rich_style("image-table--cursor", partial=True)
            self._styles[key] = style
        return style

    def _cells(self, row: ImageRow, width: int) -> str:
        """The text of a row after its two state cells, ``width`` - 2 cells wide (cached).

        Sizes go through humanize; the text of a row is kept until the rows are replaced (a
        reload), the width or the hidden columns change, an age on screen changes
        (``refresh_ages``) or a last use is recorded.
        """
        stamp = (
            id(self.model.rows),
            width,
            self.hidden,
            self._ages_version,
            self.last_used_version,
            self.show_daemon,
        )
        if stamp != self._cells_stamp:
            self._cells_stamp = stamp
            self._cells_cache.clear()
            self._drawn_ages.clear()
        text = self._cells_cache.get(id(row))
        if text is None:
            parts = [""]
            for column, w in layout(width, self.hidden, self.show_daemon):
                if column.id == "last_used":
                    cell = last_used_cell(row, self.last_used)
                elif column.id == "repository":
                    cell = repository_cell(row, w)
                else:
                    cell = fmt.ellipsize(cell_text(row, column.id), w)
                    if column.id == "created":
                        self._drawn_ages[id(row)] = cell
                parts.append(cell.rjust(w) if column.right else cell.ljust(w))
            text = " ".join(parts)[: max(width - MARK_WIDTH, 0)].ljust(width - MARK_WIDTH)
            self._cells_cache[id(row)] = text
        return text

    def notify_style_update(self) -> None:
        """Styles changed (theme, CSS, focus): resolve the row styles again."""
        super().notify_style_update()
        self._styles.clear()

    def on_focus(self) -> None:
        """The cursor looks different with focus."""
        self._styles.clear()

    def on_blur(self) -> None:
        """The cursor looks different without focus."""
        self._styles.clear()

    # -- cursor ------------------------------------------------------------------------------

    def _scroll_cursor_into_view(self) -> None:
        height = self.scrollable_content_region.height
        if height <= 0:
            return
        top = int(self.scroll_y)
        cursor = self.model.cursor
        if cursor < top:
            self.scroll_to(y=cursor, animate=False, immediate=True)
        elif cursor >= top + height:
            self.scroll_to(y=cursor - height + 1, animate=False, immediate=True)

    def _moved(self, old: int) -> None:
        top = int(self.scroll_y)
        self._scroll_cursor_into_view()
        if int(self.scroll_y) == top:
            # Only two lines changed: repaint just those.
            self.refresh_line(old - top)
            self.refresh_line(self.model.cursor - top)
        else:
            self.refresh()
        self.post_message(self.CursorMoved())

    def action_cursor(self, delta: int) -> None:
        """Move the cursor by ``delta`` rows."""
        old = self.model.cursor
        self.model.move(delta)
        if self.model.cursor != old:
            self._moved(old)

    def action_page(self, direction: int) -> None:
        """Move the cursor by one screenful."""
        height = max(self.scrollable_content_region.height - 1, 1)
        self.action_cursor(direction * height)

    def action_jump(self, index: int) -> None:
        """Move the cursor to the first (0) or last (-1) row."""
        old = self.model.cursor
        self.model.move_to(index)
        if self.model.cursor != old:
            self._moved(old)

    def refresh_current(self) -> None:
        """Repaint the line under the cursor (after a mark toggled)."""
        self.refresh_line(self.model.cursor - int(self.scroll_y))

    def on_resize(self) -> None:
        """Keep the virtual size in step with the width (columns re-layout)."""
        self._set_virtual_height(len(self.model.visible))
        self._scroll_cursor_into_view()

    def on_click(self, event: object) -> None:
        """A click selects the row under the mouse."""
        y = getattr(event, "y", None)
        if y is None:
            return
        index = int(self.scroll_y) + int(y)
        if 0 <= index < len(self.model.visible):
            old = self.model.cursor
            self.model.cursor = index
            self._moved(old)
