"""Issue 14, item 15: a pull's percentage is the bytes the transfers screen shows beside it.

A 20 MB image is pulled through a 1 MB/s proxy to the sandbox registry, in a real 80x24
terminal; while it runs, every reading of the overall line must have its percentage agree
with its "x MB/y MB" (it said "60%" beside "857.2 MB/900.3 MB"). Esc then cancels the pull.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import StartApp
from tests.service.test_transfers import ThrottleProxy, registry_address
from tests.service.test_transfers import big_remote_image as big_remote_image  # fixture
from tests.service.test_transfers import throttle as throttle  # fixture

pytestmark = pytest.mark.daemon

OVERALL = re.compile(r"(\d+)%\s+([\d.]+) (B|kB|MB|GB)/≥?([\d.]+) (B|kB|MB|GB)")
UNITS = {"B": 1, "kB": 1_000, "MB": 1_000_000, "GB": 1_000_000_000}


def readings(lines: list[str]) -> list[tuple[int, float, float]]:
    """(percent, bytes done, bytes total) of every overall line on screen."""
    found = []
    for line in lines:
        match = OVERALL.search(line)
        if match:
            done = float(match.group(2)) * UNITS[match.group(3)]
            total = float(match.group(4)) * UNITS[match.group(5)]
            found.append((int(match.group(1)), done, total))
    return found


def test_pull_percentage_agrees_with_the_bytes_shown(
    start_app: StartApp, big_remote_image: str, throttle: ThrottleProxy
) -> None:
    slow = big_remote_image.replace(registry_address(), throttle.address, 1)
    term = start_app(cols=80, rows=24)
    term.press("p")
    term.wait_for_text("Pull an image")
    term.type(slow)
    term.press("enter")
    seen: set[int] = set()

    def mid_way(_: str) -> bool:
        for value, done, total in readings(term.lines()):
            # Figures are written to 0.1 of a unit: the percentage of the exact bytes is
            # within a point of the percentage of what is written.
            slack = 1 + 100 * 0.05 * UNITS["MB"] / total
            assert abs(value - 100 * done / total) <= slack, term.dump()
            if 0 < value < 100:
                seen.add(value)
        return len(seen) >= 3

    term.wait_until(mid_way, "three readings of the pull mid-way", timeout=60)
    term.press("escape")
    term.wait_for_text("Cancelled")
