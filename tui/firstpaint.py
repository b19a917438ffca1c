"""The image list's first page, painted before Textual has loaded (issue 15).

Python and Textual take a few hundred milliseconds to import; the daemon's ``/images/json``
answer (asked for at once by tui/prefetch.py with the standard library) is usually there well
before that. So the first page of the list is drawn here, with the standard library, the
list's own formatting helpers and ``rich.color`` (the colour conversion Textual itself uses),
exactly as Textual's first frame will draw it: the same lines, columns, widths, symbols and
colours, on the alternate screen. When Textual starts it draws that same frame over it, so
nothing on screen changes at the handover.

The terminal is put in the mode Textual uses before anything is drawn, and given back when the
program ends, by :mod:`tui.early_terminal`.

Anything this module cannot draw exactly as Textual would (a theme or key map from the config,
a sort other than created or size, no colours, a header that would wrap, a daemon that has not
answered in time) makes it draw nothing: Textual then starts as it always did.

Every text from the daemon goes through :func:`tui.safe_text.visible`, as everywhere else.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from math import ceil
from typing import Any, NamedTuple

from tui import format as fmt
from tui.safe_text import visible

NONE = "<none>"
# Textual's default theme (textual-dark) as the list's parts come out on the terminal: the
# header ($primary), the summary ($text-muted), the table header ($panel), rows, the focused
# cursor row ($accent), dangling rows ($text-muted on the table), the footer, the scrollbars.
# tests/e2e/test_firstpaint.py compares every cell with what Textual draws.
RGB = tuple[int, int, int]
PRIMARY: RGB = (0x01, 0x78, 0xD4)
HEADER_TEXT: RGB = (0xDD, 0xED, 0xF9)
BACKGROUND: RGB = (0x12, 0x12, 0x12)
MUTED: RGB = (0xA0, 0xA0, 0xA0)
TEXT: RGB = (0xE0, 0xE0, 0xE0)
PANEL: RGB = (0x24, 0x2F, 0x38)
CURSOR_TEXT: RGB = (0xFF, 0xFF, 0xFF)
CURSOR_BACK: RGB = (0xFE, 0xA6, 0x2B)
DANGLING_TEXT: RGB = (0x79, 0x79, 0x79)
FOOTER_KEY: RGB = (0xFF, 0xA6, 0x2B)
SCROLLBAR: RGB = (0x00, 0x30, 0x54)
SCROLLBAR_BACK: RGB = (0x00, 0x00, 0x00)
# The footer of the list at start-up: the screen's bindings shown in the footer, in order.
FOOTER_KEYS: tuple[tuple[str, str], ...] = (
    ("/", "Filter"),
    ("space", "Mark"),
    ("d", "Delete"),
    ("X", "Cleanup"),
    ("t", "Tag"),
    ("i", "Inspect"),
    ("p", "Pull"),
    ("?", "Help"),
    ("q", "Quit"),
)
# The list's columns (tui/widgets/image_table.py's COLUMNS, without the fleet's DAEMON):
# id, label, width, priority, right-aligned. tests/unit/test_firstpaint.py checks they agree.
COLUMNS: tuple[tuple[str, str, int, int, bool], ...] = (
    ("repository", "REPOSITORY", 16, 100, False),
    ("tag", "TAG", 10, 90, False),
    ("id", "IMAGE ID", 12, 60, False),
    ("created", "CREATED", 13, 40, False),
    ("size", "SIZE", 8, 80, True),
    ("unique", "UNIQUE", 8, 70, True),
    ("shared", "SHARED", 8, 20, True),
    ("containers", "CTR", 3, 50, True),
    ("last_used", "LAST USED", 10, 30, False),
)
TAG_MAX_WIDTH = 24
MARK_WIDTH = 2
DANGLING_SYMBOL = "○"
VERTICAL_BARS = ("▁", "▂", "▃", "▄", "▅", "▆", "▇", " ")
HORIZONTAL_BARS = ("▉", "▊", "▋", "▌", "▍", "▎", "▏", " ")


class Style(NamedTuple):
    """What a run of cells looks like."""

    fg: RGB | None
    bg: RGB
    bold: bool = False
    reverse: bool = False


class Row(NamedTuple):
    """One row of the first page, from the daemon's answer."""

    repository: str
    tag: str
    short_id: str
    created: int
    size: int
    dangling: bool


Line = list[tuple[str, Style]]
# The daemon's ``dangling=true`` answer, or what fetches it when it is first needed.
Dangling = Sequence[Mapping[str, Any]] | Callable[[], Sequence[Mapping[str, Any]]]


class Unknown(Exception):
    """What the page needs could not be learnt (the dangling answer failed or came too late):
    nothing is drawn, Textual starts as before."""


def color_system(environ: Mapping[str, str], isatty: bool) -> str | None:
    """The colours Textual (Rich's ``auto``) will use: truecolor, 256 or standard; None for none.

    None also when this module must leave the drawing to Textual (NO_COLOR, a forced system).
    """
    if not isatty or "NO_COLOR" in environ:
        return None
    if environ.get("TEXTUAL_COLOR_SYSTEM", "auto") != "auto" or environ.get("FORCE_COLOR"):
        return None
    term = environ.get("TERM", "").strip().lower()
    if term in ("", "dumb", "unknown"):
        return None
    if environ.get("COLORTERM", "").strip().lower() in ("truecolor", "24bit"):
        return "truecolor"
    colors = term.rpartition("-")[2]
    return "256" if colors in ("256color", "kitty") else "standard"


def rows_of(
    everything: Sequence[Mapping[str, Any]], dangling: Dangling
) -> list[tuple[int, int, Sequence[Row]]]:
    """Per image: (created, size, its rows as `docker images` shows them), names made visible.

    The same rows as tui/service/models.py's ``image_rows`` (one per tag; an untagged image
    one ``<none>`` row, with the repository of its digest when it has one). An image's rows are
    made when first read (:class:`ImageRows`): the first page needs only a few images' rows,
    and making all 10,000 took a fifth of the time before the first row.

    Only an untagged image can be dangling, so ``dangling`` (the daemon's ``dangling=true``
    answer, or a call that fetches it, which may raise :class:`Unknown`) is read only when an
    untagged image's rows are made: a first page of tagged rows never waits for it.
    """
    known: list[set[str]] = []

    def dangling_ids() -> set[str]:
        if not known:
            answer = dangling() if callable(dangling) else dangling
            known.append({str(item.get("Id", "")) for item in answer})
        return known[0]

    images: list[tuple[int, int, Sequence[Row]]] = []
    for item in everything:
        created = int(item.get("Created") or 0)
        size = int(item.get("Size") or 0)
        images.append((created, size, ImageRows(item, dangling_ids)))
    return images


class ImageRows(Sequence[Row]):
    """One image's rows, counted at once but made only when read."""

    __slots__ = ("_count", "_dangling", "_item", "_rows", "_untagged")

    def __init__(self, item: Mapping[str, Any], dangling_ids: Callable[[], set[str]]) -> None:
        self._item = item
        self._dangling = dangling_ids
        self._rows: list[Row] | None = None
        tags = sum(1 for t in item.get("RepoTags") or () if t != "<none>:<none>")
        self._count = tags or 1  # an untagged image is one <none> row
        self._untagged = not tags

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: Any) -> Any:
        return self._made()[index]

    def __iter__(self) -> Iterator[Row]:
        return iter(self._made())

    def _made(self) -> list[Row]:
        if self._rows is None:
            dangling = self._untagged and str(self._item.get("Id", "")) in self._dangling()
            self._rows = _make_rows(self._item, dangling)
        return self._rows


def _make_rows(item: Mapping[str, Any], is_dangling: bool) -> list[Row]:
    from tui.service.engine import familiar

    short = str(item.get("Id", "")).removeprefix("sha256:")[:12]
    created = int(item.get("Created") or 0)
    size = int(item.get("Size") or 0)
    tags = [familiar(str(t)) for t in item.get("RepoTags") or () if t != "<none>:<none>"]
    pairs: list[tuple[str, str]] = []
    if tags:
        pairs = [_split(t) for t in tags]
    else:
        digests = [
            familiar(str(d))
            for d in item.get("RepoDigests") or ()
            if not str(d).startswith(f"{NONE}@")
        ]
        pairs = [(digests[0].split("@", 1)[0], NONE)] if digests else [(NONE, NONE)]
    return [
        Row(visible(r), visible(t), visible(short), created, size, is_dangling) for r, t in pairs
    ]


def _split(text: str) -> tuple[str, str]:
    # tui/service/models.py's split_repo_tag: the last ':' not followed by '/'.
    colon = text.rfind(":")
    if colon == -1 or "/" in text[colon + 1 :]:
        return text, NONE
    return text[:colon], text[colon + 1 :]


def first_rows(
    images: list[tuple[int, int, Sequence[Row]]], count: int, sort: str, descending: bool
) -> list[Row]:
    """The first ``count`` rows in the list's order (tui/listmodel.py), computing only those.

    The list sorts every row by its image's created time (or size), ties in repository:tag
    order with numbers as numbers, and a stable sort keeps that order for equal keys whichever
    way the column goes. So only the images whose keys reach into the first page are needed:
    taken key by key, the rows of all images with one key sorted by repository and tag.
    """
    index = 0 if sort == "created" else 1
    ordered = sorted(images, key=lambda image: image[1] if index else image[0], reverse=descending)
    page: list[Row] = []
    start = 0
    while start < len(ordered) and len(page) < count:
        key = ordered[start][index]
        end = start
        group: list[Row] = []
        while end < len(ordered) and ordered[end][index] == key:
            group.extend(ordered[end][2])
            end += 1
        group.sort(key=lambda row: (fmt.natural_key(row.repository), fmt.natural_key(row.tag)))
        page.extend(group)
        start = end
    return page[:count]


def layout(width: int, hidden: frozenset[str]) -> list[tuple[str, str, int, bool]]:
    """(id, label, width, right) of the columns that fit: image_table.layout's rule."""
    columns = [c for c in COLUMNS if c[0] not in hidden]
    while True:
        fixed = sum(c[2] for c in columns if c[0] != "repository")
        spare = width - MARK_WIDTH - fixed - len(columns)
        repo = next((c for c in columns if c[0] == "repository"), None)
        if repo is None or spare >= repo[2] or len(columns) <= 3:
            break
        droppable = [c for c in columns if c[0] != "repository"]
        columns.remove(min(droppable, key=lambda c: c[3]))
    repo_min = repo[2] if repo is not None else 0
    tag_width = COLUMNS[1][2]
    tag_extra = min(max((spare - repo_min) // 2, 0), TAG_MAX_WIDTH - tag_width)
    if not any(c[0] == "tag" for c in columns):
        tag_extra = 0
    spare -= tag_extra
    result = []
    for ident, label, w, _, right in columns:
        if ident == "repository":
            w = max(spare, 8)
        elif ident == "tag":
            w += tag_extra
        result.append((ident, label, w, right))
    return result


def header_text(width: int, hidden: frozenset[str]) -> str:
    """The table's column header (image_table.header_text)."""
    parts = [" " * MARK_WIDTH]
    for _, label, w, right in layout(width, hidden):
        text = fmt.ellipsize(label, w)
        parts.append(text.rjust(w) if right else text.ljust(w))
    return " ".join(parts)[:width]


def row_text(row: Row, width: int, hidden: frozenset[str]) -> str:
    """A whole row, ``width`` cells: the state cells, then image_table's cells.

    Disk usage (UNIQUE, SHARED, CTR) and LAST USED are not known yet at start-up, as in
    Textual's first frame: ``…`` and ``unknown``.
    """
    tagged = row.repository != NONE and row.tag != NONE
    parts = [""]
    for ident, _, w, right in layout(width, hidden):
        if ident == "repository":
            cell = row.repository
            if row.dangling and not tagged:
                cell = f"{NONE} (dangling)"
                if len(cell) > w:
                    cell = cell.replace(f"{NONE} ", "", 1)
            cell = fmt.ellipsize_path(cell, w) if tagged else fmt.ellipsize(cell, w)
        elif ident == "last_used":
            cell = "unknown"
        else:
            if ident == "tag":
                cell = row.tag
            elif ident == "id":
                cell = row.short_id
            elif ident == "created":
                cell = fmt.age_short(datetime.fromtimestamp(row.created, tz=timezone.utc))
            elif ident == "size":
                cell = fmt.size(row.size)
            else:  # unique, shared, containers: disk usage has not answered yet
                cell = "…"
            cell = fmt.ellipsize(cell, w)
        parts.append(cell.rjust(w) if right else cell.ljust(w))
    text = " ".join(parts)[: max(width - MARK_WIDTH, 0)].ljust(width - MARK_WIDTH)
    return " " + (DANGLING_SYMBOL if row.dangling else " ") + text


def summary_text(images: list[tuple[int, int, Sequence[Row]]], sort: str, reverse: bool) -> str:
    """The summary line before disk usage (the list screen's ``refresh_summary``)."""
    labels = {"size": "size", "created": "created"}
    tags = sum(len(rows) for _, _, rows in images)
    logical = sum(size for _, size, _ in images)
    sort_words = labels[sort] + (" ↑" if reverse else "")
    return (
        f"{len(images)} images · {tags} tags · logical {fmt.size(logical)} · "
        f"disk usage loading… · sort {sort_words}"
    )


def _bar(size: int, virtual: float, window: float, vertical: bool) -> list[tuple[str, Style]]:
    """Textual's ScrollBarRender.render_bar at position 0, one cell per item."""
    bars = VERTICAL_BARS if vertical else HORIZONTAL_BARS
    back = Style(TEXT if vertical else None, SCROLLBAR_BACK)
    thumb = Style(SCROLLBAR, BACKGROUND, reverse=True)
    count = len(bars)
    thumb_size = max(1, window / (virtual / size))
    end = ceil(thumb_size * count)
    end_index, end_bar = divmod(end, count)
    cells = [(" ", thumb)] * min(end_index, size) + [(" ", back)] * max(size - end_index, 0)
    if end_index < size and bars[count - 1 - end_bar] != " ":
        edge = Style(SCROLLBAR, SCROLLBAR_BACK, reverse=vertical)
        cells[end_index] = (bars[count - 1 - end_bar], edge)
    return cells


def page_lines(
    images: list[tuple[int, int, Sequence[Row]]],
    *,
    width: int,
    height: int,
    header: str,
    sort: str,
    reverse: bool,
    hidden: frozenset[str],
) -> list[Line] | None:
    """The whole screen, line by line, as Textual's first frame of the list draws it.

    None when it cannot be drawn exactly (too small, a line that would wrap).
    """
    summary = summary_text(images, sort, reverse)
    if height < 8 or width < 40 or len(header) > width - 2 or len(summary) > width - 2:
        return None
    total = sum(len(rows) for _, _, rows in images)
    region = height - 4  # header, summary, column header, footer
    scrolls = total > region
    # With the vertical scrollbar the table also shows a horizontal one (its virtual width is
    # the widget's, one more than the rows get): Textual's frame has it, so this one does too.
    shown = region - 1 if scrolls else region
    row_width = width - 1 if scrolls else width
    descending = (sort in ("created", "size")) != reverse
    rows = first_rows(images, shown, sort, descending)
    lines: list[Line] = []
    lines.append(
        [
            (" ", Style(None, PRIMARY)),
            (header, Style(HEADER_TEXT, PRIMARY, bold=True)),
            (" " * (width - 1 - len(header)), Style(None, PRIMARY)),
        ]
    )
    lines.append(
        [
            (" ", Style(None, BACKGROUND)),
            (summary, Style(MUTED, BACKGROUND)),
            (" " * (width - 1 - len(summary)), Style(None, BACKGROUND)),
        ]
    )
    head = header_text(row_width, hidden)
    lines.append(
        [
            (head, Style(TEXT, PANEL, bold=True)),
            (" " * (width - len(head)), Style(None, PANEL)),
        ]
    )
    vbar = _bar(shown, total, shown, vertical=True) if scrolls else []
    for y in range(shown):
        line: Line = []
        if y < len(rows):
            row = rows[y]
            if y == 0:
                style = Style(CURSOR_TEXT, CURSOR_BACK, bold=True)
            elif row.dangling:
                style = Style(DANGLING_TEXT, BACKGROUND)
            else:
                style = Style(TEXT, BACKGROUND)
            line.append((row_text(row, row_width, hidden), style))
        else:
            line.append((" " * row_width, Style(TEXT, BACKGROUND)))
        if scrolls:
            line.append(vbar[y])
        lines.append(line)
    if scrolls:
        hbar = _bar(row_width, width, row_width, vertical=False)
        lines.append([*hbar, (" ", Style(None, SCROLLBAR_BACK))])
    footer: Line = []
    used = 0
    for n, (key, words) in enumerate(FOOTER_KEYS):
        if n:
            footer.append((" ", Style(None, PANEL)))
        footer.append((key, Style(FOOTER_KEY, PANEL, bold=True)))
        footer.append((f" {words}", Style(TEXT, PANEL)))
        used += len(key) + len(words) + 1 + (1 if n else 0)
    if used > width:
        return None
    footer.append((" " * (width - used), Style(None, PANEL)))
    lines.append(footer)
    return lines


def render(lines: list[Line], system: str) -> str:
    """The escape sequences that draw ``lines`` on the alternate screen, as Textual writes."""
    from rich.color import Color, ColorSystem

    target = {
        "truecolor": ColorSystem.TRUECOLOR,
        "256": ColorSystem.EIGHT_BIT,
        "standard": ColorSystem.STANDARD,
    }[system]
    codes: dict[Style, str] = {}

    def sgr(style: Style) -> str:
        code = codes.get(style)
        if code is None:
            parts = []
            if style.bold:
                parts.append("1")
            if style.reverse:
                parts.append("7")
            if style.fg is not None:
                color = Color.from_rgb(*style.fg).downgrade(target)
                parts.extend(color.get_ansi_codes(foreground=True))
            color = Color.from_rgb(*style.bg).downgrade(target)
            parts.extend(color.get_ansi_codes(foreground=False))
            code = codes[style] = "\x1b[" + ";".join(parts) + "m"
        return code

    # Alternate screen, cursor hidden, no line wrap (as Textual sets them), then every line.
    out = ["\x1b[?1049h\x1b[?25l\x1b[?7l"]
    for y, line in enumerate(lines):
        out.append(f"\x1b[{y + 1};1H")
        for text, style in line:
            out.append(f"{sgr(style)}{text}\x1b[0m")
    return "".join(out)


def paint(
    raw: tuple[Sequence[Mapping[str, Any]], Dangling],
    *,
    header: str,
    sort: str,
    reverse: bool,
    hidden: frozenset[str],
    environ: Mapping[str, str] | None = None,
    out: Any = None,
) -> bool:
    """Draw the first page on the terminal; False when it was not drawn."""
    env = os.environ if environ is None else environ
    stream = sys.__stdout__ if out is None else out
    if stream is None or sort not in ("created", "size"):
        return False
    try:
        fd = stream.fileno()
        isatty = os.isatty(fd)
    except (OSError, ValueError, AttributeError):
        return False
    system = color_system(env, isatty)
    if system is None:
        return False
    try:
        width, height = os.get_terminal_size(fd)
    except OSError:
        return False
    try:
        lines = page_lines(
            rows_of(*raw),
            width=width,
            height=height,
            header=visible(header),
            sort=sort,
            reverse=reverse,
            hidden=hidden,
        )
    except Unknown:
        return False
    if lines is None:
        return False
    data = render(lines, system).encode()
    while data:
        data = data[os.write(fd, data) :]
    return True
