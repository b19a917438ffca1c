"""Formatting helpers shared by screens: sizes, ages, natural sort keys."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone

import humanize

_DIGITS = re.compile(r"(\d+)")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


# The clock ages are measured against; tests and snapshots pin it so pictures do not change
# with the date.
clock: Callable[[], datetime] = _utcnow

# How often screens that show ages look whether one on screen now reads differently (no
# daemon call; a repaint only then). Minutes are the finest unit ``age`` writes, so a label
# is at most this many seconds late.
AGE_CHECK_SECONDS = 5.0


def size(n: int | None) -> str:
    """A size the way the Docker CLI writes it (decimal units: 1.2 MB), or '…' when unknown."""
    if n is None:
        return "…"
    if n < 1000:
        return f"{n} B"
    return str(humanize.naturalsize(n, binary=False, format="%.1f"))


def age(when: datetime, now: datetime | None = None) -> str:
    """How long ago ``when`` (UTC) was, the one way every screen writes a time ago.

    ``just now``, ``12 min ago``, ``an hour ago``, ``5 hours ago``, ``a day ago``,
    ``12 days ago``, ``3 months ago``, ``2 years ago``; at most 13 cells, so the list's
    CREATED column never cuts it. Minutes are the finest unit: screens redraw ages once in a
    while (the list every few seconds, without asking the daemon), and a seconds count would
    be stale at once. A time in the future (a clock ahead of ours) reads ``just now``.
    """
    if when.timestamp() <= 0:
        return "unknown"
    seconds = ((now or clock()) - when).total_seconds()
    if seconds < 60:
        return "just now"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min ago"
    hours = minutes // 60
    if hours < 24:
        return _ago(hours, "an hour", "hours")
    days = hours // 24
    if days < 30:
        return _ago(days, "a day", "days")
    if days < 365:
        return _ago(min(days // 30, 11), "a month", "months")
    return _ago(days // 365, "a year", "years")


def _ago(count: int, one: str, unit: str) -> str:
    return f"{one} ago" if count == 1 else f"{count} {unit} ago"


def age_short(when: datetime, width: int = 13) -> str:
    """``age``: every age fits the list's 13-cell CREATED column now (kept for its callers)."""
    return ellipsize(age(when), width)


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key that orders numbers inside text as numbers: 1, 2, 10 (not 1, 10, 2)."""
    parts: list[tuple[int, int | str]] = []
    for chunk in _DIGITS.split(text.lower()):
        if not chunk:
            continue
        if chunk.isdigit():
            parts.append((0, int(chunk)))
        else:
            parts.append((1, chunk))
    return tuple(parts)


def ellipsize(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells with a trailing '…' when it does not fit."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + "…"


def ellipsize_path(text: str, width: int) -> str:
    """A repository cut in the middle: its start (the registry host) and its last path component
    stay, ``127.0.0.1:5000/de…/pushed``, since the end is what tells repositories apart."""
    if len(text) <= width or "/" not in text:
        return ellipsize(text, width)
    tail = text[text.rindex("/") :]  # "/pushed"
    keep = width - len(tail) - 1
    if keep < 4:  # the last component alone nearly fills the cell: keep its end
        return "…" + text[-(width - 1) :] if width > 1 else ellipsize(text, width)
    return text[:keep] + "…" + tail


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 line``, ``2 lines``, ``0 containers`` (``words``: an irregular plural)."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"
