"""The build cache as ``/system/df`` reports it, and the plan of an exact prune (pure).

``BuildCacheUsage`` holds the records (``BuildCache``: the numbers ``docker system df``
prints); ``plan_cache_prune`` picks the unused records idle for longer than asked, children
first, so what the preview lists is exactly what ``BuildKitMixin.prune_cache``
(``tui/service/buildkit.py``) removes record by record with ``/build/prune`` and an ``id``
filter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from tui.service.buildkit_stream import parse_time

# -- the build cache ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CacheRecord:
    """One build cache record (``docker buildx du --verbose``)."""

    id: str
    type: str
    description: str
    size: int
    in_use: bool
    shared: bool
    created: datetime
    last_used: datetime | None
    usage_count: int
    parents: tuple[str, ...] = ()

    @property
    def idle_since(self) -> datetime:
        """When it was last used (its creation when it never was)."""
        return self.last_used or self.created


_EPOCH = datetime.fromtimestamp(0, timezone.utc)


def build_cache_size(df: Mapping[str, Any]) -> int | None:
    """The Build Cache SIZE of ``docker system df`` from a ``/system/df`` answer.

    None when the daemon reports no build cache at all (Podman); records shared with image
    layers are left out, as the CLI leaves them out (deleting them frees nothing).
    """
    records = df.get("BuildCache")
    if records is None:
        return None
    return sum(
        int(r.get("Size") or 0) for r in records if isinstance(r, dict) and not r.get("Shared")
    )


def _record(raw: Mapping[str, Any]) -> CacheRecord:
    parents = [str(p) for p in raw.get("Parents") or [] if p]
    if not parents and raw.get("Parent"):
        parents = [str(raw["Parent"])]
    created = parse_time(str(raw.get("CreatedAt") or ""))
    last_used = parse_time(str(raw.get("LastUsedAt") or ""))
    return CacheRecord(
        id=str(raw.get("ID") or ""),
        type=str(raw.get("Type") or ""),
        description=str(raw.get("Description") or ""),
        size=int(raw.get("Size") or 0),
        in_use=bool(raw.get("InUse")),
        shared=bool(raw.get("Shared")),
        created=datetime.fromtimestamp(created, timezone.utc) if created else _EPOCH,
        last_used=datetime.fromtimestamp(last_used, timezone.utc) if last_used else None,
        usage_count=int(raw.get("UsageCount") or 0),
        parents=tuple(parents),
    )


@dataclass(frozen=True)
class BuildCacheUsage:
    """All build cache records, with the sums ``docker system df`` prints.

    ``size`` leaves out records shared with image layers (deleting them frees nothing), as
    ``docker system df`` does; ``reclaimable`` also leaves out records in use.
    """

    records: tuple[CacheRecord, ...] = ()

    @property
    def size(self) -> int:
        """The Build Cache SIZE of ``docker system df``."""
        return sum(r.size for r in self.records if not r.shared)

    @property
    def reclaimable(self) -> int:
        """The Build Cache RECLAIMABLE of ``docker system df``."""
        return sum(r.size for r in self.records if not r.shared and not r.in_use)

    def unused_for(self, age: timedelta, now: datetime) -> int:
        """What records idle for at least ``age`` would free."""
        return sum(
            r.size
            for r in self.records
            if not r.shared and not r.in_use and r.idle_since <= now - age
        )


@dataclass(frozen=True)
class CachePrunePlan:
    """Exactly the records a cache prune removes (children before parents) and what it frees."""

    older_than: timedelta | None
    records: tuple[CacheRecord, ...]
    kept_in_use: int = 0
    kept_for_children: int = 0

    @property
    def freed(self) -> int:
        """Bytes the prune frees (shared records free nothing)."""
        return sum(r.size for r in self.records if not r.shared)


@dataclass(frozen=True)
class CachePruneResult:
    """What ``prune_cache`` removed: IDs, the daemon's reclaimed bytes, what it kept."""

    deleted: tuple[str, ...]
    reclaimed: int
    failed: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()


def _children_first(records: Sequence[CacheRecord]) -> list[CacheRecord]:
    """Records ordered so that each comes before its parents (a parent with children stays)."""
    by_id = {r.id: r for r in records}
    depth: dict[str, int] = {}

    def level(record: CacheRecord, seen: frozenset[str] = frozenset()) -> int:
        if record.id in depth:
            return depth[record.id]
        parents = [by_id[p] for p in record.parents if p in by_id and p not in seen]
        value = 1 + max((level(p, seen | {record.id}) for p in parents), default=-1)
        depth[record.id] = value
        return value

    return sorted(records, key=lambda r: (-level(r), r.id))


def plan_cache_prune(
    usage: BuildCacheUsage, older_than: timedelta | None, now: datetime
) -> CachePrunePlan:
    """Records not in use and idle for ``older_than`` (all unused ones when None).

    A record whose child stays (in use, or too recent) stays too: the daemon would refuse it.
    """
    cutoff = now - older_than if older_than is not None else None
    picked = {
        r.id: r
        for r in usage.records
        if not r.in_use and (cutoff is None or r.idle_since <= cutoff)
    }
    in_use = sum(1 for r in usage.records if r.in_use)
    kept_for_children: set[str] = set()
    changed = True
    while changed:
        changed = False
        for record in usage.records:
            if record.id in picked:
                continue
            for parent in record.parents:
                if parent in picked:
                    del picked[parent]
                    kept_for_children.add(parent)
                    changed = True
    return CachePrunePlan(
        older_than,
        tuple(_children_first(list(picked.values()))),
        kept_in_use=in_use,
        kept_for_children=len(kept_for_children),
    )
