"""One size model for every engine: what each image occupies and what a delete gives back.

Where the bytes of an image live, and how the daemon reports them, depends on the engine:

- **overlay2 (graph driver) store**, Docker 20.10 and 26: an image is its layers, each stored
  once, unpacked. `docker history` gives each layer's exact size; `/system/df` gives LayersSize
  (all layers once) and per-image SharedSize. On API < 1.44 (Docker 20.10-24) SharedSize counts
  only other listed images, so UNIQUE = Size - SharedSize is what deleting the image frees. From
  Docker 25 (API 1.44) df also counts an image's *own untagged parents* (the classic builder's
  intermediate images) as sharers, so UNIQUE is 0 on most rows although a delete removes those
  parents too; there the sums are worked out here from the layer chains instead.
- **containerd image store** (Docker 26 with the containerd snapshotter, Docker 29's default):
  an image is its compressed blobs in the content store (layers, config, manifest) **and** the
  unpacked snapshots of its layers; a delete frees both when no remaining image references
  them. `/images/json` Size is content + snapshots, `image inspect` Size is the content alone,
  history sizes are each snapshot's usage in 4 kB blocks, df LayersSize is the snapshots only.
  API 1.45 (Docker 26.1) does not say how big each compressed layer blob is, so the content a
  layer owns is worked out from the content totals of the images that end at it (an image's
  content minus the content of the image below it); where no image ends between two layers
  the difference is split by their unpacked sizes. Those figures are estimates and say so.

Pure functions: no docker-py, no Textual.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from tui.service.models import ImagePlatforms

StoreKind = Literal["overlay2", "containerd"]

CONTAINERD_WHY = "compressed layer sizes worked out from image totals"


@dataclass(frozen=True)
class ImageStore:
    """Which image store the daemon uses and what its disk-usage answer can be trusted for."""

    kind: StoreKind
    driver: str
    api: tuple[int, int]
    engine: str = "Docker"

    @property
    def containerd(self) -> bool:
        """True for the containerd image store (content blobs plus snapshots)."""
        return self.kind == "containerd"

    @property
    def podman(self) -> bool:
        """True for Podman, whose df gives SharedSize = Size and LayersSize 0 (both useless)."""
        return self.engine == "Podman"

    @property
    def df_shared_trusted(self) -> bool:
        """True when df's SharedSize means "shared with another listed image" (API < 1.44)."""
        return self.kind == "overlay2" and self.api < (1, 44) and not self.podman

    @property
    def df_layers_trusted(self) -> bool:
        """True when df's LayersSize is what the layers occupy (not on containerd or Podman)."""
        return not self.containerd and not self.podman

    @property
    def estimates(self) -> str:
        """Why freed-space figures are estimates on this store ("" when they are exact)."""
        return CONTAINERD_WHY if self.containerd else ""

    def describe(self) -> str:
        """The store in words, for the header and the README's table."""
        if self.containerd:
            return "containerd image store"
        return f"{self.driver or 'graph driver'} store"


def store_from_info(
    info: Mapping[str, object], api_version: str, engine: str = "Docker"
) -> ImageStore:
    """The ImageStore from `/info`, the negotiated API version and the engine's product."""
    status = info.get("DriverStatus") or []
    containerd = False
    if isinstance(status, list):
        for pair in status:
            if (
                isinstance(pair, list | tuple)
                and len(pair) == 2
                and str(pair[0]) == "driver-type"
                and "containerd.snapshotter" in str(pair[1])
            ):
                containerd = True
    try:
        major, minor = (int(p) for p in api_version.split(".")[:2])
    except ValueError:
        major, minor = 1, 41
    return ImageStore(
        kind="containerd" if containerd else "overlay2",
        driver=str(info.get("Driver") or ""),
        api=(major, minor),
        engine=engine,
    )


class Layered(Protocol):
    """What the model needs of an image's layers (cleanup.ImageLayers has it)."""

    @property
    def image_id(self) -> str:
        """The image's ID."""

    @property
    def chain(self) -> tuple[str, ...]:
        """Chain IDs of its layers, base first."""

    @property
    def sizes(self) -> tuple[int, ...] | None:
        """Each layer's (unpacked) size, when known."""

    @property
    def content(self) -> int | None:
        """The compressed content total (containerd store), else None."""


def layer_costs(layers: Iterable[Layered]) -> dict[str, int]:
    """Bytes each layer (by chain ID) gives back when nothing holds it any more.

    On the overlay2 store that is the layer's size. On the containerd store it is the layer's
    snapshot plus its share of the compressed content: the content of an image that ends at
    a layer, minus the content of the nearest image below it, spread over the layers between
    them by their unpacked sizes. Layers whose size is unknown are left out.
    """
    known = [item for item in layers if item.sizes is not None]
    anchors: dict[str, int] = {}  # chain ID an image ends at -> that image's content total
    for item in known:
        if item.content is not None and item.chain:
            end = item.chain[-1]
            anchors[end] = min(anchors.get(end, item.content), item.content)
    costs: dict[str, int] = {}
    for item in known:
        sizes = item.sizes or ()
        if item.content is None:
            for chain, size in zip(item.chain, sizes, strict=True):
                costs.setdefault(chain, size)
            continue
        start, below = 0, 0
        for index, chain in enumerate(item.chain):
            if chain not in anchors:
                continue
            total = max(anchors[chain] - below, 0)
            segment = range(start, index + 1)
            weights = [sizes[k] for k in segment]
            whole = sum(weights)
            spread = 0
            for position, k in enumerate(segment):
                if position == len(segment) - 1:
                    part = total - spread  # the remainder: the parts add up exactly
                elif whole:
                    part = total * weights[position] // whole
                else:
                    part = total // len(segment)
                spread += part
                costs.setdefault(item.chain[k], sizes[k] + part)
            start, below = index + 1, anchors[chain]
    return costs


@dataclass(frozen=True)
class Usage:
    """Per-image shared bytes and the store's totals, computed from the layer chains."""

    shared: dict[str, int]
    on_disk: int
    reclaimable: int


def usage_from_layers(
    image_ids: Sequence[str],
    sizes: Mapping[str, int],
    layers: Mapping[str, Layered],
    used: Iterable[str],
) -> Usage:
    """SharedSize per listed image, all layers once, and what removing unused images frees.

    ``image_ids`` are the listed (top-level) images; an image's shared bytes are its size minus
    the bytes of layers no other listed image holds (its untagged parents go with it, so they
    do not count as sharers). ``used`` are the IDs containers use.
    """
    costs = layer_costs(layers.values())
    holders: dict[str, int] = {}
    for image_id in image_ids:
        known = layers.get(image_id)
        if known is None:
            continue
        for chain in set(known.chain):
            holders[chain] = holders.get(chain, 0) + 1
    shared: dict[str, int] = {}
    for image_id in image_ids:
        known = layers.get(image_id)
        if known is None or known.sizes is None:
            continue
        unique = sum(costs.get(c, 0) for c in set(known.chain) if holders.get(c, 0) == 1)
        shared[image_id] = max(sizes.get(image_id, 0) - unique, 0)
    everything = set(holders)
    held_by_used: set[str] = set()
    for image_id in used:
        known = layers.get(image_id)
        if known is not None:
            held_by_used.update(known.chain)
    on_disk = sum(costs.get(c, 0) for c in everything)
    reclaimable = sum(costs.get(c, 0) for c in everything - held_by_used)
    return Usage(shared, on_disk, reclaimable)


@dataclass(frozen=True)
class PlatformSize:
    """One platform of an image: whether it is on this machine, and its sizes when it is."""

    platform: str  # os/arch[/variant]
    present: bool
    content: int | None = None  # compressed blobs (containerd store)
    unpacked: int | None = None  # snapshots

    def describe(self, size: Callable[[int | None], str]) -> str:
        """``linux/amd64 2.3 MB + 3.1 MB unpacked`` or ``linux/arm64 (not here)``."""
        if not self.present:
            return f"{self.platform} (not here)"
        if self.content is None:
            return self.platform
        return f"{self.platform} {size(self.content)} + {size(self.unpacked)} unpacked"


def platform_of(inspect: Mapping[str, object]) -> str:
    """``linux/amd64`` (``/v8``) from `image inspect` (the platform the daemon resolved)."""
    text = f"{inspect.get('Os') or '?'}/{inspect.get('Architecture') or '?'}"
    return f"{text}/{inspect['Variant']}" if inspect.get("Variant") else text


def platforms_from_manifests(entry: Mapping[str, object]) -> list[PlatformSize]:
    """The platforms of one `/images/json?manifests=1` entry (API 1.47+); [] without them.

    Attestation manifests are left out; a platform not pulled is listed as not present.
    """
    found: list[PlatformSize] = []
    for item in entry.get("Manifests") or []:  # type: ignore[attr-defined]
        if not isinstance(item, dict) or item.get("Kind") != "image":
            continue
        data = item.get("ImageData") or {}
        platform = data.get("Platform") or {}
        name = f"{platform.get('os', '?')}/{platform.get('architecture', '?')}"
        if platform.get("variant"):
            name += f"/{platform['variant']}"
        size = item.get("Size") or {}
        unpacked = (data.get("Size") or {}).get("Unpacked")
        present = bool(item.get("Available"))
        found.append(
            PlatformSize(
                name,
                present,
                int(size.get("Content", 0)) if present else None,
                int(unpacked) if present and unpacked is not None else None,
            )
        )
    return found


def platforms_of_entry(entry: Mapping[str, object], native: str) -> ImagePlatforms | None:
    """What one `/images/json?manifests=1` entry (API 1.47+) says of the image's platforms.

    None when it lists no image manifest (an image the daemon does not describe that way).
    """
    found = platforms_from_manifests(entry)
    if not found:
        return None
    present = tuple(p.platform for p in found if p.present)
    return ImagePlatforms(present, len(found), native)
