"""Retention policies: which tags and images go, planned exactly, shared by the UI and the CLI.

A policy combines rules; every rule protects, and what no rule protects goes:

- ``keep_last`` N: in each repository the N newest tags stay (newest by the image's creation,
  ties broken by natural tag order, 10.0 above 2.0);
- ``unused_for``: images used (see :mod:`tui.service.lastused`) more recently than that stay;
- ``keep`` patterns (shell-style, ``demo/*``, ``*:release-*``): repositories (or
  ``repository:tag``) they match are never touched;
- an image a container uses, running or stopped, is never touched, and neither is an image
  another image that stays is built on (its removal would be refused);
- ``below`` a size: of what the other rules leave, whole images go least recently used first,
  only until the images' disk use is below the size;
- ``dangling``: dangling images are candidates too (the other rules apply to them as well).

Tags are the unit: removing an old tag of an image that another repository still names only
untags it (and frees nothing), exactly as marking that row on the list and pressing ``d`` would.
What a plan frees is the service's one computation of "what deleting this set frees"
(:func:`frees`, the same figure as the list's "N marked, frees X" and the delete dialog).

The planner (:func:`plan_retention`) is pure; :func:`gather` asks the service for its inputs and
:func:`run_retention` executes a plan item by item, never forced, never more than it listed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from tui.format import natural_key
from tui.service.cleanup import (
    DeletePlan,
    Freed,
    ImageLayers,
    Outcome,
    ResultLog,
    freed_space,
    plan_delete,
)
from tui.service.lastused import LastUsedRecord, effective_last_use
from tui.service.models import Image, ImageRow, image_rows, with_usage
from tui.service.policy import RetentionPolicy, parse_size, size_words

__all__ = [
    "KeptImage",
    "PlannedRow",
    "RetentionInputs",
    "RetentionPlan",
    "RetentionPolicy",
    "frees",
    "gather",
    "parse_size",
    "plan_retention",
    "run_retention",
]

# -- inputs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionInputs:
    """Everything the planner looks at, gathered once (so the preview and the run agree)."""

    images: tuple[Image, ...]
    used_ids: frozenset[str]
    parents: Mapping[str, str]
    layers: Mapping[str, ImageLayers]
    record: LastUsedRecord | None
    now: datetime


def frees(
    rows: Sequence[ImageRow], images: Sequence[Image], layers: Mapping[str, ImageLayers]
) -> Freed:
    """What deleting ``rows`` frees: the service's one computation (as marking them on the list).

    Only images that lose every tag free space; layers shared among them count once, layers a
    kept image holds not at all.
    """
    return freed_space(plan_delete(list(rows)).removed_ids, images, dict(layers))


def gather(
    service: Any, record: LastUsedRecord | None, now: datetime | None = None
) -> RetentionInputs:
    """Ask the service for images (with usage), containers, parents and every image's layers."""
    images = with_usage(service.list_images(), service.disk_usage())
    used = frozenset(c.image_id for c in service.list_containers(sizes=False))
    parents = _parents(service)
    layers = service.layers_for(images, [i.id for i in images])
    return RetentionInputs(
        tuple(images), used, parents, layers, record, now or datetime.now(timezone.utc)
    )


def _parents(service: Any) -> dict[str, str]:
    """Every image's parent, intermediate build images included (one list request)."""
    api = getattr(service, "api", None)
    if api is None:  # a stand-in service without a daemon client: images carry their parent
        return {i.id: i.parent_id for i in service.list_images() if i.parent_id}
    with service.translate("list images"):
        everything = api.images(all=True)
    return {str(i["Id"]): str(i.get("ParentId") or "") for i in everything if i.get("ParentId")}


# -- the plan -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedRow:
    """One tag (or untagged image) the plan removes, and why."""

    row: ImageRow
    reason: str
    last_used: datetime | None


@dataclass(frozen=True)
class KeptImage:
    """An image a rule would have taken but that stays, and why (shown under the preview)."""

    label: str
    reason: str


@dataclass(frozen=True)
class RetentionPlan:
    """Exactly what runs: the rows, the daemon calls they become, and what that frees."""

    policy: RetentionPolicy
    rows: tuple[PlannedRow, ...]
    delete: DeletePlan
    freed: Freed
    kept: tuple[KeptImage, ...] = ()
    disk_before: int | None = None  # the images' disk use (when ``below`` is set)
    since: datetime | None = None  # when the last-used record began
    images: tuple[Image, ...] = field(default=(), compare=False, repr=False)
    layers: Mapping[str, ImageLayers] = field(default_factory=dict, compare=False, repr=False)

    @property
    def removed_ids(self) -> tuple[str, ...]:
        """Images that will be gone (the rest of the rows are untags)."""
        return self.delete.removed_ids

    @property
    def disk_after(self) -> int | None:
        """The disk use the plan leaves (when ``below`` is set)."""
        if self.disk_before is None:
            return None
        return max(self.disk_before - self.freed.bytes, 0)

    def freed_by(self, removed: Iterable[str]) -> Freed:
        """What a subset of the plan frees (when some removals failed)."""
        return freed_space(list(removed), self.images, dict(self.layers))

    def references(self) -> list[str]:
        """The references handed to the daemon, in order."""
        return [item.reference for item in self.delete.items]


def _label(image: Image) -> str:
    return ", ".join(image.tags) or f"<none> {image.short_id}"


def _ancestors(start: Iterable[str], parents: Mapping[str, str]) -> set[str]:
    found: set[str] = set()
    for image_id in start:
        parent = parents.get(image_id, "")
        while parent and parent not in found:
            found.add(parent)
            parent = parents.get(parent, "")
    return found


def plan_retention(policy: RetentionPolicy, inputs: RetentionInputs) -> RetentionPlan:
    """What ``policy`` removes from ``inputs``: pure, deterministic, exact."""
    images = list(inputs.images)
    layers = dict(inputs.layers)
    record = inputs.record
    since = record.since if record is not None else None
    if policy.empty:
        return RetentionPlan(
            policy, (), plan_delete([]), Freed(0, True), (), None, since, tuple(images), layers
        )
    last_use = {i.id: effective_last_use(record, i.id, i.created) for i in images}
    kept: dict[str, str] = {}

    # Rank the tags of each repository: newest image first, natural tag order (10 above 2).
    ranks: dict[tuple[str, str, str], int] = {}
    if policy.keep_last is not None:
        per_repo: dict[str, list[ImageRow]] = {}
        for image in images:
            for row in image_rows(image):
                if row.tagged:
                    per_repo.setdefault(row.repository, []).append(row)
        for repo_rows in per_repo.values():
            repo_rows.sort(key=lambda r: (r.image.created, natural_key(r.tag)), reverse=True)
            for rank, row in enumerate(repo_rows):
                ranks[(row.image.id, row.repository, row.tag)] = rank

    cutoff = inputs.now - policy.unused_for if policy.unused_for is not None else None
    chosen: dict[str, list[PlannedRow]] = {}
    partial: set[str] = set()  # images with a row that stays (their chosen rows only untag)
    for image in images:
        for row in image_rows(image):
            reason = _row_reason(policy, row, ranks, cutoff, last_use[image.id])
            if reason is None:
                partial.add(image.id)
                continue
            if image.id in inputs.used_ids:
                kept[image.id] = "a container uses it"
                continue
            used = record.get(image.id) if record is not None else None
            chosen.setdefault(image.id, []).append(PlannedRow(row, reason, used))

    # Images that stay hold up their parents (a parent with children cannot be deleted).
    staying = [i.id for i in images if i.id not in chosen or i.id in partial]
    spare = _ancestors([*staying, *inputs.used_ids], inputs.parents)
    for image_id in list(chosen):
        if image_id in spare:
            del chosen[image_id]
            kept[image_id] = "other images are built on it"
            partial.add(image_id)

    disk_before: int | None = None
    if policy.below is not None:
        # Only whole images free space: of those, the least recently used go first, and each
        # parent no earlier than its children (a parent goes only once its children went).
        pool = [i for i in images if i.id in chosen and i.id not in partial]
        keys = {i.id: (last_use[i.id], i.created, natural_key(_label(i))) for i in pool}
        in_pool = set(keys)
        for image in pool:
            parent = inputs.parents.get(image.id, "")
            seen: set[str] = set()
            while parent and parent not in seen:
                seen.add(parent)
                if parent in in_pool and keys[parent] < keys[image.id]:
                    keys[parent] = keys[image.id]
                parent = inputs.parents.get(parent, "")
        pool.sort(key=lambda i: keys[i.id])
        all_rows = [r for i in images for r in image_rows(i)]
        disk_before = frees(all_rows, images, layers).bytes
        take = _shortest_prefix(pool, disk_before - policy.below, images, layers)
        for image in pool[take:]:
            kept.setdefault(image.id, f"the images are below {size_words(policy.below)} without it")
        order = [i.id for i in pool[:take]]
        chosen = {k: [replace_reason(p, "least recently used") for p in chosen[k]] for k in order}
    else:
        order = [i.id for i in images if i.id in chosen]

    # Children before their parents (through intermediate images the list does not show), or
    # the daemon would refuse a parent that still has children. An ancestor lies on the chains
    # of more chosen images than any of its descendants, so that count orders them.
    chains = {image_id: _ancestors([image_id], inputs.parents) for image_id in order}
    below_count = {k: sum(1 for c in chains.values() if k in c) for k in order}
    order.sort(key=below_count.__getitem__)
    planned = tuple(p for image_id in order for p in chosen[image_id])
    delete = plan_delete([p.row for p in planned])
    freed = freed_space(delete.removed_ids, images, layers)
    by_id = {i.id: i for i in images}
    kept_list = tuple(
        KeptImage(_label(by_id[k]), why)
        for k, why in kept.items()
        if k in by_id and k not in chosen
    )
    return RetentionPlan(
        policy, planned, delete, freed, kept_list, disk_before, since, tuple(images), layers
    )


def replace_reason(planned: PlannedRow, extra: str) -> PlannedRow:
    """The row with ``extra`` added to its reason."""
    return PlannedRow(planned.row, f"{planned.reason}; {extra}", planned.last_used)


def _row_reason(
    policy: RetentionPolicy,
    row: ImageRow,
    ranks: Mapping[tuple[str, str, str], int],
    cutoff: datetime | None,
    last_use: datetime,
) -> str | None:
    """Why the rules take this row, or None when one of them keeps it."""
    if policy.protects(row):
        return None
    reasons: list[str] = []
    if row.tagged:
        if not policy.touches_tags:
            return None
        if policy.keep_last is not None:
            rank = ranks.get((row.image.id, row.repository, row.tag), 0)
            if rank < policy.keep_last:
                return None
            reasons.append(f"beyond the newest {policy.keep_last}")
    elif row.image.dangling:
        if not policy.dangling:
            return None
        reasons.append("dangling")
    else:
        return None  # an untagged image known by digest only: not this tool's guess
    if cutoff is not None:
        if last_use > cutoff:
            return None
        reasons.append("unused since " + last_use.strftime("%Y-%m-%d"))
    return "; ".join(reasons) or "no rule keeps it"


def _shortest_prefix(
    pool: Sequence[Image],
    needed: int,
    images: Sequence[Image],
    layers: Mapping[str, ImageLayers],
) -> int:
    """How many of ``pool`` (in order) must go to free ``needed`` bytes (all when never enough).

    What a prefix frees only grows with its length, so a binary search finds the shortest.
    """
    if needed <= 0 or not pool:
        return 0

    def freed(n: int) -> int:
        return freed_space([i.id for i in pool[:n]], images, dict(layers)).bytes

    if freed(len(pool)) < needed:
        return len(pool)
    low, high = 1, len(pool)
    while low < high:
        mid = (low + high) // 2
        if freed(mid) >= needed:
            high = mid
        else:
            low = mid + 1
    return low


# -- running a plan -------------------------------------------------------------------------------


def run_retention(
    service: Any,
    plan: RetentionPlan,
    *,
    stop: threading.Event | None = None,
    progress: Callable[[int, int, str], object] | None = None,
) -> ResultLog:
    """Hand the plan's references to the daemon one by one (never forced), children first.

    A failure is recorded and the next item goes on; ``stop`` ends the run before the next item.
    """
    log = ResultLog(f"Cleanup ({plan.policy.describe()})")
    items = plan.delete.items
    for index, item in enumerate(items):
        if stop is not None and stop.is_set():
            log.stopped_early = True
            log.outcomes.extend(
                Outcome(i.reference, "skipped", "stopped before this item", i.image.id)
                for i in items[index:]
            )
            break
        if progress is not None:
            progress(index, len(items), item.reference)
        log.outcomes.append(service.remove_reference(item))
    deleted = [o.image_id for o in log.outcomes if o.status == "deleted"]
    log.freed = plan.freed_by(deleted).bytes
    return log
