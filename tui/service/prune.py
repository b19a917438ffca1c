"""The cleanup wizard's plan, asked of the daemon: exactly which images a prune would remove.

One job: ``PruneMixin.plan_prune`` lists the images, containers and ParentId chains and picks
what ``PruneOptions`` select (tui/service/cleanup_plan.py's ``select_candidates``), sparing an
image others are built on on a graph-driver store, and taking the hidden build intermediates
along on the containerd store, as `docker image prune` does on each. The plan is then removed
item by item (never a blind global prune) by the cleanup mixin's removals.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from tui.service.cleanup_plan import (
    PruneCandidate,
    PruneOptions,
    PrunePlan,
    _children_first,
    freed_space,
    select_candidates,
)
from tui.service.core import ServiceBase
from tui.service.models import Image


class PruneMixin(ServiceBase):
    """Planned prunes (see the module docstring)."""

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
