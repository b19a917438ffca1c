"""A transfer's percentage is computed from the bytes it shows (issue 14 item 15).

The issue saw "60%" beside "857.2 MB/900.3 MB": the percentage averaged the layers' steps
(extraction counted as half a layer) while the figures were bytes. Now the overall line's
percentage and bar are the bytes shown, and each layer row's bar is the figures on that row.
"""

from __future__ import annotations

import re
from typing import Any

from tui.service.transfer_progress import ProgressTracker
from tui.widgets.progress import DONE, RUNNING, Transfer, bytes_text, percent, render_transfer

MB = 1_000_000
OVERALL = re.compile(r"(\d+)%\s+([\d.]+) (B|kB|MB|GB)/(≥?)([\d.]+) (B|kB|MB|GB)")
UNITS = {"B": 1, "kB": 1_000, "MB": MB, "GB": 1_000 * MB}


def layer(layer_id: str, status: str, current: int | None = None, total: int | None = None) -> Any:
    detail = {} if current is None else {"current": current, "total": total}
    return {"id": layer_id, "status": status, "progressDetail": detail}


def the_issues_pull() -> list[dict[str, Any]]:
    """Five layers of 180.06 MB: four downloaded (one of them extracting), one mid-way."""
    size = 180_060_000
    stream: list[dict[str, Any]] = [{"status": "Pulling from team/big", "id": "v1"}]
    for n in range(5):
        stream.append(layer(f"l{n}", "Pulling fs layer"))
    for n in range(4):
        stream.append(layer(f"l{n}", "Downloading", size // 2, size))
        stream.append(layer(f"l{n}", "Downloading", size, size))
        stream.append(layer(f"l{n}", "Download complete"))
    stream.append(layer("l0", "Extracting", 1_000, size))
    stream.append(layer("l4", "Downloading", size - 43_100_000, size))
    return stream


def overall_line(transfer: Transfer, width: int = 120) -> str:
    return render_transfer(transfer, width, now=transfer.started + 10).plain.splitlines()[1]


def shown(transfer: Transfer, width: int = 120) -> tuple[int, float, float, bool]:
    """(percent, bytes done, bytes total, total is a lower bound) as the line reads."""
    found = OVERALL.search(overall_line(transfer, width))
    assert found is not None, overall_line(transfer, width)
    done = float(found.group(2)) * UNITS[found.group(3)]
    total = float(found.group(5)) * UNITS[found.group(6)]
    return int(found.group(1)), done, total, bool(found.group(4))


def run(stream: list[dict[str, Any]]) -> list[Transfer]:
    """The transfer after each message of ``stream``."""
    tracker = ProgressTracker()
    transfer = Transfer(1, "pull", "team/big:v1", started=0.0)
    states = []
    for message in stream:
        event = tracker.feed(message)
        if event is not None:
            transfer.apply(event)
            snapshot = Transfer(1, "pull", "team/big:v1", started=0.0, state=RUNNING)
            snapshot.apply(event)
            states.append(snapshot)
    return states


def test_the_issues_case_reads_95_percent_beside_857_of_900_mb() -> None:
    last = run(the_issues_pull())[-1]
    line = overall_line(last)
    assert " 95%  857.2 MB/900.3 MB" in line, line
    assert last.event is not None and last.event.overall.fraction == 857_200_000 / 900_300_000


def test_the_percentage_agrees_with_the_figures_at_every_step() -> None:
    for transfer in run(the_issues_pull()):
        if transfer.event is None or not transfer.event.overall.bytes_total:
            continue
        value, done, total, _ = shown(transfer)
        overall = transfer.event.overall
        assert value == overall.bytes_done * 100 // overall.bytes_total
        # And with the rounded figures a person reads (0.1 of a unit each): within a point.
        assert abs(value - 100 * done / total) < 1 + 100 * 0.05 * UNITS["MB"] / total + 1e-9


def test_a_total_still_growing_says_so() -> None:
    # l2 waits with no size yet: 20 MB is all the daemon has sized, the total can only grow.
    stream = [
        layer("l1", "Pulling fs layer"),
        layer("l2", "Pulling fs layer"),
        layer("l1", "Downloading", 8 * MB, 20 * MB),
    ]
    transfer = run(stream)[-1]
    value, done, total, lower_bound = shown(transfer)
    assert (value, done, total, lower_bound) == (40, 8 * MB, 20 * MB, True)
    assert transfer.event is not None and transfer.event.overall.sizes_unknown == 1
    # l2's size arrives: the total is complete and the percentage is of it.
    transfer = run([*stream, layer("l2", "Downloading", 0, 5 * MB)])[-1]
    assert shown(transfer) == (32, 8 * MB, 25 * MB, False)


def test_layers_already_there_count_by_layers() -> None:
    # Nothing to move (every layer exists): the percentage is of the layers, as shown.
    transfer = run([layer("a", "Already exists"), layer("b", "Pulling fs layer")])[-1]
    line = overall_line(transfer)
    assert " 50%" in line and "1/2 layers" in line and OVERALL.search(line) is None


def test_done_is_100_and_only_done_is() -> None:
    assert percent(0.999) == 99 and percent(1.0) == 100 and percent(0.29) == 29
    stream = [layer("l1", "Downloading", 10 * MB - 1, 10 * MB)]
    assert shown(run(stream)[-1])[0] == 99
    tracker = ProgressTracker()
    for message in [*stream, layer("l1", "Download complete")]:
        tracker.feed(message)
    transfer = Transfer(1, "pull", "team/big:v1", started=0.0)
    transfer.apply(tracker.finish())
    transfer.state = DONE
    assert " 100%  10.0 MB/10.0 MB" in overall_line(transfer)


def test_each_layer_bar_is_the_figures_on_its_row() -> None:
    transfer = run(the_issues_pull())[-1]
    rows = render_transfer(transfer, 120, now=10.0).plain.splitlines()[2:]
    for row in rows:
        cells = row.count("━")
        width = sum(row.count(c) for c in "━╸─")
        figures = re.search(r"([\d.]+) (MB|kB|B)/([\d.]+) (MB|kB|B)$", row)
        if figures is None:
            continue
        done = float(figures.group(1)) * UNITS[figures.group(2)]
        total = float(figures.group(3)) * UNITS[figures.group(4)]
        assert cells == int(done / total * width) or abs(cells - done / total * width) <= 1, row


def test_the_bytes_text() -> None:
    tracker = ProgressTracker()
    tracker.feed(layer("l1", "Pulling fs layer"))
    event = tracker.feed(layer("l2", "Downloading", 1 * MB, 4 * MB))
    assert event is not None
    assert bytes_text(event.overall) == "1.0 MB/≥4.0 MB"
    assert bytes_text(event.overall, final=True) == "1.0 MB/4.0 MB"
