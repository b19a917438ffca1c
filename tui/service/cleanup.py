"""Cleanup: what a delete really frees, bulk removal with per-item outcomes, and prune plans.

What a delete frees is computed from layers, not from `docker system df`: df gives each image's
SharedSize (bytes it shares with *any* other image), so summing unique sizes undercounts when the
deleted images share layers only among themselves (two builds on a base nobody else uses). Here
each image's layers are identified by chain ID (layer identity depends on every layer below it),
sized from the image history, and a set of images frees exactly the layers no kept image holds.

When the history cannot be matched to the layers (some images built by BuildKit, or imported
oddly) the estimate falls back to the df unique size for that image and says it is inexact.

The prune plan is computed here and then executed item by item on the planned set, so what is
removed is what the preview listed, never a blind global `docker image prune`.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, TypeVar

from tui.service.core import ServiceBase
from tui.service.errors import Conflict, DaemonUnreachable, Holder, ImagedeckError, NotFound
from tui.service.models import Image, ImageRow, image_rows
from tui.service.sizes import CONTAINERD_WHY, ImageStore, layer_costs, store_from_info

Action = Literal["delete", "untag"]
Status = Literal["deleted", "untagged", "removed", "failed", "skipped", "not attempted"]
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


@dataclass(frozen=True)
class Freed:
    """Bytes a removal gives back; ``exact`` is False when some sizes were estimated."""

    bytes: int
    exact: bool
    why: str = ""  # why it is an estimate, in words ("" when exact or unknown)


def chain_ids(diff_ids: Sequence[str]) -> tuple[str, ...]:
    """Chain IDs of a layer stack (the image spec's ChainID: the first layer's is its DiffID)."""
    chain: list[str] = []
    for diff in diff_ids:
        if not chain:
            chain.append(diff)
        else:
            digest = hashlib.sha256(f"{chain[-1]} {diff}".encode()).hexdigest()
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
    keeps: tuple[str, ...] = ()  # the tags that keep the image alive after an untag

    @property
    def in_use(self) -> bool:
        """True when containers use the image (the delete will meet a conflict)."""
        return bool(self.image.containers)


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
        chosen_tuple = tuple(chosen_refs)  # sliced per untag: one copy, not two
        remaining = tuple(r for r in sorted(all_rows) if r not in chosen_set)
        for index, ref in enumerate(chosen_refs):
            last = everything and index == len(chosen_refs) - 1
            if last:
                items.append(DeleteItem(ref, image, "delete"))
                removed.append(image.id)
            else:
                keeps = remaining if not everything else chosen_tuple[index + 1 :]
                items.append(DeleteItem(ref, image, "untag", keeps))
    return DeletePlan(tuple(items), tuple(removed))


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


# -- outcomes ---------------------------------------------------------------------------------


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


# -- the mixin --------------------------------------------------------------------------------


def on_podman(service: object) -> bool:
    """True when ``service`` talks to Podman (False for a service or fake that cannot say)."""
    engine = getattr(service, "engine", None)
    if engine is None:
        return False
    try:
        return bool(engine().podman)
    except ImagedeckError:
        return False


class CleanupMixin(ServiceBase):
    """Layer-exact freed space, removal with outcomes, and planned prunes."""

    _layer_cache: dict[str, ImageLayers]
    _layer_lock: threading.Lock
    _image_store: ImageStore | None

    def _cache(self) -> dict[str, ImageLayers]:
        # Image IDs are content hashes: an ID's layers never change, so the cache never expires.
        if not hasattr(self, "_layer_cache"):
            self._layer_cache = {}
            self._layer_lock = threading.Lock()
        return self._layer_cache

    def image_store(self) -> ImageStore:
        """Which image store the daemon uses (asked once per connection)."""
        store: ImageStore | None = getattr(self, "_image_store", None)
        if store is None:
            with self.translate("ask the daemon which image store it uses"):
                info = self.api.info()
            # Podman's df is not Docker's (tui/service/engine.py): the store says whose it is.
            store = store_from_info(info, str(self.api.api_version), self.engine().product)
            self._image_store = store
        return store

    def image_layers(self, image_id: str, *, sizes: bool = True) -> ImageLayers:
        """One image's chain IDs and (with ``sizes``) its layer sizes from the history."""
        cache = self._cache()
        known = cache.get(image_id)
        if known is not None and (known.sizes is not None or not sizes):
            return known
        with self.translate(f"inspect {image_id[7:19]}", image_id):
            data = self.api.inspect_image(image_id)
        diff_ids = list((data.get("RootFS") or {}).get("Layers") or [])
        # On the containerd store inspect's Size is the compressed content (blobs), history's
        # sizes are the unpacked snapshots: a delete frees both.
        content = int(data.get("Size") or 0) if self.image_store().containerd else None
        layer_sizes: tuple[int, ...] | None = None
        if sizes:
            with self.translate(f"read the history of {image_id[7:19]}", image_id):
                history = self.api.history(image_id)
            layer_sizes = sizes_from_history(history, len(diff_ids))
        result = ImageLayers(image_id, chain_ids(diff_ids), layer_sizes, content)
        with self._layer_lock:
            cache[image_id] = result
        return result

    def layers_for(self, images: Sequence[Image], sized: Iterable[str]) -> dict[str, ImageLayers]:
        """Layer data for the images that matter to a freed-space sum.

        ``sized`` are the images to be removed (sizes needed); other images only need their
        chain, and only when they share anything at all (df SharedSize 0 means they do not).
        Images that vanished meanwhile are left out.
        """
        want = set(sized)
        found: dict[str, ImageLayers] = {}
        for image in images:
            if image.id not in want and image.shared_size == 0:
                continue
            try:
                found[image.id] = self.image_layers(image.id, sizes=image.id in want)
            except NotFound:
                continue
        return found

    def remove_reference(self, item: DeleteItem) -> Outcome:
        """Hand one reference to the daemon (never forced) and say how it ended."""
        try:
            report = self.remove_image(item.reference)
        except Conflict as exc:
            holders, detail = self._all_holders(item.reference, item.image.id, exc)
            return Outcome(
                item.reference,
                "failed",
                detail,
                item.image.id,
                holders=holders,
                children=exc.children,
                containerd=self._containerd(),
                podman=on_podman(self),
            )
        except ImagedeckError as exc:
            return Outcome(
                item.reference,
                "failed",
                str(exc),
                item.image.id,
                unreachable=isinstance(exc, DaemonUnreachable),
            )
        deleted = any(kind == "Deleted" for kind, _ in report)
        if deleted and item.image.id and self._containerd() and self._still_there(item.image.id):
            # The containerd store keeps an image other images are built on as a new <none>
            # image (and reports "Deleted"): nothing is freed while those children exist.
            detail = (
                "the containerd image store keeps it as <none>: other images are built on it "
                "(delete them too to free its space)"
            )
            return Outcome(item.reference, "untagged", detail, item.image.id, containerd=True)
        if deleted:
            return Outcome(item.reference, "deleted", "", item.image.id)
        if item.action == "delete":
            detail = "the image stays: other references or child images still hold it"
        else:
            detail = f"the image stays as {', '.join(item.keeps)}" if item.keeps else ""
        return Outcome(item.reference, "untagged", detail, item.image.id)

    def _all_holders(
        self, reference: str, image_id: str, exc: Conflict
    ) -> tuple[tuple[Holder, ...], str]:
        """Every container using the image, not only the one the daemon's message names.

        The conflict's way out removes them all, so it must know them all (one list request).
        """
        if exc.children or not exc.holders or not image_id:
            return exc.holders, str(exc)
        try:
            containers = self.list_containers(sizes=False, image_id=image_id)
        except ImagedeckError:
            return exc.holders, str(exc)
        holders = tuple(Holder(c.id, c.name, c.state, c.running) for c in containers)
        if not holders:
            return exc.holders, str(exc)
        names = ", ".join(f"{h.status} container {h.name} ({h.short_id})" for h in holders)
        return holders, f"{reference} is used by {names}."

    def remove_image_fully(self, image: Image) -> Outcome:
        """Remove every reference of ``image`` and then the image itself, never forced.

        Removing by ID alone would need force when the image is tagged in several repositories,
        and force would also delete an image a container started to use meanwhile.
        """
        subject = ", ".join(image.tags) or f"<none> {image.short_id}"
        deleted = False
        try:
            for ref in image.tags:
                report = self.remove_image(ref)
                deleted = deleted or any(kind == "Deleted" for kind, _ in report)
            if not deleted:
                try:
                    self.remove_image(image.id)
                except NotFound:
                    pass  # the last untag already deleted it (and reported it as untagged)
        except Conflict as exc:
            return Outcome(
                subject, "failed", str(exc), image.id, holders=exc.holders, children=exc.children
            )
        except ImagedeckError as exc:
            return Outcome(
                subject,
                "failed",
                str(exc),
                image.id,
                unreachable=isinstance(exc, DaemonUnreachable),
            )
        return Outcome(subject, "deleted", "", image.id, freed=image.unique_size)

    def remove_with_containers(self, reference: str, holders: Sequence[Holder]) -> list[Outcome]:
        """The conflict's way out: remove the stopped containers that hold an image, then it.

        Stops at the first failure (a container that started meanwhile is refused, and the
        image is then left alone).
        """
        outcomes: list[Outcome] = []
        for holder in holders:
            try:
                self.remove_container(holder.id, name=holder.name)
            except ImagedeckError as exc:
                outcomes.append(Outcome(holder.name, "failed", str(exc)))
                outcomes.append(Outcome(reference, "skipped", "a container could not be removed"))
                return outcomes
            outcomes.append(Outcome(holder.name, "removed", f"container {holder.short_id}"))
        item = DeleteItem(reference, _placeholder(reference), "delete")
        outcomes.append(self.remove_reference(item))
        return outcomes

    def force_remove(self, reference: str) -> Outcome:
        """`docker rmi --force`: only ever called after its own explicit confirmation."""
        try:
            report = self.remove_image(reference, force=True)
        except ImagedeckError as exc:
            return Outcome(reference, "failed", str(exc))
        deleted = any(kind == "Deleted" for kind, _ in report)
        if not deleted and self._containerd():
            return Outcome(
                reference,
                "untagged",
                "forced, but the containerd image store only untags an image a container uses: "
                "it stays as <none> and nothing is freed until that container is removed",
                containerd=True,
            )
        if on_podman(self):
            return Outcome(
                reference,
                "deleted" if deleted else "untagged",
                "forced: Podman removed the containers that used it as well",
                podman=True,
            )
        return Outcome(reference, "deleted" if deleted else "untagged", "forced")

    def _still_there(self, image_id: str) -> bool:
        try:
            with self.translate(f"inspect {image_id[7:19]}", image_id):
                self.api.inspect_image(image_id)
        except NotFound:
            return False
        except ImagedeckError:
            return False  # the delete went through; what stays is for the next reload to show
        return True

    def _containerd(self) -> bool:
        try:
            return self.image_store().containerd
        except ImagedeckError:
            return False

    def child_images(self, image_id: str) -> list[str]:
        """Tagged (or short IDs of) images built on ``image_id``, through hidden intermediates."""
        with self.translate("list images"):
            raw = self.api.images(all=True)
        children: dict[str, list[dict[str, Any]]] = {}
        for item in raw:
            children.setdefault(str(item.get("ParentId") or ""), []).append(item)
        found: list[str] = []
        stack = list(children.get(image_id, []))
        while stack:
            item = stack.pop()
            tags = [t for t in item.get("RepoTags") or [] if t != "<none>:<none>"]
            if tags:
                found.extend(tags)
            elif not children.get(item["Id"]):
                found.append(str(item["Id"]).removeprefix("sha256:")[:12])
            stack.extend(children.get(item["Id"], []))
        return sorted(found)

    def plan_prune(self, options: PruneOptions, now: datetime | None = None) -> PrunePlan:
        """Exactly what the cleanup wizard would remove with ``options``, and what it frees."""
        now = now or datetime.now(timezone.utc)
        images = self.list_images()
        usage = self.disk_usage()
        from tui.service.images import with_usage

        images = with_usage(images, usage)
        with self.translate("list containers"):
            containers = self.api.containers(all=True)
            everything = self.api.images(all=True)
        used = {str(c.get("ImageID", "")) for c in containers}
        if self.image_store().containerd:
            return self._plan_prune_containerd(options, now, images, everything, used)
        parents = {str(i["Id"]): str(i.get("ParentId") or "") for i in everything}
        picked = select_candidates(options, images, used, now)
        in_use = 0
        if options.mode == "dangling":
            in_use = sum(1 for i in images if i.dangling and i.id in used)
        # An image another kept image (or a container) is built on cannot go: its removal would
        # be refused for "dependent child images". Walk up from everything that stays.
        picked_ids = {i.id for i in picked}
        spare: set[str] = set()
        for start in [i.id for i in images if i.id not in picked_ids] + sorted(used):
            parent = parents.get(start, "")
            seen: set[str] = set()
            while parent and parent not in seen:
                seen.add(parent)
                spare.add(parent)
                parent = parents.get(parent, "")
        kept_for_children = tuple(", ".join(i.tags) or i.short_id for i in picked if i.id in spare)
        picked = [i for i in picked if i.id not in spare]
        ordered = _children_first(picked)
        layers = self.layers_for(images, [i.id for i in ordered])
        freed = freed_space([i.id for i in ordered], images, layers)
        return PrunePlan(
            options,
            tuple(PruneCandidate(i) for i in ordered),
            freed,
            kept_for_children,
            in_use,
            images=tuple(images),
            layers=layers,
        )

    def _plan_prune_containerd(
        self,
        options: PruneOptions,
        now: datetime,
        images: list[Image],
        everything: list[dict[str, Any]],
        used: set[str],
    ) -> PrunePlan:
        """The containerd store's prune, as `docker image prune` does it there (moby 26.1).

        Every dangling image counts, the classic builder's intermediate images too (the list hides
        them; the CLI's prune removes them); no image is spared for having children (the store
        has no "dependent child images" conflict: the children keep the layers, so removing such
        a parent frees only its small manifest and config).
        """
        from tui.service.models import image_from_api

        listed = {i.id for i in images}
        with self.translate("list dangling images"):
            dangling = set(self.api.images(all=True, filters={"dangling": True}, quiet=True))
        hidden = [
            image_from_api(item, True)
            for item in everything
            if str(item.get("Id", "")) not in listed and str(item.get("Id", "")) in dangling
        ]
        pool = images + hidden
        picked = select_candidates(options, pool, used, now)
        # A picked image's build intermediates go with it (left alone they would turn into new
        # <none> rows), unless an image that stays, or a container's, is built on them too.
        parents = {str(i["Id"]): str(i.get("ParentId") or "") for i in everything}
        hidden_by_id = {i.id: i for i in hidden}
        picked_ids = {i.id for i in picked}
        protected: set[str] = set()
        for start in [i.id for i in images if i.id not in picked_ids] + sorted(used):
            protected |= _ancestors(start, parents)
        for image in list(picked):
            for ancestor in sorted(_ancestors(image.id, parents)):
                if (
                    ancestor in hidden_by_id
                    and ancestor not in protected
                    and ancestor not in picked_ids
                    and ancestor not in used
                ):
                    picked_ids.add(ancestor)
                    picked.append(hidden_by_id[ancestor])
        in_use = (
            sum(1 for i in pool if i.dangling and i.id in used) if options.mode == "dangling" else 0
        )
        ordered = _children_first(picked)
        layers = self.layers_for(pool, [i.id for i in ordered])
        freed = freed_space([i.id for i in ordered], pool, layers)
        hidden_ids = {i.id for i in hidden}
        intermediates = sum(1 for i in ordered if i.id in hidden_ids)
        note = "containerd image store: images other images are built on go too (their layers stay)"
        if intermediates:
            note = (
                f"containerd image store: includes {intermediates} build intermediate"
                f"{'s' if intermediates != 1 else ''} the list hides (docker image prune removes "
                "them too); images other images are built on go too (their layers stay)"
            )
        return PrunePlan(
            options,
            tuple(PruneCandidate(i) for i in ordered),
            freed,
            (),
            in_use,
            note=note,
            images=tuple(pool),
            layers=layers,
        )


def _ancestors(image_id: str, parents: dict[str, str]) -> set[str]:
    """Every parent of ``image_id`` up the ParentId chain (not the image itself)."""
    found: set[str] = set()
    parent = parents.get(image_id, "")
    while parent and parent not in found:
        found.add(parent)
        parent = parents.get(parent, "")
    return found


def _placeholder(reference: str) -> Image:
    # remove_reference only needs an ID for the outcome; the conflict flow knows the reference.
    return Image(
        id="", repo_tags=(reference,), repo_digests=(), created=datetime.now(timezone.utc), size=0
    )
