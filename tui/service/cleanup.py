"""Cleanup: what a delete really frees, and bulk removal with per-item outcomes.

What a delete frees is computed from layers, not from `docker system df`: df gives each image's
SharedSize (bytes it shares with *any* other image), so summing unique sizes undercounts when the
deleted images share layers only among themselves (two builds on a base nobody else uses). Here
each image's layers are identified by chain ID (layer identity depends on every layer below it),
sized from the image history, and a set of images frees exactly the layers no kept image holds.

When the history cannot be matched to the layers (some images built by BuildKit, or imported
oddly) the estimate falls back to the df unique size for that image and says it is inexact.

The prune plan is computed in prune.py (``PruneMixin``) and then removed item by item (here,
``remove_reference``) on the planned set, so what is removed is what the preview listed, never
a blind global `docker image prune`.

The pure planning (freed space, plans) lives in cleanup_plan.py, the outcomes and the result
log in outcomes.py; this module is the mixin that asks the daemon, and re-exports the planning
names it always offered.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from tui.service.cleanup_plan import (
    MAX_AGE,
    NOT_ATTEMPTED,
    Action,
    DeleteItem,
    DeletePlan,
    Freed,
    ImageLayers,
    ItemT,
    Outcome,
    PruneCandidate,
    PruneMode,
    PruneOptions,
    PrunePlan,
    ResultLog,
    Status,
    approximate_freed,
    chain_ids,
    freed_space,
    mark_not_attempted,
    parse_age,
    plan_delete,
    remove_each,
    removed_ids,
    row_matches,
    row_reference,
    select_candidates,
    sizes_from_history,
)
from tui.service.core import ServiceBase
from tui.service.engine import full_image_id
from tui.service.errors import Conflict, DaemonUnreachable, Holder, ImagedeckError, NotFound
from tui.service.models import Image
from tui.service.sizes import ImageStore, layer_costs, platform_of, store_from_info

# The planning names this module always offered (now in cleanup_plan.py and outcomes.py)
# stay importable from here.
__all__ = [
    "MAX_AGE",
    "NOT_ATTEMPTED",
    "Action",
    "BuildParents",
    "CleanupMixin",
    "DeleteItem",
    "DeletePlan",
    "Freed",
    "ImageLayers",
    "ItemT",
    "Outcome",
    "PruneCandidate",
    "PruneMode",
    "PruneOptions",
    "PrunePlan",
    "ResultLog",
    "Status",
    "approximate_freed",
    "chain_ids",
    "freed_space",
    "mark_not_attempted",
    "on_podman",
    "parents_that_go",
    "parse_age",
    "plan_delete",
    "remove_each",
    "removed_ids",
    "row_matches",
    "row_reference",
    "select_candidates",
    "sizes_from_history",
]

# -- build parents that go with a delete ---------------------------------------------------------


@dataclass(frozen=True)
class BuildParents:
    """Untagged build parents (the classic builder's intermediate images) a delete also removes.

    ``bytes`` is the part of the delete's freed space that is theirs: the layers of their
    chains no image that stays holds (already counted in the delete's total, not on top of it).
    """

    ids: tuple[str, ...]
    bytes: int


def parents_that_go(
    removed: Iterable[str], everything: Sequence[Mapping[str, Any]], used: Iterable[str]
) -> list[str]:
    """IDs of the ancestors a graph-driver daemon deletes along with ``removed``.

    As the daemon does it (moby's imageDeleteHelper): after an image goes, its parent goes too
    when the parent has no tag or digest, no other child and no container, and so on upwards.
    ``everything`` is `/images/json?all=1`.
    """
    parents = {str(i["Id"]): str(i.get("ParentId") or "") for i in everything}
    named = {
        str(i["Id"])
        for i in everything
        if any(t != "<none>:<none>" for t in i.get("RepoTags") or [])
        or any(d != "<none>@<none>" for d in i.get("RepoDigests") or [])
    }
    children: dict[str, set[str]] = {}
    for child, parent in parents.items():
        if parent:
            children.setdefault(parent, set()).add(child)
    holding = set(used)
    gone = set(removed)
    going: list[str] = []
    for image_id in removed:
        parent = parents.get(image_id, "")
        while parent and parent not in gone and parent in parents:
            if parent in named or parent in holding or children.get(parent, set()) - gone:
                break
            gone.add(parent)
            going.append(parent)
            parent = parents.get(parent, "")
    return going


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
        result = ImageLayers(image_id, chain_ids(diff_ids), layer_sizes, content, platform_of(data))
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

    def build_parents(
        self,
        removed: Sequence[str],
        images: Sequence[Image],
        layers: dict[str, ImageLayers],
    ) -> BuildParents | None:
        """The untagged build parents a delete of ``removed`` takes along, and their bytes.

        Only on a graph-driver (overlay2) store: the containerd store keeps them (a delete
        there can leave the parent as a new dangling row), and Podman's parents are not
        Docker's. ``images`` are the listed images, ``layers`` what the freed-space sum used;
        None when nothing goes along.
        """
        if self._containerd() or on_podman(self):
            return None
        with self.translate("list images"):
            everything = self.api.images(all=True)
        with self.translate("list containers"):
            used = {str(c.get("ImageID", "")) for c in self.api.containers(all=True)}
        going = parents_that_go(removed, everything, used)
        if not going:
            return None
        gone = set(removed)
        held: set[str] = set()
        for image in images:
            known = layers.get(image.id)
            if image.id not in gone and known is not None:
                held.update(known.chain)
        costs = layer_costs(layers.values())
        theirs: set[str] = set()
        for parent in going:
            try:
                theirs.update(self.image_layers(parent, sizes=False).chain)
            except NotFound:
                continue
        return BuildParents(tuple(going), sum(costs.get(c, 0) for c in theirs - held))

    def remove_reference(self, item: DeleteItem) -> Outcome:
        """Hand one reference to the daemon (never forced) and say how it ended."""
        built_on = False
        if item.action == "delete" and item.image.id and on_podman(self):
            built_on = self._podman_children(item.image.id)
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
        if deleted and built_on:
            # Podman has no "dependent child images" conflict: the image goes from every list,
            # but its layers are the bottom of the images built on it, so nothing is freed.
            detail = (
                "Podman deleted the image but not its layers: images built on it keep them "
                "(nothing is freed while they exist)"
            )
            return Outcome(item.reference, "deleted", detail, item.image.id, podman=True)
        if deleted:
            return Outcome(item.reference, "deleted", "", item.image.id)
        if item.action == "delete":
            detail = "the image stays: other references or child images still hold it"
        else:
            detail = f"the image stays as {item.keeps_words}" if item.keeps else ""
        return Outcome(item.reference, "untagged", detail, item.image.id)

    def _podman_children(self, image_id: str) -> bool:
        """True when Podman lists an image built on ``image_id`` (False if it cannot say).

        Podman's ``ParentId`` is a bare hex ID; the listed ``Id`` carries ``sha256:``.
        """
        try:
            with self.translate("list images"):
                everything = self.api.images(all=True)
        except ImagedeckError:
            return False
        return any(full_image_id(str(i.get("ParentId") or "")) == image_id for i in everything)

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


def _placeholder(reference: str) -> Image:
    # remove_reference only needs an ID for the outcome; the conflict flow knows the reference.
    return Image(
        id="", repo_tags=(reference,), repo_digests=(), created=datetime.now(timezone.utc), size=0
    )
