"""How a bulk removal ended, item by item: ``Outcome``, the ``ResultLog``, and the one loop.

One job, pure (no daemon, no Textual): the delete dialog, the cleanup wizard, retention and the
fleet all remove a list of items one by one with ``remove_each`` into a ``ResultLog`` of
``Outcome``\\s (deleted, untagged, removed, failed and why, skipped, not attempted), which the
results log (``L``) shows again later. ``tui.service.cleanup_plan`` re-exports these names.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal, TypeVar

from tui.service.errors import Holder

Status = Literal["deleted", "untagged", "removed", "failed", "skipped", "not attempted"]


@dataclass(frozen=True)
class Outcome:
    """How one item of a bulk removal ended: deleted, untagged, removed, or failed and why."""

    subject: str  # a reference, an image's short ID, or a container name
    status: Status
    detail: str = ""
    image_id: str = ""
    holders: tuple[Holder, ...] = ()
    children: bool = False
    freed: int | None = None
    #: The daemon uses the containerd image store (force only untags an image a container uses).
    containerd: bool = False
    #: The daemon is Podman (force removes the containers that use the image along with it).
    podman: bool = False
    #: The daemon could not be reached: a bulk removal stops here (the rest is not attempted).
    unreachable: bool = False

    @property
    def ok(self) -> bool:
        """True unless the item failed (or was never tried after the daemon went away)."""
        return self.status not in ("failed", "not attempted")

    @property
    def conflict(self) -> bool:
        """True when the failure is a conflict the conflict dialog can explain."""
        return self.status == "failed" and (bool(self.holders) or self.children)

    def line(self) -> str:
        """One line for the results log."""
        mark = {"deleted": "✓", "untagged": "✓", "removed": "✓", "failed": "✗", "skipped": "·"}
        text = f"{mark.get(self.status, '·')} {self.status:<8} {self.subject}"
        return f"{text} — {self.detail}" if self.detail else text


@dataclass
class ResultLog:
    """What a bulk operation did, kept so the user can reopen it after the dialog closed."""

    title: str
    outcomes: list[Outcome] = field(default_factory=list)
    when: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    freed: int | None = None
    stopped_early: bool = False
    freed_estimate: str = ""  # why ``freed`` is an estimate ("" when exact)

    def freed_words(self, size: Callable[[int | None], str]) -> str:
        """``12.0 MB`` or ``about 12.0 MB`` (``size`` formats bytes)."""
        return f"{'about ' if self.freed_estimate else ''}{size(self.freed)}"

    def counts(self) -> dict[str, int]:
        """How many items ended in each status."""
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        return counts

    def summary(self) -> str:
        """One sentence: '2 deleted, 1 untagged, 1 failed'."""
        counts = self.counts()
        order = ("deleted", "removed", "untagged", "failed", "skipped", "not attempted")
        parts = [f"{counts[s]} {s}" for s in order if counts.get(s)]
        text = ", ".join(parts) or "nothing done"
        if self.stopped_early:
            text += " (stopped early)"
        return text


NOT_ATTEMPTED = "not attempted: the daemon stopped answering"


ItemT = TypeVar("ItemT")


def remove_each(
    log: ResultLog,
    items: Sequence[ItemT],
    remove: Callable[[ItemT], Outcome],
    subject: Callable[[ItemT], tuple[str, str]],
    stop: threading.Event,
    progress: Callable[[int, int, str], object] | None = None,
    stopped: str = "stopped before this item",
) -> None:
    """Remove ``items`` one after the other into ``log`` (the delete and cleanup loops).

    ``subject`` gives an item's (name, image ID) for the outcomes of items never tried. The
    loop stops before the next item when ``stop`` is set (those are "skipped"), and after an
    item the daemon could not be reached for: trying the rest against a dead daemon only
    piles up identical failures, so they are marked "not attempted".
    """
    total = len(items)
    for index, item in enumerate(items):
        if stop.is_set():
            log.stopped_early = True
            log.outcomes.extend(
                Outcome(name, "skipped", stopped, image_id)
                for name, image_id in map(subject, items[index:])
            )
            return
        if progress is not None:
            progress(index, total, subject(item)[0])
        outcome = remove(item)
        log.outcomes.append(outcome)
        if outcome.unreachable:
            mark_not_attempted(log, [subject(i) for i in items[index + 1 :]])
            return


def mark_not_attempted(
    log: ResultLog, rest: Iterable[tuple[str, str]], reason: str = NOT_ATTEMPTED
) -> None:
    """Record the (name, image ID) items a stopped removal never tried."""
    log.stopped_early = True
    log.outcomes.extend(Outcome(name, "not attempted", reason, image_id) for name, image_id in rest)
