"""The image list as plain in-memory rows: filter, sort, marks and cursor, no widgets.

Built for 10,000 tags. Everything a row needs for filtering and sorting (its identity, its
lowercase search text, its sort keys) is computed once per reload into parallel lists indexed
by row number; the full order of every row is computed once per sort column and direction and
cached, so a keystroke in the filter is a single pass of substring tests over that cached order
(and a narrowing keystroke only re-tests the rows already shown). It is tested without Textual.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from tui.format import natural_key
from tui.service.models import NONE, Image, ImageRow, image_rows, split_repo_tag


def daemon_of(image: Image) -> str:
    """The fleet daemon that listed ``image`` ("" for one daemon; tui/service/fleet.py)."""
    return getattr(image, "daemon", "")


def _image_search(image: Image) -> str:
    """The search text of an image's own part: its ID without ``sha256:`` and, in a fleet, the
    daemon's name (lower case)."""
    daemon = daemon_of(image)
    short = image.id.removeprefix("sha256:")
    return f"{short} {daemon}".lower() if daemon else short.lower()


def row_key(row: ImageRow) -> str:
    """A stable identity for a row across reloads: image ID plus repository:tag.

    In a fleet view the daemon leads: one image ID on two daemons is two rows.
    """
    daemon = daemon_of(row.image)
    if daemon:
        return f"{daemon}|{row.image.id}|{row.repository}:{row.tag}"
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
_REPOSITORY = SORTS[SORT_IDS.index("repository")]


class ShownRows(Sequence[ImageRow]):
    """The rows the filter shows, in order: a view of ``rows`` through row numbers.

    A keystroke in the filter makes only the list of row numbers; copying 50,000 row
    references into a new list as well touched every row object (their reference counts) and
    cost more than the filtering itself.
    """

    __slots__ = ("_numbers", "_rows")

    def __init__(self, rows: list[ImageRow], numbers: list[int]) -> None:
        self._rows = rows
        self._numbers = numbers

    def __len__(self) -> int:
        return len(self._numbers)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return list(map(self._rows.__getitem__, self._numbers[index]))
        return self._rows[self._numbers[index]]

    def __iter__(self) -> Iterator[ImageRow]:
        return map(self._rows.__getitem__, self._numbers)


class ImageListModel:
    """Rows, the filtered and sorted view of them, marks, and the cursor.

    ``rows`` holds every row in daemon order; ``visible`` the rows the filter shows, in sort
    order. Marks are row keys (see :func:`row_key`), so they survive reloads, filtering and
    sorting; a reload drops marks whose rows are gone.
    """

    def __init__(self, sort: str = "created") -> None:
        self.rows: list[ImageRow] = []
        self.visible: Sequence[ImageRow] = ShownRows([], [])
        self.marks: set[str] = set()
        self.filter_text = ""
        self.sort_index = SORT_IDS.index(sort) if sort in SORT_IDS else 2
        self.reverse = False
        self.cursor = 0
        # Per row number, computed once per reload.
        self._keys: list[str] = []
        self._search: list[str] = []  # the name's search text (see _matching)
        # Per row its image's number, per image its search text: made by the first filter
        # after a load (see _image_parts).
        self._parts: tuple[list[ImageRow], list[int], list[str]] | None = None
        self._index: dict[str, int] = {}  # row key -> row number
        # Row numbers in tie-break order (repository, tag; numbers as numbers; in a fleet the
        # daemon): the keys are made for the sort and let go (resident memory: a tuple per row).
        self._tie_order: list[int] = []
        # Where each image's rows are, in row order: (first row number, count).
        self._spans: list[tuple[int, int]] = []
        # Full order of all rows per (sort column, descending), filled lazily.
        self._orders: dict[tuple[str, bool], list[int]] = {}
        # Row numbers of ``visible`` and the filter that chose them (for narrowing keystrokes).
        self._shown: list[int] = []
        self._shown_needle = ""
        # natural_key() parses with a regex; repositories repeat across thousands of tags.
        self._natural: dict[str, tuple[Any, ...]] = {}
        # One string per distinct repository or tag name: the 200 tags of one repository,
        # and a tag like "latest" on many images, share theirs (resident memory at 10,000 tags).
        self._names: dict[str, str] = {}
        # Where each image's rows are in the last load (first row number, count), by its names
        # (daemon, id, tags, digests): the next load reuses their strings and sort keys.
        self._per_image: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], tuple[int, int]]
        self._per_image = {}

    # -- data -------------------------------------------------------------------------------

    @property
    def sort(self) -> SortColumn:
        """The current sort column."""
        return SORTS[self.sort_index]

    @property
    def descending(self) -> bool:
        """True when the current order is largest / newest first."""
        return self.sort.descending_first != self.reverse

    def set_images(self, images: Iterable[Image]) -> None:
        """Replace the rows, keeping the cursor on the same row and marks on surviving rows."""
        current = self.current_key()
        rows: list[ImageRow] = []
        keys: list[str] = []
        search: list[str] = []
        previous, self._per_image = self._per_image, {}
        old_rows, old_keys, old_search = self.rows, self._keys, self._search
        spans: list[tuple[int, int]] = []
        for image in images:
            # A reload mostly brings the same names again (or only new usage figures): reuse
            # the strings and sort keys of an image whose names did not change.
            names = (daemon_of(image), image.id, image.repo_tags, image.repo_digests)
            span = previous.get(names)
            start = len(rows)
            if span is not None:
                first, end = span[0], span[0] + span[1]
                rows.extend(ImageRow(image, r.repository, r.tag) for r in old_rows[first:end])
                keys.extend(old_keys[first:end])
                search.extend(old_search[first:end])
            else:
                self._add_rows(image, rows, keys, search)
            self._per_image[names] = (start, len(rows) - start)
            spans.append((start, len(rows) - start))
        self.rows = rows
        self._keys = keys
        self._search = search
        self._spans = spans
        self._index = {key: n for n, key in enumerate(keys)}
        self._tie_order = self._tie_sorted(rows)
        self._orders = {}
        # The cache only needs the names still in use; drop the rest so it cannot grow forever.
        if len(self._natural) > 4 * len(rows) + 1024:
            self._natural = {}
        if len(self._names) > 4 * len(rows) + 1024:
            self._names = {}
        if self.marks:
            self.marks.intersection_update(self._index)
        self._rebuild(keep=current, narrow=False)

    def _tie_sorted(self, rows: list[ImageRow]) -> list[int]:
        """Row numbers in tie-break order: repository, tag (numbers as numbers); in a fleet
        equal tags sort by daemon.

        Each distinct name's natural key is ranked once (equal keys, such as ``App`` and
        ``app``, share a rank), and the rows are sorted by their ranks: the same order as
        sorting by the natural keys themselves, without comparing 10,000 tuples of tuples
        (the list's start waited for that). The ranks are made for the sort and let go.
        """
        repository_rank = self._ranks({row.repository for row in rows})
        tag_rank = self._ranks({row.tag for row in rows})
        if any(daemon_of(rows[start].image) for start, _ in self._spans):
            fleet = [
                (repository_rank[row.repository], tag_rank[row.tag], daemon_of(row.image))
                for row in rows
            ]
            return sorted(range(len(rows)), key=fleet.__getitem__)
        width = len(tag_rank) + 1
        keys = [repository_rank[row.repository] * width + tag_rank[row.tag] for row in rows]
        return sorted(range(len(rows)), key=keys.__getitem__)

    def _ranks(self, names: set[str]) -> dict[str, int]:
        """Each name's place in natural order; names with equal natural keys share one."""
        natural = self._natural_key
        ranks: dict[str, int] = {}
        rank, last = -1, None
        for name in sorted(names, key=natural):
            key = natural(name)
            if key != last:
                rank, last = rank + 1, key
            ranks[name] = rank
        return ranks

    def _add_rows(
        self, image: Image, rows: list[ImageRow], keys: list[str], search: list[str]
    ) -> None:
        """Append ``image``'s rows with their row keys and search texts (``repo:tag``, lower
        case).

        One pass per tag: the row key is the image's prefix and the tag's own string, and a
        name's search text is that same string when it is lower case already (most are), so
        no equal copy is kept per row. A repository or tag name is one string however many
        rows carry it.
        """
        names = self._names
        daemon = daemon_of(image)
        prefix = f"{daemon}|{image.id}|" if daemon else f"{image.id}|"
        tags = image.tags
        if not tags:  # the one <none> row (with its digest's repository, if any)
            for row in image_rows(image):
                rows.append(
                    ImageRow(
                        image,
                        names.setdefault(row.repository, row.repository),
                        names.setdefault(row.tag, row.tag),
                    )
                )
                keys.append(row_key(row))
                search.append(f"{row.repository}:{row.tag}".lower())
            return
        setdefault = names.setdefault
        for ref in tags:
            repository, tag = split_repo_tag(ref)
            # ``ref`` is ``repository:tag`` itself unless it has no tag (``host:5000/app``).
            name = ref if tag != NONE else f"{repository}:{tag}"
            rows.append(ImageRow(image, setdefault(repository, repository), setdefault(tag, tag)))
            keys.append(prefix + name)
            lower = name.lower()
            search.append(name if lower == name else lower)

    def _natural_key(self, text: str) -> tuple[Any, ...]:
        key = self._natural.get(text)
        if key is None:
            key = self._natural[text] = natural_key(text)
        return key

    def select(self, key: str) -> bool:
        """Move the cursor to the row with ``key`` (True when it is visible)."""
        number = self._index.get(key)
        if number is None:
            return False
        try:
            self.cursor = self._shown.index(number)
        except ValueError:
            return False
        return True

    def select_reference(self, reference: str) -> bool:
        """Move the cursor to the row whose reference is ``reference``."""
        for index, row in enumerate(self.visible):
            if row.reference == reference or row.image.id == reference:
                self.cursor = index
                return True
        return False

    # -- view -------------------------------------------------------------------------------

    def set_filter(self, text: str) -> bool:
        """Show only rows whose repository, tag or ID contain ``text`` (case-insensitive).

        Returns whether the rows shown changed (typing ``bench/`` over rows that all match
        it changes none: the table need not be drawn again).
        """
        needle = text.strip().lower()
        if needle == self.filter_text:
            return False
        current, before = self.current_key(), self._shown
        self.filter_text = needle
        self._rebuild(keep=current, narrow=True)
        # The same row numbers (identical int objects: no row is touched to compare them).
        return self._shown != before

    def next_sort(self) -> None:
        """Sort by the next column (size, unique size, created, repository)."""
        current = self.current_key()
        self.sort_index = (self.sort_index + 1) % len(SORTS)
        self.reverse = False
        self._rebuild(keep=current, narrow=False)

    def toggle_reverse(self) -> None:
        """Reverse the sort order."""
        current = self.current_key()
        self.reverse = not self.reverse
        self._rebuild(keep=current, narrow=False)

    def _order(self) -> list[int]:
        """Every row number in the current sort order (cached until the next reload)."""
        column, descending = self.sort, self.descending
        order = self._orders.get((column.id, descending))
        if order is None:
            keys: list[Any]
            if column is _REPOSITORY:
                # The tie-break order already is the repository order: use ranks in it
                # instead of comparing natural keys again.
                keys = [0] * len(self.rows)
                for rank, n in enumerate(self._tie_order):
                    keys[n] = rank
            else:
                # The other columns are the image's (size, unique size, created): one key per
                # image, for each of its rows (they are next to each other).
                keys = []
                rows = self.rows
                for start, count in self._spans:
                    keys.extend([column.key(rows[start])] * count)
            # Ties keep the repository:tag order (ascending, whichever way the column goes):
            # Python's sort is stable, also with reverse=True.
            order = sorted(self._tie_order, key=keys.__getitem__, reverse=descending)
            self._orders[(column.id, descending)] = order
        return order

    def _rebuild(self, keep: str | None, narrow: bool) -> None:
        needle = self.filter_text
        if not needle:
            shown = self._order()
        else:
            # A longer needle that contains the previous one only hides rows: test just the
            # rows shown now instead of all of them.
            old = self._shown_needle
            source = self._shown if narrow and old and old in needle else self._order()
            shown = self._matching(source, needle)
        self._shown = shown
        self._shown_needle = needle
        self.visible = ShownRows(self.rows, shown)
        if keep is None or not self.select(keep):
            self.cursor = min(self.cursor, max(len(self.visible) - 1, 0))

    def _image_parts(self) -> tuple[list[int], list[str]]:
        """Per row its image's number, and per image the search text of its own part."""
        if self._parts is None or self._parts[0] is not self.rows:
            numbers: dict[int, int] = {}
            image_of: list[int] = []
            image_search: list[str] = []
            for row in self.rows:
                number = numbers.get(id(row.image))
                if number is None:
                    number = numbers[id(row.image)] = len(image_search)
                    image_search.append(_image_search(row.image))
                image_of.append(number)
            self._parts = (self.rows, image_of, image_search)
        return self._parts[1], self._parts[2]

    def _matching(self, source: list[int], needle: str) -> list[int]:
        """The row numbers of ``source`` whose search text contains ``needle``.

        A row's search text is ``repo:tag ID[ daemon]`` (lower case, the ID without
        ``sha256:``), held in two parts: the name per row, the rest per image (a row's string
        half as long; 50,000 rows share 50 IDs). A needle without a space cannot reach across
        the space between them: it matches a row when it is in the row's name or in its
        image's part, tested once per image. One with a space is tested on the whole text.
        """
        search = self._search
        image_of, image_search = self._image_parts()
        if " " in needle:
            return [n for n in source if needle in f"{search[n]} {image_search[image_of[n]]}"]
        hits = {number for number, text in enumerate(image_search) if needle in text}
        if not hits:
            return [n for n in source if needle in search[n]]
        return [n for n in source if image_of[n] in hits or needle in search[n]]

    # -- cursor and marks -------------------------------------------------------------------

    def current(self) -> ImageRow | None:
        """The row under the cursor, if any."""
        if 0 <= self.cursor < len(self.visible):
            return self.visible[self.cursor]
        return None

    def current_key(self) -> str | None:
        """The identity of the row under the cursor."""
        if 0 <= self.cursor < len(self._shown):
            return self._keys[self._shown[self.cursor]]
        return None

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
        keys = self._keys
        self.marks.update([keys[n] for n in self._shown])

    def clear_marks(self) -> None:
        """Unmark everything."""
        self.marks.clear()

    def is_marked(self, row: ImageRow) -> bool:
        """True when ``row`` is marked."""
        return bool(self.marks) and row_key(row) in self.marks

    def is_marked_at(self, index: int) -> bool:
        """True when the visible row ``index`` is marked (no key formatting: for drawing)."""
        return bool(self.marks) and self._keys[self._shown[index]] in self.marks

    def marked_rows(self) -> list[ImageRow]:
        """Marked rows, in the order of all rows (including ones the filter hides)."""
        marks = self.marks
        if not marks:
            return []
        rows = self.rows
        return [rows[n] for n, key in enumerate(self._keys) if key in marks]

    def hidden_marked_rows(self) -> list[ImageRow]:
        """Marked rows the filter hides (a delete takes them too, unseen)."""
        marks = self.marks
        if not marks:
            return []
        shown = set(self._shown)
        rows = self.rows
        return [rows[n] for n, key in enumerate(self._keys) if key in marks and n not in shown]

    def targets(self) -> list[ImageRow]:
        """What an action applies to: the marked rows, or else the row under the cursor."""
        marked = self.marked_rows()
        if marked:
            return marked
        row = self.current()
        return [row] if row else []
