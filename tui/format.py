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


def size(n: int | None) -> str:
    """A size the way the Docker CLI writes it (decimal units: 1.2 MB), or '…' when unknown."""
    if n is None:
        return "…"
    if n < 1000:
        return f"{n} B"
    return str(humanize.naturalsize(n, binary=False, format="%.1f"))


def age(when: datetime, now: datetime | None = None) -> str:
    """'5 days ago' style age of a UTC datetime."""
    if when.timestamp() <= 0:
        return "unknown"
    now = now or clock()
    return str(humanize.naturaltime(now - when))


def age_short(when: datetime, width: int = 13) -> str:
    """``age`` when it fits in ``width`` cells, else a compact form ("50 min ago", "2 years ago").

    The list's CREATED column is narrow so the table fits 80 columns.
    """
    text = age(when)
    if len(text) <= width:
        return text
    seconds = (clock() - when).total_seconds()
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} hours ago"
    if seconds < 86400 * 365:
        return f"{int(seconds // 86400)} days ago"
    years = int(seconds // (86400 * 365))
    return f"{years} year{'s' if years > 1 else ''} ago"


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
