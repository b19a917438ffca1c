"""The first page painted before Textual loads (tui/firstpaint.py) draws what the list draws."""

from __future__ import annotations

import itertools
from typing import Any

import pyte
import pytest

from tui import firstpaint
from tui.listmodel import ImageListModel
from tui.service.models import Image, image_from_api
from tui.widgets import image_table


def _api(n: int, created: int, tags: list[str], size: int = 1000, digests: Any = ()) -> dict:
    return {
        "Id": f"sha256:{n:064x}",
        "Created": created,
        "Size": size,
        "RepoTags": tags,
        "RepoDigests": list(digests),
        "Labels": None,
    }


# Equal created times across images (their rows interleave by repository and tag), numeric
# tags (10 after 2), an untagged image with a digest, a dangling one, a long repository.
RAW = [
    _api(1, 1_700_000_000, ["demo/app:1", "demo/app:10", "demo/app:2"], 2_000_000),
    _api(2, 1_700_000_000, ["demo/alias:one", "demo/alias:two"], 500),
    _api(3, 1_600_000_000, [], 123_456, ["demo/gone@sha256:" + "a" * 64]),
    _api(4, 1_650_000_000, ["<none>:<none>"], 42),
    _api(5, 1_650_000_000, ["127.0.0.1:5000/team/very/long/path/to/the/service:latest"], 9),
    *[_api(10 + n, 1_500_000_000 - n, [f"bench/app{n}:{t}" for t in (1, 2, 3)]) for n in range(8)],
]
DANGLING = [RAW[3]]


def _model_images() -> list[Image]:
    dangling = {item["Id"] for item in DANGLING}
    return [image_from_api(item, item["Id"] in dangling) for item in RAW]


def test_columns_are_the_tables() -> None:
    table = tuple(
        (c.id, c.label, c.width, c.priority, c.right)
        for c in image_table.COLUMNS
        if c.id != "daemon"
    )
    assert firstpaint.COLUMNS == table
    assert firstpaint.TAG_MAX_WIDTH == image_table.TAG_MAX_WIDTH
    assert firstpaint.MARK_WIDTH == image_table.MARK_WIDTH


@pytest.mark.parametrize("width", [60, 79, 80, 100, 119, 120, 160, 250])
@pytest.mark.parametrize("hidden", [frozenset(), frozenset({"shared", "id"})])
def test_header_and_rows_are_the_tables(width: int, hidden: frozenset[str]) -> None:
    assert firstpaint.header_text(width, hidden) == image_table.header_text(width, hidden)
    images = _model_images()
    model = ImageListModel()
    model.set_images(images)
    table = image_table.ImageTable(model, hidden=hidden)
    ours = {
        (row.repository, row.tag): row
        for _, _, rows in firstpaint.rows_of(RAW, DANGLING)
        for row in rows
    }
    for row in model.visible:
        theirs = table._cells(row, width)
        mine = firstpaint.row_text(ours[(row.repository, row.tag)], width, hidden)
        state = image_table.DANGLING_SYMBOL if row.image.dangling else " "
        assert mine == " " + state + theirs


@pytest.mark.parametrize(
    ("sort", "reverse"), [("created", False), ("created", True), ("size", False), ("size", True)]
)
def test_first_rows_are_the_lists_order(sort: str, reverse: bool) -> None:
    model = ImageListModel(sort=sort)
    model.set_images(_model_images())
    if reverse:
        model.toggle_reverse()
    expected = [(r.repository, r.tag) for r in model.visible]
    images = firstpaint.rows_of(RAW, DANGLING)
    for count in (1, 2, 3, 5, 8, len(expected), len(expected) + 4):
        rows = firstpaint.first_rows(images, count, sort, model.descending)
        assert [(r.repository, r.tag) for r in rows] == expected[:count]


def test_daemon_text_is_made_visible() -> None:
    evil = [_api(1, 1_700_000_000, ["evil/\x1b]52;c;aGk=\x07:t\x1b[2J"])]
    ((_, _, rows),) = firstpaint.rows_of(evil, [])
    text = firstpaint.row_text(rows[0], 120, frozenset())
    assert "\x1b" not in text and "\x07" not in text
    assert "^[]52;c;aGk=^G" in text
    lines = firstpaint.page_lines(
        firstpaint.rows_of(evil, []),
        width=120,
        height=30,
        header="imagedeck  ·  unix:///x",
        sort="created",
        reverse=False,
        hidden=frozenset(),
    )
    assert lines is not None
    drawn = firstpaint.render(lines, "truecolor")
    # Only our own sequences: every ESC starts a CSI (cursor moves, modes, colours).
    assert all(part.startswith("[") for part in drawn.split("\x1b")[1:])


def test_page_is_the_screen_it_says() -> None:
    images = firstpaint.rows_of(RAW, DANGLING)
    lines = firstpaint.page_lines(
        images,
        width=100,
        height=12,
        header="imagedeck  ·  unix:///run/docker.sock",
        sort="created",
        reverse=False,
        hidden=frozenset(),
    )
    assert lines is not None and len(lines) == 12
    screen = pyte.Screen(100, 12)
    pyte.ByteStream(screen).feed(firstpaint.render(lines, "256").encode())
    shown = screen.display
    assert shown[0].startswith(" imagedeck  ·  unix:///run/docker.sock")
    assert shown[1].startswith(" 13 images · 32 tags · logical ")
    assert "disk usage loading…" in shown[1]
    assert shown[2] == image_table.header_text(99, frozenset()).ljust(100)
    model = ImageListModel()
    model.set_images(_model_images())
    for y, row in enumerate(model.visible[:7]):  # 12 - 4 lines, one of them a scrollbar
        assert row.image.short_id in shown[3 + y]
    assert shown[-1].startswith("/ Filter space Mark d Delete")
    assert all(len(line) == 100 for line in shown)


def test_no_page_when_it_could_not_be_exact() -> None:
    images = firstpaint.rows_of(RAW, DANGLING)
    common: dict[str, Any] = {"sort": "created", "reverse": False, "hidden": frozenset()}
    assert firstpaint.page_lines(images, width=30, height=24, header="x", **common) is None
    long_header = "imagedeck  ·  " + "x" * 200  # would wrap in Textual
    assert firstpaint.page_lines(images, width=80, height=24, header=long_header, **common) is None


@pytest.mark.parametrize(
    ("env", "tty", "expected"),
    [
        ({"TERM": "xterm-256color", "COLORTERM": "truecolor"}, True, "truecolor"),
        ({"TERM": "xterm-256color"}, True, "256"),
        ({"TERM": "xterm"}, True, "standard"),
        ({"TERM": "dumb"}, True, None),
        ({"TERM": "xterm-256color", "NO_COLOR": "1"}, True, None),
        ({"TERM": "xterm-256color", "TEXTUAL_COLOR_SYSTEM": "standard"}, True, None),
        ({"TERM": "xterm-256color"}, False, None),
    ],
)
def test_colour_system_follows_textuals(env: dict[str, str], tty: bool, expected: str) -> None:
    assert firstpaint.color_system(env, tty) == expected


def test_bars_are_textuals() -> None:
    from rich.segment import Segment
    from textual.scrollbar import ScrollBarRender

    for size, virtual, vertical in itertools.product((5, 35), (40, 119.0, 10_000), (True, False)):
        window = size
        if virtual <= size:
            continue
        theirs = (
            ScrollBarRender.render_bar(
                size=size,
                virtual_size=virtual,
                window_size=window,
                position=0,
                vertical=vertical,
            )
        ).segments
        glyphs = [s.text for s in theirs if isinstance(s, Segment) and s.text != "\n"]
        ours = [text for text, _ in firstpaint._bar(size, virtual, window, vertical)]
        assert ours == glyphs[:size]


def _page(dangling: firstpaint.Dangling, height: int) -> list[firstpaint.Line] | None:
    return firstpaint.page_lines(
        firstpaint.rows_of(RAW, dangling),
        width=100,
        height=height,
        header="imagedeck",
        sort="created",
        reverse=False,
        hidden=frozenset(),
    )


def test_a_page_of_tagged_rows_never_waits_for_the_dangling_answer() -> None:
    # Only an untagged image can be dangling: the newest five rows are tagged, so the page of
    # three rows is drawn without the dangling images (still being asked for).
    def not_yet() -> list[dict[str, Any]]:
        raise AssertionError("the dangling answer was read")

    lines = _page(not_yet, 8)
    assert lines is not None
    assert lines == _page(DANGLING, 8)


def test_a_page_with_an_untagged_row_reads_the_dangling_answer_once() -> None:
    calls: list[int] = []

    def answer() -> list[dict[str, Any]]:
        calls.append(1)
        return DANGLING

    lines = _page(answer, 24)
    assert lines is not None and calls == [1]
    assert lines == _page(DANGLING, 24)
    shown = "".join(text for line in lines for text, _ in line)
    assert f"{firstpaint.DANGLING_SYMBOL} (dangling)" in shown


def test_no_page_when_the_dangling_answer_is_not_there_in_time(tmp_path: Any) -> None:
    import os
    import pty

    def too_late() -> list[dict[str, Any]]:
        raise firstpaint.Unknown("no dangling answer in time")

    with pytest.raises(firstpaint.Unknown):
        _page(too_late, 24)
    master, slave = pty.openpty()
    try:
        with os.fdopen(os.dup(slave), "w") as out:
            painted = firstpaint.paint(
                (RAW, too_late),
                header="imagedeck",
                sort="created",
                reverse=False,
                hidden=frozenset(),
                environ={"TERM": "xterm-256color"},
                out=out,
            )
        assert not painted
        os.set_blocking(master, False)
        with pytest.raises(BlockingIOError):
            os.read(master, 100)  # nothing was written
    finally:
        os.close(master)
        os.close(slave)
