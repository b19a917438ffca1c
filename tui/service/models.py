"""Frozen dataclasses the service layer returns. Nothing here knows about docker-py or Textual."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from tui.service.engine import familiar

NONE = "<none>"


@dataclass(frozen=True)
class Image:
    """One image ID, with everything `docker images` and `docker system df` know about it.

    ``shared_size`` and ``containers`` come from the disk-usage endpoint and are ``None`` until
    it has answered (the images endpoint does not carry them).
    """

    id: str
    repo_tags: tuple[str, ...]
    repo_digests: tuple[str, ...]
    created: datetime
    size: int
    dangling: bool = False
    shared_size: int | None = None
    containers: int | None = None
    labels: tuple[tuple[str, str], ...] = ()
    parent_id: str = ""
    # True when shared_size (so UNIQUE and SHARED) was worked out, not measured: the
    # containerd image store's compressed layer sizes (DiskUsage.estimate says why).
    estimated: bool = False
    # Which platforms of the image are on this machine, when the daemon says (API 1.47+'s
    # list, or the containerd store's inspect via disk usage); None when unknown.
    platforms: ImagePlatforms | None = None

    @property
    def short_id(self) -> str:
        """The 12-hex-digit ID the Docker CLI shows."""
        return self.id.removeprefix("sha256:")[:12]

    @property
    def unique_size(self) -> int | None:
        """What deleting this image alone frees: Size - SharedSize (None before disk usage)."""
        if self.shared_size is None or self.shared_size < 0:
            return None
        return max(self.size - self.shared_size, 0)

    @property
    def tags(self) -> tuple[str, ...]:
        """Real tags (the daemon's ``<none>:<none>`` placeholder dropped)."""
        return tuple(t for t in self.repo_tags if t != f"{NONE}:{NONE}")


@dataclass(frozen=True, slots=True)
class ImageRow:
    """One row of the image list: one tag of an image, or the image itself when untagged."""

    image: Image
    repository: str
    tag: str

    @property
    def reference(self) -> str:
        """What to hand the daemon for this row: ``repo:tag``, ``repo@digest`` or the ID."""
        if self.repository != NONE and self.tag != NONE:
            return f"{self.repository}:{self.tag}"
        for digest in self.image.repo_digests:
            if self.repository != NONE and digest.startswith(f"{self.repository}@"):
                return digest
        return self.image.short_id

    @property
    def tagged(self) -> bool:
        """True when this row is a real tag (not ``<none>``)."""
        return self.tag != NONE and self.repository != NONE


def split_repo_tag(text: str) -> tuple[str, str]:
    """Split ``repo:tag`` at the last ':' not followed by '/' (``localhost:5000/app`` has none)."""
    colon = text.rfind(":")
    if colon == -1 or "/" in text[colon + 1 :]:
        return text, NONE
    return text[:colon], text[colon + 1 :]


def image_rows(image: Image) -> list[ImageRow]:
    """The rows `docker images` shows for one image: one per tag, else one `<none>` row."""
    if image.tags:
        return [ImageRow(image, *split_repo_tag(t)) for t in image.tags]
    if image.repo_digests:
        repo = image.repo_digests[0].split("@", 1)[0]
        return [ImageRow(image, repo, NONE)]
    return [ImageRow(image, NONE, NONE)]


@dataclass(frozen=True)
class DiskUsage:
    """What `docker system df` says about images.

    ``layers_size`` is the real disk use of image layers (each layer once); ``images`` maps an
    image ID to (shared_size, containers).
    """

    layers_size: int
    images: dict[str, tuple[int, int]] = field(default_factory=dict)
    # Set when the figures were worked out from layer chains (engines whose df answer is not
    # what a delete frees, see tui/service/sizes.py): what removing unused images frees, and
    # why the figures are estimates ("" when exact).
    reclaimable: int | None = None
    estimate: str = ""
    # The BuildKit build cache, as `docker system df` counts it (records shared with image
    # layers left out); None when the daemon does not report one (Podman).
    build_cache: int | None = None
    # Image ID -> its platforms on this machine, where working out the figures inspected
    # the image anyway (the containerd store); with_usage puts them on the images.
    platforms: dict[str, ImagePlatforms] = field(default_factory=dict)


@dataclass(frozen=True)
class ImageSummary:
    """The numbers the summary line shows."""

    count: int
    tags: int
    logical_size: int
    disk_size: int | None
    reclaimable: int | None


@dataclass(frozen=True)
class Container:
    """A container, running or stopped."""

    id: str
    name: str
    image: str
    image_id: str
    command: str
    state: str
    status: str
    created: datetime
    size_rw: int | None = None
    size_root_fs: int | None = None

    @property
    def short_id(self) -> str:
        """The 12-hex-digit ID the Docker CLI shows."""
        return self.id[:12]

    @property
    def running(self) -> bool:
        """True for running, paused or restarting containers (the daemon refuses to remove)."""
        return self.state in ("running", "paused", "restarting")


@dataclass(frozen=True)
class DaemonEvent:
    """One event from the daemon's event stream (`docker events`)."""

    type: str
    action: str
    actor_id: str
    attributes: tuple[tuple[str, str], ...]
    time: datetime


@dataclass(frozen=True)
class DaemonInfo:
    """Which daemon we talk to, for the header."""

    host: str
    context: str | None
    server_version: str
    api_version: str
    os: str = ""
    name: str = ""
    engine: str = ""
    """The engine and its image store in words ("Docker 26.1.5, containerd store")."""


def from_timestamp(seconds: float | int | None) -> datetime:
    """A UTC datetime from a Unix timestamp (0 when missing)."""
    return datetime.fromtimestamp(float(seconds or 0), tz=timezone.utc)


def image_from_api(item: dict[str, Any], dangling: bool) -> Image:
    """An Image from one entry of the daemon's ``/images/json`` answer."""
    labels = item.get("Labels") or {}
    return Image(
        id=str(item.get("Id", "")),
        # Names as the Docker CLI shows them (Podman writes "docker.io/" into short names).
        repo_tags=tuple(familiar(t) for t in item.get("RepoTags") or ()),
        # Old daemons report untagged images' digests as "<none>@<none>": not a reference.
        repo_digests=tuple(
            familiar(d) for d in item.get("RepoDigests") or () if not d.startswith(f"{NONE}@")
        ),
        created=from_timestamp(item.get("Created")),
        size=int(item.get("Size") or 0),
        dangling=dangling,
        shared_size=_known(item.get("SharedSize")),
        containers=_known(item.get("Containers")),
        labels=tuple(sorted((str(k), str(v)) for k, v in labels.items())),
        parent_id=str(item.get("ParentId") or ""),
    )


def _known(value: Any) -> int | None:
    # /images/json reports -1 for "not computed".
    if value is None or int(value) < 0:
        return None
    return int(value)


def with_usage(images: list[Image], usage: DiskUsage | None) -> list[Image]:
    """The images with SharedSize and Containers filled in from disk usage."""
    if usage is None:
        return images
    merged = []
    for image in images:
        shared, containers = usage.images.get(image.id, (-1, -1))
        merged.append(
            replace(
                image,
                shared_size=shared if shared >= 0 else image.shared_size,
                containers=containers if containers >= 0 else image.containers,
                estimated=bool(usage.estimate) and shared >= 0,
                platforms=image.platforms or usage.platforms.get(image.id),
            )
        )
    return merged


def summarize(images: list[Image], usage: DiskUsage | None) -> ImageSummary:
    """Count, logical total, real layer disk use, and reclaimable space (as `docker system df`).

    Reclaimable is the real layer size minus what images in use by containers hold uniquely.
    """
    logical = sum(i.size for i in images)
    tags = sum(max(len(i.tags), 1) for i in images)
    if usage is None:
        return ImageSummary(len(images), tags, logical, None, None)
    used = 0
    for image in images:
        if image.containers and image.unique_size is not None:
            used += image.unique_size
    disk = usage.layers_size
    if usage.reclaimable is not None:
        return ImageSummary(len(images), tags, logical, disk, usage.reclaimable)
    return ImageSummary(len(images), tags, logical, disk, max(disk - used, 0))


@dataclass(frozen=True)
class ImagePlatforms:
    """Which platforms of an image are on this machine, as far as the daemon says.

    An image pulled on the containerd store is often an index of several platforms (and
    attestations), of which only some were pulled. API 1.47+ lists them all with what is here;
    older APIs name only the platform the daemon resolves for the image (``total`` None).
    """

    present: tuple[str, ...]  # os/arch[/variant], the ones here
    total: int | None = None  # image platforms the index lists (attestations left out)
    native: str = ""  # the daemon's own platform: nothing to say about an image of only it

    def marker(self, compact: bool = False) -> str:
        """The list row's words: ``[arm64]``, ``[amd64 1/3]``, ``[amd64+arm64 2/3]``.

        "" for the common case, an image of the daemon's own platform and no other, so the
        marker stands out where it means something: a partial index or a foreign platform.
        ``compact`` gives only the count of an index (``[1/3]``) where room is short.
        """
        names = [_short_platform(p) for p in self.present]
        several = self.total is not None and self.total > 1
        if not several and (not names or list(self.present) == [self.native]):
            return ""
        count = f"{len(self.present)}/{self.total}" if several else ""
        if compact and count:
            return f"[{count}]"
        return f"[{' '.join(filter(None, ('+'.join(names), count)))}]"

    def describe(self) -> str:
        """In words, for help and notes: ``linux/amd64 (1 of 3 platforms here)``."""
        here = ", ".join(self.present) or "none"
        if self.total is None:
            return here
        return f"{here} ({len(self.present)} of {self.total} platforms here)"


def _short_platform(platform: str) -> str:
    """``linux/arm64/v8`` -> ``arm64/v8``: Linux is what almost every image is built for."""
    return platform.removeprefix("linux/")
