"""The image list as plain in-memory rows: filter, sort, marks and cursor, no widgets.

Everything here is O(rows) at worst with precomputed keys, so 10,000 tags stay instant, and it
is tested without Textual.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tui.format import natural_key
from tui.service.models import Image, ImageRow, image_rows


def row_key(row: ImageRow) -> str:
    """A stable identity for a row across reloads: image ID plus repository:tag."""
    return f"{row.image.id}|{row.repository}:{row.tag}"


@dataclass(frozen=True)
class SortColumn:
    """A sortable column: its label and how to get a key from a row."""

    id: str
    label: str
    key: Callable[[ImageRow], Any]
    descending_first: bool


def _size_key(row: ImageRow) -> int:
    return row.image.size


def _unique_key(row: ImageRow) -> int:
    unique = row.image.unique_size
    return -1 if unique is None else unique


def _created_key(row: ImageRow) -> float:
    return row.image.created.timestamp()


def _repo_key(row: ImageRow) -> tuple[Any, ...]:
    return (natural_key(row.repository), natural_key(row.tag))


SORTS: tuple[SortColumn, ...] = (
    SortColumn("size", "size", _size_key, True),
    SortColumn("unique", "unique size", _unique_key, True),
    SortColumn("created", "created", _created_key, True),
    SortColumn("repository", "repository", _repo_key, False),
)
SORT_IDS = tuple(s.id for s in SORTS)


class ImageListModel:
    """Rows, the filtered and sorted view of them, marks, and the cursor."""

    def __init__(self, sort: str = "created") -> None:
        self.rows: list[ImageRow] = []
        self.visible: list[ImageRow] = []
        self.marks: set[str] = set()
        self.filter_text = ""
        self.sort_index = SORT_IDS.index(sort) if sort in SORT_IDS else 2
        self.reverse = False
        self.cursor = 0
        self._search: dict[str, str] = {}
        # Sort keys per sort column, computed once per reload (not per keystroke).
        self._keys: dict[str, dict[str, Any]] = {}
        self._tie: dict[str, Any] = {}

    # -- data -------------------------------------------------------------------------------

    @property
    def sort(self) -> SortColumn:
        """The current sort column."""
        return SORTS[self.sort_index]

    def set_images(self, images: Iterable[Image]) -> None:
        """Replace the rows, keeping the cursor on the same row and marks on surviving rows."""
        current = self.current_key()
        self.rows = [row for image in images for row in image_rows(image)]
        self._search = {
            row_key(r): f"{r.repository}:{r.tag} {r.image.id.removeprefix('sha256:')}".lower()
            for r in self.rows
        }
        self._keys = {}
        self._tie = {row_key(r): (natural_key(r.repository), natural_key(r.tag)) for r in self.rows}
        alive = set(self._search)
        self.marks &= alive
        self._rebuild(keep=current)

    def select(self, key: str) -> bool:
        """Move the cursor to the row with ``key`` (True when it is visible)."""
        for index, row in enumerate(self.visible):
            if row_key(row) == key:
                self.cursor = index
                return True
        return False

    def select_reference(self, reference: str) -> bool:
        """Move the cursor to the row whose reference is ``reference``."""
        for index, row in enumerate(self.visible):
            if row.reference == reference or row.image.id == reference:
                self.cursor = index
                return True
        return False

    # -- view -------------------------------------------------------------------------------

    def set_filter(self, text: str) -> None:
        """Show only rows whose repository, tag or ID contain ``text`` (case-insensitive)."""
        current = self.current_key()
        self.filter_text = text.strip().lower()
        self._rebuild(keep=current)

    def next_sort(self) -> None:
        """Sort by the next column (size, unique size, created, repository)."""
        current = self.current_key()
        self.sort_index = (self.sort_index + 1) % len(SORTS)
        self.reverse = False
        self._rebuild(keep=current)

    def toggle_reverse(self) -> None:
        """Reverse the sort order."""
        current = self.current_key()
        self.reverse = not self.reverse
        self._rebuild(keep=current)

    def _column_keys(self) -> dict[str, Any]:
        column = self.sort
        keys = self._keys.get(column.id)
        if keys is None:
            keys = {row_key(r): column.key(r) for r in self.rows}
            self._keys[column.id] = keys
        return keys

    def _rebuild(self, keep: str | None) -> None:
        needle = self.filter_text
        rows = [r for r in self.rows if needle in self._search[row_key(r)]] if needle else self.rows
        descending = self.sort.descending_first != self.reverse
        keys, tie = self._column_keys(), self._tie
        # Ties fall back to repository:tag (ascending) so the order is stable and predictable:
        # sort by the tie-break first, then a stable sort by the column.
        rows = sorted(rows, key=lambda r: tie[row_key(r)])
        self.visible = sorted(rows, key=lambda r: keys[row_key(r)], reverse=descending)
        if keep is None or not self.select(keep):
            self.cursor = min(self.cursor, max(len(self.visible) - 1, 0))

    # -- cursor and marks -------------------------------------------------------------------

    def current(self) -> ImageRow | None:
        """The row under the cursor, if any."""
        if 0 <= self.cursor < len(self.visible):
            return self.visible[self.cursor]
        return None

    def current_key(self) -> str | None:
        """The identity of the row under the cursor."""
        row = self.current()
        return row_key(row) if row else None

    def move(self, delta: int) -> None:
        """Move the cursor by ``delta`` rows, clamped to the list."""
        if self.visible:
            self.cursor = max(0, min(len(self.visible) - 1, self.cursor + delta))

    def move_to(self, index: int) -> None:
        """Put the cursor on row ``index`` (negative counts from the end)."""
        if self.visible:
            if index < 0:
                index = len(self.visible) + index
            self.cursor = max(0, min(len(self.visible) - 1, index))

    def toggle_mark(self) -> None:
        """Mark or unmark the row under the cursor."""
        key = self.current_key()
        if key is None:
            return
        if key in self.marks:
            self.marks.discard(key)
        else:
            self.marks.add(key)

    def mark_all_visible(self) -> None:
        """Mark every row the filter shows."""
        self.marks.update(row_key(r) for r in self.visible)

    def clear_marks(self) -> None:
        """Unmark everything."""
        self.marks.clear()

    def is_marked(self, row: ImageRow) -> bool:
        """True when ``row`` is marked."""
        return row_key(row) in self.marks

    def marked_rows(self) -> list[ImageRow]:
        """Marked rows, in the order of all rows (including ones the filter hides)."""
        return [r for r in self.rows if row_key(r) in self.marks]

    def targets(self) -> list[ImageRow]:
        """What an action applies to: the marked rows, or else the row under the cursor."""
        marked = self.marked_rows()
        if marked:
            return marked
        row = self.current()
        return [row] if row else []
