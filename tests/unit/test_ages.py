"""CREATED is written one way everywhere (issue 14 item 15): ``tui.format.age``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tui import format as fmt

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(0), "just now"),
        (timedelta(seconds=8), "just now"),
        (timedelta(seconds=59.9), "just now"),
        (timedelta(seconds=60), "1 min ago"),
        (timedelta(minutes=12, seconds=30), "12 min ago"),
        (timedelta(minutes=59, seconds=59), "59 min ago"),
        (timedelta(hours=1), "an hour ago"),
        (timedelta(hours=1, minutes=59), "an hour ago"),
        (timedelta(hours=2), "2 hours ago"),
        (timedelta(hours=23, minutes=59), "23 hours ago"),
        (timedelta(days=1), "a day ago"),
        (timedelta(days=1, hours=12), "a day ago"),
        (timedelta(days=2), "2 days ago"),
        (timedelta(days=29), "29 days ago"),
        (timedelta(days=30), "a month ago"),
        (timedelta(days=60), "2 months ago"),
        (timedelta(days=364), "11 months ago"),
        (timedelta(days=365), "a year ago"),
        (timedelta(days=729), "a year ago"),
        (timedelta(days=730), "2 years ago"),
    ],
)
def test_age_words(delta: timedelta, expected: str) -> None:
    assert fmt.age(T0 - delta, now=T0) == expected


def test_a_time_ahead_of_our_clock_is_just_now() -> None:
    # A daemon whose clock runs ahead stamps images "in the future".
    assert fmt.age(T0 + timedelta(minutes=3), now=T0) == "just now"


def test_an_unset_time_is_unknown() -> None:
    assert fmt.age(datetime.fromtimestamp(0, timezone.utc), now=T0) == "unknown"


def test_every_age_fits_the_created_column_and_never_counts_seconds() -> None:
    # Every minute of the first two days, every hour of the first two years, then every 30
    # days to 50 years (1976; older is before the epoch): one form, at most 13 cells.
    deltas = [timedelta(minutes=m) for m in range(0, 2 * 24 * 60)]
    deltas += [timedelta(hours=h) for h in range(0, 2 * 365 * 24)]
    deltas += [timedelta(days=d) for d in range(0, 50 * 365, 30)]
    for delta in deltas:
        text = fmt.age(T0 - delta, now=T0)
        assert len(text) <= 13, (delta, text)
        assert "second" not in text, (delta, text)
        assert text == "just now" or text.endswith(" ago"), (delta, text)
        assert not text.startswith(("0 ", "1 hour", "1 day", "1 month", "1 year")), text


def test_ages_only_grow() -> None:
    # A later look never reads younger than an earlier one (the order of the units holds).
    order = ["just now", "min", "hour", "day", "month", "year"]

    def rank(text: str) -> tuple[int, int]:
        unit = next(i for i, u in enumerate(order) if u in text)
        number = text.split()[0]
        return unit, int(number) if number.isdigit() else 1

    when = T0 - timedelta(days=3 * 365)
    looks = [T0 - timedelta(days=3 * 365) + timedelta(minutes=7 * k) for k in range(0, 230_000)]
    ranks = [rank(fmt.age(when, now=now)) for now in looks[::97]]
    assert ranks == sorted(ranks)


def test_the_clock_is_what_ages_are_measured_against() -> None:
    saved = fmt.clock
    fmt.clock = lambda: T0
    try:
        assert fmt.age(T0 - timedelta(minutes=5)) == "5 min ago"
        # The list's helper writes the same words (kept for callers that still name it).
        assert fmt.age_short(T0 - timedelta(minutes=5)) == "5 min ago"
        assert fmt.age_short(T0 - timedelta(days=400)) == fmt.age(T0 - timedelta(days=400))
    finally:
        fmt.clock = saved
