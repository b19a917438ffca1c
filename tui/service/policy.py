"""Retention policies as data: the rules, their words, and parsing them from text.

Kept apart from the planner (:mod:`tui.service.retention`) because the config file is checked
at start, before docker-py is loaded, and this module loads neither docker-py nor Textual.
Sizes are parsed like ``imagedeck layers`` parses them (one grammar: 20GB, 1.5GiB, 4096).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from tui.service.models import ImageRow

__all__ = [
    "RetentionPolicy",
    "age_words",
    "parse_duration",
    "parse_size",
    "policy_from_text",
    "size_words",
]

# The cleanup wizard's age grammar (tui.service.cleanup.parse_age), plus years; that module
# loads docker-py, which the config check at start must not.
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdwy])\s*$", re.IGNORECASE)
_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 365 * 86400}
MAX_DURATION = timedelta(days=365 * 100)


def parse_duration(text: str) -> timedelta:
    """``"30d"``, ``"12h"``, ``"2w"``, ``"90m"``, ``"1y"``; ValueError with a readable sentence."""
    match = _AGE.match(text)
    if not match:
        raise ValueError(
            f"{text.strip()!r} is not a duration: write a number and a unit, e.g. 12h, 30d or 2w"
        )
    seconds = float(match.group(1)) * _AGE_UNITS[match.group(2).lower()]
    # As the wizard's ages: beyond a century timedelta overflows or "now minus it" falls before
    # year 1 (OverflowError, not ValueError); nothing is that old.
    if seconds > MAX_DURATION.total_seconds():
        shown = text.strip() if len(text.strip()) <= 24 else text.strip()[:23] + "…"
        raise ValueError(
            f"{shown!r} is more than {MAX_DURATION.days // 365} years: nothing is that old;"
            " write a smaller duration, e.g. 1y"
        )
    return timedelta(seconds=seconds)


def age_words(delta: timedelta) -> str:
    """A duration as it is written (``30d``)."""
    seconds = int(delta.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def parse_size(text: str) -> int:
    """Bytes from ``20GB`` (decimal, like the Docker CLI), ``1.5GiB`` (binary) or ``4096``."""
    from tui.layers_cli import UsageError
    from tui.layers_cli import parse_size as layers_parse_size

    try:
        return layers_parse_size(text.strip())
    except UsageError as exc:
        raise ValueError(str(exc)) from None


def size_words(n: int) -> str:
    """A size as the options write it back (``20GB``), for describe()."""
    for unit, factor in (("TB", 1000**4), ("GB", 1000**3), ("MB", 1000**2), ("kB", 1000)):
        if n >= factor and n % factor == 0:
            return f"{n // factor}{unit}"
    return f"{n}B"


@dataclass(frozen=True)
class RetentionPolicy:
    """The rules of one cleanup (see the module's docstring); all optional, combinable."""

    keep_last: int | None = None
    unused_for: timedelta | None = None
    below: int | None = None
    keep: tuple[str, ...] = ()
    dangling: bool = False

    @property
    def touches_tags(self) -> bool:
        """True when tagged images are in scope (any rule besides ``dangling``)."""
        return self.keep_last is not None or self.unused_for is not None or self.below is not None

    @property
    def empty(self) -> bool:
        """True when no rule selects anything."""
        return not self.touches_tags and not self.dangling

    def describe(self) -> str:
        """The rules in words, for titles, the CLI and the results log."""
        parts: list[str] = []
        if self.keep_last is not None:
            n = self.keep_last
            parts.append(f"keep the newest {n} tag{'s' if n != 1 else ''} of each repository")
        if self.unused_for is not None:
            parts.append(f"not used for {age_words(self.unused_for)}")
        if self.below is not None:
            parts.append(f"least recently used until below {size_words(self.below)}")
        if self.dangling:
            parts.append("dangling images")
        if self.keep:
            parts.append(f"never {', '.join(self.keep)}")
        return "; ".join(parts) or "no rule"

    def merged(self, other: RetentionPolicy) -> RetentionPolicy:
        """``other``'s rules where set, these otherwise; keep patterns from both."""
        return RetentionPolicy(
            keep_last=other.keep_last if other.keep_last is not None else self.keep_last,
            unused_for=other.unused_for if other.unused_for is not None else self.unused_for,
            below=other.below if other.below is not None else self.below,
            keep=tuple(dict.fromkeys((*self.keep, *other.keep))),
            dangling=other.dangling or self.dangling,
        )

    def protects(self, row: ImageRow) -> bool:
        """True when a keep pattern matches the row's repository or ``repository:tag``."""
        return any(
            fnmatch.fnmatchcase(row.repository, p)
            or fnmatch.fnmatchcase(f"{row.repository}:{row.tag}", p)
            for p in self.keep
        )


def policy_from_text(
    *,
    keep_last: str | int | None = None,
    unused_for: str | None = None,
    below: str | None = None,
    keep: Iterable[str] = (),
    dangling: bool = False,
) -> RetentionPolicy:
    """A policy from the words a person typed (CLI options, wizard fields, config values).

    Raises ValueError with a readable sentence for the first wrong value.
    """
    last: int | None = None
    if keep_last is not None and str(keep_last).strip() != "":
        try:
            last = int(str(keep_last).strip())
        except ValueError:
            raise ValueError(f"keep-last {keep_last!r} is not a whole number") from None
        if last < 0:
            raise ValueError("keep-last must be 0 or more")
    age = parse_duration(unused_for) if unused_for and unused_for.strip() else None
    size = parse_size(below) if below and below.strip() else None
    patterns = tuple(p.strip() for p in keep if p.strip())
    return RetentionPolicy(last, age, size, patterns, dangling)
