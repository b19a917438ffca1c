"""The disk map's figures: space by repository, by tag, by layer (no Textual, no docker-py).

Every "frees" figure is :func:`tui.service.retention.frees`, the service's one computation of
what deleting a set of rows frees (the same figure as the list's "N marked, frees X" and the
delete dialog): a repository's figure is what marking all its rows and pressing ``d`` would
free, layer-exact once the layers are known (until then, and for images whose layers cannot be
matched, the df unique size stands in and the figure says it is not exact).

Built for 10,000 tags: rows are grouped once; each repository's figure is one call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from tui.format import natural_key
from tui.service.cleanup import ImageLayers
from tui.service.models import NONE, Image, ImageRow, image_rows

Kind = Literal["repository", "tag", "layer", "extra"]
UNTAGGED = f"{NONE} (untagged)"


@dataclass(frozen=True)
class Entry:
    """One line of the disk map: a repository, a tag, a layer, or an extra line (build cache)."""

    kind: Kind
    name: str
    frees: int
    exact: bool
    logical: int
    rows: tuple[ImageRow, ...] = ()
    image: Image | None = None
    count: int = 0  # tags of a repository; images sharing a layer
    shared_with: tuple[str, ...] = ()  # a layer's other images
    key: str = ""  # what identifies the entry across reloads (the cursor stays on it)


@dataclass(frozen=True)
class DiskMap:
    """Everything one load of the map shows, level by level."""

    repositories: tuple[Entry, ...]
    disk: int  # what deleting every image would free: the images' disk use, one formula
    logical: int
    exact: bool
    extras: tuple[Entry, ...] = ()  # lines that are not images (the build cache goes here)
    images: tuple[Image, ...] = field(default=(), repr=False)
    layers: Mapping[str, ImageLayers] = field(default_factory=dict, repr=False)


FreesFunction = Callable[[Sequence[ImageRow]], tuple[int, bool]]


def repository_of(row: ImageRow) -> str:
    """The group a row belongs to (untagged images together)."""
    return row.repository if row.tagged else UNTAGGED


def build_map(
    images: Sequence[Image],
    layers: Mapping[str, ImageLayers],
    extras: Sequence[Entry] = (),
) -> DiskMap:
    """The repository level, sorted by what deleting frees, then logical size, then name."""
    from tui.service.cleanup import freed_space
    from tui.service.retention import frees

    def freed(rows: Sequence[ImageRow]) -> tuple[int, bool]:
        result = frees(rows, images, layers)
        return result.bytes, result.exact

    groups: dict[str, list[ImageRow]] = {}
    for image in images:
        for row in image_rows(image):
            groups.setdefault(repository_of(row), []).append(row)
    entries = []
    exact = True
    for name, rows in groups.items():
        size, ok = freed(rows)
        exact = exact and ok
        logical = sum({r.image.id: r.image.size for r in rows}.values())
        entries.append(
            Entry("repository", name, size, ok, logical, tuple(rows), count=len(rows), key=name)
        )
    entries.sort(key=lambda e: (-e.frees, -e.logical, natural_key(e.name)))
    # Deleting every row deletes every image: the same sum over all of them.
    everything = freed_space([i.id for i in images], images, dict(layers))
    disk, disk_exact = everything.bytes, everything.exact
    return DiskMap(
        tuple(entries),
        disk,
        sum(i.size for i in images),
        exact and disk_exact,
        tuple(extras),
        tuple(images),
        layers,
    )


def tag_entries(disk_map: DiskMap, repository: Entry) -> list[Entry]:
    """A repository's tags: what deleting each one alone frees (nothing while other tags keep
    its image), sorted like the repositories."""
    from tui.service.retention import frees

    entries = []
    for row in repository.rows:
        result = frees([row], disk_map.images, disk_map.layers)
        name = row.tag if row.tagged else row.image.short_id
        entries.append(
            Entry(
                "tag",
                name,
                result.bytes,
                result.exact,
                row.image.size,
                (row,),
                row.image,
                key=f"{row.image.id}|{row.repository}:{row.tag}",
            )
        )
    entries.sort(key=lambda e: (-e.frees, -e.logical, natural_key(e.name)))
    return entries


def layer_entries(disk_map: DiskMap, image: Image) -> list[Entry]:
    """An image's layers, base first: size, and which other images hold the same layer.

    ``frees`` of a layer is its size when no other image holds it, else 0 (deleting this image
    alone would keep it).
    """
    known = disk_map.layers.get(image.id)
    if known is None:
        return []
    holders: dict[str, list[Image]] = {}
    wanted = set(known.chain)
    for other in disk_map.images:
        if other.id == image.id:
            continue
        other_layers = disk_map.layers.get(other.id)
        if other_layers is None:
            continue
        for chain in other_layers.chain:
            if chain in wanted:
                holders.setdefault(chain, []).append(other)
    sizes = known.sizes or (None,) * len(known.chain)
    entries = []
    for index, (chain, size) in enumerate(zip(known.chain, sizes, strict=True)):
        others = holders.get(chain, [])
        names = tuple(sorted((_name(o) for o in others), key=natural_key))
        layer_size = size if size is not None else 0
        entries.append(
            Entry(
                "layer",
                f"layer {index + 1} {chain.removeprefix('sha256:')[:12]}",
                0 if others else layer_size,
                size is not None,
                layer_size,
                image=image,
                count=len(others),
                shared_with=names,
                key=chain,
            )
        )
    return entries


def _name(image: Image) -> str:
    return image.tags[0] if image.tags else image.short_id


def last_used_text(when: datetime | None, since: datetime | None) -> str:
    """How the LAST USED cells read: a date, or "unknown" (not seen since the record began)."""
    if when is None:
        return "unknown"
    return when.strftime("%Y-%m-%d")
