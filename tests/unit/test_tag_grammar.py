"""The tag check follows the connected engine's grammar; a leading '/' is named; a tag that
exists says it moves and what becomes of the image it leaves."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tui.modals.tag import check_target, move_note
from tui.service.errors import InvalidReference
from tui.service.models import Image
from tui.service.reference import parse, uppercase_domains_on


@pytest.mark.parametrize(
    ("version", "expected"),
    [("20.10.24+dfsg1", False), ("26.1.5", True), ("29.0.0", True), ("4.3.1", False), ("", True)],
)
def test_uppercase_domains_by_engine(version: str, expected: bool) -> None:
    assert uppercase_domains_on(version) is expected


def test_uppercase_first_component_on_engine_20_10() -> None:
    assert parse("XP/c:new").domain == "XP"  # Docker 23+: a registry host
    with pytest.raises(InvalidReference, match="lowercase"):
        parse("XP/c:new", uppercase_domains=False)
    target, verdict = check_target("XP/c:new", uppercase_domains=False)
    assert target is None and "lowercase" in verdict


def test_leading_slash_is_named() -> None:
    with pytest.raises(InvalidReference, match="starts with '/'"):
        parse("/tmp/app:1")


def image(ident: str, *tags: str, containers: int = 0) -> Image:
    return Image(
        id="sha256:" + ident * 64,
        repo_tags=tags,
        repo_digests=(),
        created=datetime(2026, 1, 1, tzinfo=timezone.utc),
        size=1,
        containers=containers,
    )


def test_move_note() -> None:
    images = [image("a", "app:src"), image("b", "app:old"), image("c", "app:two", "app:keep")]
    assert move_note("app:new", "app:src", images) == ""
    assert "already names this image" in move_note("app:src", "app:src", images)
    note = move_note("app:old", "app:src", images)
    assert "moves from bbbbbbbbbbbb" in note and "becomes dangling" in note
    assert "bbbbbbbbbbbb keeps" not in note
    assert "cccccccccccc keeps app:keep" in move_note("app:two", "app:src", images)
    used = [image("a", "app:src"), image("b", "app:old", containers=1)]
    assert "still used by a container" in move_note("app:old", "app:src", used)
