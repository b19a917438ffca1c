"""A fleet delete or cleanup as a plan: what each daemon will be handed, grouped by daemon.

One job, pure (no daemon, no Textual): ``plan_fleet_delete`` splits the marked rows by the daemon
that listed them and plans each daemon's part with ``plan_delete``; ``FleetPlan`` holds the
per-daemon plans with their preview lines (``FleetGroup``, ``PlanLine``), and ``FleetOutcome``
says which daemon an outcome was on. ``tui.service.fleet`` carries the plans out and re-exports
these names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tui.service.cleanup_plan import (
    DeleteItem,
    DeletePlan,
    Freed,
    Outcome,
    PrunePlan,
    approximate_freed,
    plan_delete,
)
from tui.service.fleet_members import daemon_of
from tui.service.models import Image, ImageRow


@dataclass(frozen=True)
class FleetOutcome:
    """One delete's outcome, and the daemon it was carried out on."""

    daemon: str
    outcome: Outcome


def group_rows(rows: Iterable[ImageRow]) -> dict[str, list[ImageRow]]:
    """Rows by daemon, daemons in first-seen order."""
    grouped: dict[str, list[ImageRow]] = {}
    for row in rows:
        grouped.setdefault(daemon_of(row.image), []).append(row)
    return grouped


@dataclass(frozen=True)
class PlanLine:
    """One thing a fleet plan will do on one daemon, in words."""

    action: str  # "delete" or "untag"
    subject: str  # a reference, or "<none> <short id>"
    detail: str = ""  # what stays (the tags an untag keeps), what is special


@dataclass(frozen=True)
class FleetGroup:
    """A daemon's part of a fleet plan: its lines, what they free, or why there are none."""

    daemon: str
    lines: tuple[PlanLine, ...]
    freed: Freed | None = None
    problem: str = ""  # why nothing is planned there (the daemon is down, planning failed)
    note: str = ""  # images kept for their children, engine differences


@dataclass(frozen=True)
class FleetPlan:
    """What a fleet delete or cleanup will do, grouped by daemon, and the plans to carry out.

    ``deletes`` (marked rows) or ``prunes`` (the cleanup wizard) hold each daemon's own plan;
    carrying it out (``Fleet.execute``) hands each daemon exactly its part.
    """

    kind: str  # "delete" or "cleanup"
    groups: tuple[FleetGroup, ...]
    deletes: dict[str, DeletePlan] = field(default_factory=dict)
    prunes: dict[str, PrunePlan] = field(default_factory=dict)
    what: str = ""  # the cleanup options in words

    @property
    def count(self) -> int:
        """How many steps (references or images) the plan hands the daemons."""
        return sum(len(g.lines) for g in self.groups)

    def removes(self) -> dict[str, tuple[str, ...]]:
        """The image IDs each daemon will no longer have once the plan has run."""
        if self.kind == "delete":
            return {name: plan.removed_ids for name, plan in self.deletes.items()}
        return {name: tuple(c.image.id for c in p.candidates) for name, p in self.prunes.items()}


def _detail(item: DeleteItem) -> str:
    """What the preview says beside an item: the tags an untag keeps, or that a container
    holds the image (the daemon refuses that delete; it is never forced here)."""
    if item.action == "untag":
        return f"keeps {item.keeps_words}" if item.keeps else ""
    if item.in_use:
        return "a container uses it: the daemon will refuse"
    return ""


def subject_of(image: Image) -> str:
    """How a plan line names an image: its tags, or ``<none> <short id>``."""
    return ", ".join(image.tags) or f"<none> {image.short_id}"


def plan_fleet_delete(
    rows: Sequence[ImageRow], images: Sequence[Image] = (), names: Sequence[str] = ()
) -> FleetPlan:
    """Per daemon, what deleting its marked rows hands that daemon (``plan_delete`` each).

    ``images`` (the fleet's listing) gives each daemon's estimate of the space freed; groups
    follow ``names`` (the fleet's order), then first-seen order.
    """
    grouped = group_rows(rows)
    order = [n for n in names if n in grouped] + [n for n in grouped if n not in names]
    deletes: dict[str, DeletePlan] = {}
    groups: list[FleetGroup] = []
    for daemon in order:
        plan = plan_delete(grouped[daemon])
        deletes[daemon] = plan
        lines = tuple(PlanLine(item.action, item.reference, _detail(item)) for item in plan.items)
        theirs = [i for i in images if daemon_of(i) == daemon]
        freed = approximate_freed(plan.removed_ids, theirs) if theirs else None
        groups.append(FleetGroup(daemon, lines, freed))
    return FleetPlan("delete", tuple(groups), deletes=deletes)
