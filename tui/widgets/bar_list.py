"""The disk map's list: one line per entry (mark, frees, bar, size, name), only visible lines drawn.

A Line-API ScrollView, so a level of 10,000 tags opens at once. What an entry is marked with,
how it is described and what the status line says are the owner's (``BarOwner``: the disk map
screen); the figures are :mod:`tui.diskmap_model`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

from rich.segment import Segment
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui import format as fmt
from tui.diskmap_model import Entry

BAR_CHARS = " ▏▎▍▌▋▊▉█"


def bar(fraction: float, width: int) -> str:
    """A bar ``width`` cells wide, filled to ``fraction`` in eighths of a cell."""
    fraction = min(max(fraction, 0.0), 1.0)
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + (BAR_CHARS[part] if part else "")
    return text.ljust(width)[:width]


@dataclass
class Level:
    """One level of the drill-down: its title, entries and cursor."""

    title: str
    entries: list[Entry]
    cursor: int = 0
    parent_key: str = ""  # the repository or tag this level opened from


class BarOwner(Protocol):
    """What the list asks of the screen that shows it."""

    def mark_symbol(self, entry: Entry) -> str:
        """The mark column of ``entry`` (blank when unmarked)."""
        ...

    def describe(self, entry: Entry) -> str:
        """The name and details after the bar."""
        ...

    def update_status(self) -> None:
        """The cursor moved: redraw the status line."""
        ...


class BarList(ScrollView, can_focus=True):
    """The entries of one level, one line each; draws only what is visible."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="diskmap.up_line"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="diskmap.down_line"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="diskmap.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="diskmap.page_down"),
        Binding("home,g", "jump(0)", "First", show=False, id="diskmap.first"),
        Binding("end,G", "jump(-1)", "Last", show=False, id="diskmap.last"),
    ]
    COMPONENT_CLASSES = {"bar-list--cursor", "bar-list--marked", "bar-list--bar"}
    DEFAULT_CSS = """
    BarList { height: 1fr; scrollbar-size-vertical: 1; }
    BarList > .bar-list--cursor { background: $accent 40%; text-style: bold; }
    BarList:focus > .bar-list--cursor { background: $accent; color: $text; }
    BarList > .bar-list--marked { color: $warning; text-style: bold; }
    BarList > .bar-list--bar { color: $success; }
    """

    def __init__(self, owner: BarOwner, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.owner = owner
        self.level: Level = Level("", [])

    def show(self, level: Level) -> None:
        """Draw ``level`` (after a drill, a step up or new figures)."""
        self.level = level
        level.cursor = min(level.cursor, max(len(level.entries) - 1, 0))
        self.virtual_size = Size(self.size.width, len(level.entries))
        self._scroll_cursor_into_view()
        self.refresh()

    def current(self) -> Entry | None:
        """The entry under the cursor."""
        level = self.level
        if 0 <= level.cursor < len(level.entries):
            return level.entries[level.cursor]
        return None

    def render_line(self, y: int) -> Strip:
        """Line ``y``: mark, frees, bar, logical size, name and details."""
        width = self.scrollable_content_region.width
        index = int(self.scroll_y) + y
        entries = self.level.entries
        if index >= len(entries):
            return Strip.blank(width, self.rich_style)
        entry = entries[index]
        top = max((e.frees for e in entries), default=0) or 1
        mark = self.owner.mark_symbol(entry)
        style = self.rich_style
        if mark.strip():
            style += self.get_component_rich_style("bar-list--marked", partial=True)
        if index == self.level.cursor:
            style += self.get_component_rich_style("bar-list--cursor", partial=True)
        bar_width = 20 if width >= 110 else 12
        frees = fmt.size(entry.frees) + ("" if entry.exact else "~")
        head = f"{mark} {frees.rjust(9)} "
        bar_style = style + self.get_component_rich_style("bar-list--bar", partial=True)
        tail = f" {fmt.size(entry.logical).rjust(9)}  {self.owner.describe(entry)}"
        room = max(width - len(head) - bar_width, 0)
        segments = [
            Segment(head, style),
            Segment(bar(entry.frees / top, bar_width), bar_style),
            Segment(fmt.ellipsize(tail, room).ljust(room), style),
        ]
        return Strip(segments, width).crop(0, width)

    def _scroll_cursor_into_view(self) -> None:
        height = self.scrollable_content_region.height
        if height <= 0:
            return
        top = int(self.scroll_y)
        cursor = self.level.cursor
        if cursor < top:
            self.scroll_to(y=cursor, animate=False, immediate=True)
        elif cursor >= top + height:
            self.scroll_to(y=cursor - height + 1, animate=False, immediate=True)

    def action_cursor(self, delta: int) -> None:
        """Move by ``delta`` lines."""
        if self.level.entries:
            self.level.cursor = max(0, min(len(self.level.entries) - 1, self.level.cursor + delta))
            self._scroll_cursor_into_view()
            self.refresh()
            self.owner.update_status()

    def action_page(self, direction: int) -> None:
        """Move by a screenful."""
        self.action_cursor(direction * max(self.scrollable_content_region.height - 1, 1))

    def action_jump(self, index: int) -> None:
        """First (0) or last (-1) line."""
        if self.level.entries:
            self.level.cursor = index % len(self.level.entries)
            self._scroll_cursor_into_view()
            self.refresh()
            self.owner.update_status()

    def on_resize(self) -> None:
        """Keep the scroll size in step."""
        self.virtual_size = Size(self.size.width, len(self.level.entries))
