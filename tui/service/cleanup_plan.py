"""Cleanup planning, pure: what a delete frees, delete and prune plans.

No daemon here (the mixin in tui/service/cleanup.py asks the daemon and runs the plans), so
the arithmetic is tested on its own; how a removal ended (outcomes, the result log, the removal
loop) is tui/service/outcomes.py. What a delete frees is computed from layers, not from
`docker system df`: df gives each image's SharedSize (bytes it shares with *any* other image),
so summing unique sizes undercounts when the deleted images share layers only among themselves.
Here each image's layers are identified by chain ID (layer identity depends on every layer below
it), sized from the image history, and a set of images frees exactly the layers no kept image
holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from tui.service.models import Image, ImageRow, image_rows
from tui.service.outcomes import (
    NOT_ATTEMPTED,
    ItemT,
    Outcome,
    ResultLog,
    Status,
    mark_not_attempted,
    remove_each,
)
from tui.service.sizes import CONTAINERD_WHY, layer_costs

# The outcomes moved to tui/service/outcomes.py; their names stay importable from here.
__all__ = [
    "NOT_ATTEMPTED",
    "ItemT",
    "Outcome",
    "ResultLog",
    "Status",
    "mark_not_attempted",
    "remove_each",
]

Action = Literal["delete", "untag"]
# How many of the tags that keep an image an untag item names; the rest are counted.
KEEPS_SHOWN = 3
PruneMode = Literal["dangling", "unused"]


# -- layers and freed space -------------------------------------------------------------------


@dataclass(frozen=True)
class ImageLayers:
    """An image's layers by chain ID (base first) and, when known, each layer's size."""

    image_id: str
    chain: tuple[str, ...]
    sizes: tuple[int, ...] | None = None
    # The containerd store's compressed content total (`image inspect` Size); None elsewhere.
    content: int | None = None
    # The platform `image inspect` resolved (os/arch[/variant]); "" when not read.
    platform: str = ""


@dataclass(frozen=True)
class Freed:
    """Bytes a removal gives back; ``exact`` is False when some sizes were estimated."""

    bytes: int
    exact: bool
    why: str = ""  # why it is an estimate, in words ("" when exact or unknown)


def _sha256_hex(data: bytes) -> str:
    """SHA-256 with CPython's own implementation when there is one: hashlib would load
    libcrypto (about 4 MB resident) onto the list's path for this alone."""
    try:
        from _sha256 import sha256  # CPython 3.11
    except ImportError:
        try:
            from _sha2 import sha256  # CPython 3.12+
        except ImportError:
            from hashlib import sha256
    return str(sha256(data).hexdigest())


def chain_ids(diff_ids: Sequence[str]) -> tuple[str, ...]:
    """Chain IDs of a layer stack (the image spec's ChainID: the first layer's is its DiffID)."""
    chain: list[str] = []
    for diff in diff_ids:
        if not chain:
            chain.append(diff)
        else:
            digest = _sha256_hex(f"{chain[-1]} {diff}".encode())
            chain.append(f"sha256:{digest}")
    return tuple(chain)


def _creates_layer(entry: dict[str, Any]) -> bool:
    # The classic builder writes "#(nop)" for metadata-only steps (LABEL, ENV, CMD), except
    # ADD and COPY, which do make a layer. RUN steps make a layer even when it is empty (a bare
    # `rm` is a whiteout-only layer of 0 bytes in the history).
    created_by = str(entry.get("CreatedBy") or "")
    if int(entry.get("Size") or 0) > 0:
        return True
    if "#(nop)" in created_by:
        return " ADD " in created_by or " COPY " in created_by
    return True


def sizes_from_history(
    history: Sequence[dict[str, Any]], layer_count: int
) -> tuple[int, ...] | None:
    """Each layer's size, matched from `docker history` entries (newest first), or None.

    History entries are per build step; only some of them made a layer. When the entries that
    made a layer cannot be told apart with certainty the answer is None (the caller estimates).
    """
    entries = list(reversed(list(history)))
    nonzero = [e for e in entries if int(e.get("Size") or 0) > 0]
    if len(nonzero) == layer_count:
        return tuple(int(e["Size"]) for e in nonzero)
    layered = [e for e in entries if _creates_layer(e)]
    if len(layered) == layer_count:
        return tuple(int(e.get("Size") or 0) for e in layered)
    if not nonzero:
        return (0,) * layer_count
    return None


def freed_space(
    removed: Iterable[str], images: Sequence[Image], layers: dict[str, ImageLayers]
) -> Freed:
    """What removing the images ``removed`` (IDs) frees, given every listed image.

    Layers are counted once however many removed images hold them, and not at all when an image
    that stays holds them. Images whose layers are unknown fall back to their df unique size.
    """
    gone = set(removed)
    by_id = {i.id: i for i in images}
    exact = True
    why = ""
    # Per layer: its size, or on the containerd store its snapshot plus its compressed blob
    # (worked out from image totals, so an estimate: see sizes.layer_costs).
    costs = layer_costs(layers.values())
    if any(known.content is not None for known in layers.values()):
        exact, why = False, CONTAINERD_WHY
    held: set[str] = set()
    for image in images:
        if image.id in gone:
            continue
        known = layers.get(image.id)
        if known is not None:
            held.update(known.chain)
        elif image.shared_size != 0:
            # A kept image that shares something we cannot see.
            exact = False
    total = 0
    counted: set[str] = set()
    for image_id in gone:
        known = layers.get(image_id)
        listed = by_id.get(image_id)
        if known is None or known.sizes is None:
            exact = False
            if listed is not None and listed.unique_size is not None:
                total += listed.unique_size
            continue
        for chain, size in zip(known.chain, known.sizes, strict=True):
            if chain not in held and chain not in counted:
                counted.add(chain)
                total += costs.get(chain, size)
    return Freed(total, exact, why if not exact else "")


def approximate_freed(removed: Iterable[str], images: Sequence[Image]) -> Freed:
    """The df-only estimate (sum of unique sizes), used until layer data has arrived."""
    gone = set(removed)
    total = sum(i.unique_size or 0 for i in images if i.id in gone)
    return Freed(total, False)


# -- delete plans -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeleteItem:
    """One reference a delete will hand the daemon, and what it will do to the image."""

    reference: str
    image: Image
    action: Action
    # The first few tags that keep the image alive after an untag (KEEPS_SHOWN at most) and how
    # many more there are: an untag of one of 1,000 tags does not carry the other 999 names,
    # so a plan over 50,000 rows stays linear (a full tuple per untag was 25 million entries).
    keeps: tuple[str, ...] = ()
    more: int = 0

    @property
    def in_use(self) -> bool:
        """True when containers use the image (the delete will meet a conflict)."""
        return bool(self.image.containers)

    @property
    def keeps_words(self) -> str:
        """The tags that keep the image, in words: ``a, b, c and 997 more`` ("" for none)."""
        words = ", ".join(self.keeps)
        return f"{words} and {self.more} more" if self.more else words


@dataclass(frozen=True)
class DeletePlan:
    """The items of a delete in execution order and the IDs of images that will be gone."""

    items: tuple[DeleteItem, ...]
    removed_ids: tuple[str, ...]

    @property
    def deletes(self) -> int:
        """How many images get deleted."""
        return sum(1 for i in self.items if i.action == "delete")

    @property
    def untags(self) -> int:
        """How many references are only untagged."""
        return sum(1 for i in self.items if i.action == "untag")


def row_reference(row: ImageRow) -> str:
    """What to hand the daemon for a row: its reference, or the short ID for an untagged one.

    The daemon lists an untagged image's digest as ``<none>@<none>``, which it cannot remove.
    """
    reference = row.reference
    return row.image.short_id if "<none>" in reference else reference


def plan_delete(rows: Sequence[ImageRow]) -> DeletePlan:
    """Turn the chosen rows into daemon calls: untag each reference, the image's last deletes.

    Children are deleted before their parents so a parent is not refused for having children.
    """
    per_image: dict[str, list[ImageRow]] = {}
    # The references already taken per image: a set, so 10,000 rows of one image (the disk
    # map sums whole repositories) cost 10,000 steps, not 10,000 squared.
    taken: dict[str, set[str]] = {}
    images: dict[str, Image] = {}
    for row in rows:
        reference = row_reference(row)
        seen = taken.setdefault(row.image.id, set())
        if reference not in seen:
            seen.add(reference)
            per_image.setdefault(row.image.id, []).append(row)
        images[row.image.id] = row.image
    order = _children_first(list(images.values()))
    items: list[DeleteItem] = []
    removed: list[str] = []
    for image in order:
        chosen = per_image[image.id]
        all_rows = {row_reference(r) for r in image_rows(image)}
        chosen_refs = [row_reference(r) for r in chosen]
        everything = all_rows <= set(chosen_refs)
        chosen_set = set(chosen_refs)
        remaining = sorted(r for r in all_rows if r not in chosen_set)
        shown_remaining = tuple(remaining[:KEEPS_SHOWN])
        count = len(chosen_refs)
        for index, ref in enumerate(chosen_refs):
            last = everything and index == count - 1
            if last:
                items.append(DeleteItem(ref, image, "delete"))
                removed.append(image.id)
            elif not everything:
                more = len(remaining) - len(shown_remaining)
                items.append(DeleteItem(ref, image, "untag", shown_remaining, more))
            else:
                # The references chosen after this one keep the image until the last goes.
                keeps = tuple(chosen_refs[index + 1 : index + 1 + KEEPS_SHOWN])
                more = count - 1 - index - len(keeps)
                items.append(DeleteItem(ref, image, "untag", keeps, more))
    return DeletePlan(tuple(items), tuple(removed))


def removed_ids(rows: Iterable[ImageRow]) -> set[str]:
    """The IDs of the images deleting ``rows`` removes: those whose every reference is chosen.

    What ``plan_delete(rows).removed_ids`` holds, without building the items: the summary's
    reclaimable figure asks this of every unused row on each load.
    """
    chosen: dict[str, set[str]] = {}
    images: dict[str, Image] = {}
    for row in rows:
        chosen.setdefault(row.image.id, set()).add(row_reference(row))
        images[row.image.id] = row.image
    return {
        image_id
        for image_id, refs in chosen.items()
        if all(row_reference(r) in refs for r in image_rows(images[image_id]))
    }


def _children_first(images: list[Image]) -> list[Image]:
    ids = {i.id for i in images}
    depth: dict[str, int] = {}
    by_id = {i.id: i for i in images}

    def level(image_id: str, seen: frozenset[str] = frozenset()) -> int:
        # How many of the chosen images sit above this one in the parent chain.
        if image_id in depth:
            return depth[image_id]
        parent = by_id[image_id].parent_id
        value = 0
        if parent in ids and parent not in seen:
            value = level(parent, seen | {image_id}) + 1
        depth[image_id] = value
        return value

    return sorted(images, key=lambda i: -level(i.id))


# -- prune plans ------------------------------------------------------------------------------

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_AGE = timedelta(days=365 * 100)
"""The oldest age the wizard takes ("older than")."""


def _cut(text: str, width: int = 24) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def parse_age(text: str) -> timedelta | None:
    """``"24h"``, ``"7d"``, ``"2w"``, ``"90m"`` as a timedelta; empty means no limit.

    Raises ValueError with a sentence a person can act on.
    """
    if not text.strip():
        return None
    match = _AGE.match(text)
    if not match:
        raise ValueError(
            f"{text.strip()!r} is not an age: write a number and a unit, e.g. 12h, 7d or 2w."
        )
    seconds = float(match.group(1)) * _AGE_UNITS[match.group(2).lower()]
    # Beyond this, timedelta overflows (99999999999999w) or "now minus the age" falls before
    # year 1 (2000000d); no image is that old anyway (the Unix epoch is 1970).
    if seconds > MAX_AGE.total_seconds():
        raise ValueError(
            f"{_cut(text.strip())!r} is more than {MAX_AGE.days // 365} years: no image is that"
            " old;"
            " write a smaller age, e.g. 52w."
        )
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class PruneOptions:
    """What the cleanup wizard should consider.

    ``mode`` is ``dangling`` (the daemon's dangling filter) or ``unused`` (no container, running
    or stopped, uses it); ``filter_text`` keeps images whose every row the list filter shows;
    ``older_than`` keeps images created before now minus it; ``label`` (``key`` or
    ``key=value``) keeps images with it when ``with_label`` is True, without it when False.
    """

    mode: PruneMode = "dangling"
    filter_text: str = ""
    older_than: timedelta | None = None
    label: str = ""
    with_label: bool = True

    def describe(self) -> str:
        """The options in words, for the preview's title and the results log."""
        parts = ["dangling images" if self.mode == "dangling" else "images no container uses"]
        if self.filter_text:
            parts.append(f"matching {self.filter_text!r}")
        if self.older_than is not None:
            parts.append(f"older than {_age_words(self.older_than)}")
        if self.label:
            parts.append(f"{'with' if self.with_label else 'without'} label {self.label}")
        return ", ".join(parts)


def _age_words(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class PruneCandidate:
    """One image the plan removes."""

    image: Image

    @property
    def label(self) -> str:
        """Its tags, or ``<none> <short id>`` for an untagged image."""
        if self.image.tags:
            return ", ".join(self.image.tags)
        return f"<none> {self.image.short_id}"


@dataclass(frozen=True)
class PrunePlan:
    """Exactly what the wizard will remove, and what that frees."""

    options: PruneOptions
    candidates: tuple[PruneCandidate, ...]
    freed: Freed
    kept_for_children: tuple[str, ...] = ()  # matched, but other kept images are built on them
    in_use: int = 0  # matched the filters but a container uses them (only in dangling mode)
    # What the sum was computed from, to recompute it for a partial outcome.
    images: tuple[Image, ...] = field(default=(), compare=False, repr=False)
    layers: dict[str, ImageLayers] = field(default_factory=dict, compare=False, repr=False)
    note: str = ""  # what this engine's prune does differently, in words

    def freed_by(self, removed: Iterable[str]) -> Freed:
        """What a subset of the plan frees (when some removals failed)."""
        return freed_space(removed, self.images, self.layers)

    @property
    def image_ids(self) -> tuple[str, ...]:
        """IDs in removal order."""
        return tuple(c.image.id for c in self.candidates)


def row_matches(row: ImageRow, needle: str) -> bool:
    """The list filter's rule (repository:tag or ID contains the text, case-insensitive)."""
    text = f"{row.repository}:{row.tag} {row.image.id.removeprefix('sha256:')}".lower()
    return needle.strip().lower() in text


def _has_label(image: Image, label: str) -> bool:
    key, eq, value = label.partition("=")
    labels = dict(image.labels)
    if key.strip() not in labels:
        return False
    return not eq or labels[key.strip()] == value.strip()


def select_candidates(
    options: PruneOptions,
    images: Sequence[Image],
    used_ids: set[str],
    now: datetime,
) -> list[Image]:
    """The listed images the options pick (before sparing images others are built on)."""
    picked: list[Image] = []
    for image in images:
        if options.mode == "dangling" and not image.dangling:
            continue
        if image.id in used_ids:
            continue
        if options.filter_text and not all(
            row_matches(r, options.filter_text) for r in image_rows(image)
        ):
            continue
        if options.older_than is not None and image.created > now - options.older_than:
            continue
        if options.label and _has_label(image, options.label) != options.with_label:
            continue
        picked.append(image)
    return picked
