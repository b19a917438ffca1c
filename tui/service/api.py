"""``ImageServiceAPI``: everything the UI asks of the service, as one typed Protocol.

The screens, dialogs and widgets see the service only through this Protocol (``self.service``
in ``tui/screens/base.py``), so a reader can jump from ``self.service.tag(...)`` to the
declaration here and from there to ``ImageService``'s mixin that implements it. ``ImageService``
(tui/service/facade.py) and the tests' ``FakeService`` (tests/ui/fake.py) both subclass it, so
mypy checks that each offers every method with a compatible signature.

Importing this module does not import docker-py: every type it names is imported for the type
checker only.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from tui.analysis import ImageAnalysis
    from tui.service.archive_check import ProgressCallback
    from tui.service.archives import ImportResult, LoadResult, SaveResult
    from tui.service.build import BuildEvent, BuildLeftovers, BuildRequest
    from tui.service.buildkit import (
        BuildCacheUsage,
        BuilderInfo,
        CachePrunePlan,
        CachePruneResult,
    )
    from tui.service.cleanup import (
        BuildParents,
        DeleteItem,
        ImageLayers,
        Outcome,
        PruneOptions,
        PrunePlan,
    )
    from tui.service.connection import Endpoint
    from tui.service.errors import Holder
    from tui.service.history import ImageHistory, ProgressFn
    from tui.service.models import Container, DaemonEvent, DaemonInfo, DiskUsage, Image
    from tui.service.registry_catalog import CatalogHits, SearchResult
    from tui.service.transfer_progress import TransferEvent


class EventStreamAPI(Protocol):
    """Daemon events until closed; ``close()`` stops the iteration from any thread."""

    def __iter__(self) -> Iterator[DaemonEvent]:
        """Each event as it arrives."""
        ...

    def close(self) -> None:
        """Stop iterating (from any thread)."""
        ...


class ImageServiceAPI(Protocol):
    """What the UI calls on the service; each method is documented where it is implemented."""

    endpoint: Endpoint

    # -- connection (tui/service/core.py) --
    @property
    def host(self) -> str:
        """The daemon address, as the header shows it."""
        ...

    def close(self) -> None:
        """Close the client's connections."""
        ...

    # -- images (tui/service/images.py) --
    def info(self) -> DaemonInfo:
        """The daemon's version, engine and image store."""
        ...

    def ping(self) -> None:
        """Raise DaemonUnreachable unless the daemon answers."""
        ...

    def list_images(self) -> list[Image]:
        """Every image `docker images` shows."""
        ...

    def disk_usage(self) -> DiskUsage:
        """Shared sizes and container counts per image, and the real size of all layers."""
        ...

    def inspect_image(self, reference: str) -> dict[str, Any]:
        """The full `docker inspect` JSON of an image."""
        ...

    def tag(self, source: str, target: str) -> None:
        """Tag ``source`` as ``target``."""
        ...

    def open_events(self) -> EventStreamAPI:
        """Subscribe to image and container events."""
        ...

    # -- containers (tui/service/containers.py) --
    def list_containers(
        self, *, sizes: bool = True, image_id: str | None = None
    ) -> list[Container]:
        """Every container, running or stopped, newest first."""
        ...

    def remove_container(self, container_id: str, *, name: str = "") -> None:
        """Remove a stopped container (never forced)."""
        ...

    # -- cleanup (tui/service/cleanup.py, prune.py) --
    def layers_for(self, images: Sequence[Image], sized: Iterable[str]) -> dict[str, ImageLayers]:
        """Layer data for the images that matter to a freed-space sum."""
        ...

    def build_parents(
        self, removed: Sequence[str], images: Sequence[Image], layers: dict[str, ImageLayers]
    ) -> BuildParents | None:
        """Untagged build parents a delete takes along (overlay2 store), and their bytes."""
        ...

    def remove_reference(self, item: DeleteItem) -> Outcome:
        """Hand one reference to the daemon (never forced) and say how it ended."""
        ...

    def remove_image_fully(self, image: Image) -> Outcome:
        """Remove every reference of ``image`` and then the image itself, never forced."""
        ...

    def remove_with_containers(self, reference: str, holders: Sequence[Holder]) -> list[Outcome]:
        """Remove the stopped containers that hold an image, then it."""
        ...

    def force_remove(self, reference: str) -> Outcome:
        """`docker rmi --force`, after its own explicit confirmation."""
        ...

    def child_images(self, image_id: str) -> list[str]:
        """Tagged (or short IDs of) images built on ``image_id``."""
        ...

    def plan_prune(self, options: PruneOptions, now: datetime | None = None) -> PrunePlan:
        """Exactly what the cleanup wizard would remove with ``options``."""
        ...

    # -- transfers (tui/service/transfers.py) --
    def pull(
        self,
        reference: str,
        all_tags: bool = False,
        platform: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[TransferEvent]:
        """Pull ``reference``, yielding progress snapshots."""
        ...

    def push(
        self, reference: str, cancel: threading.Event | None = None
    ) -> Iterator[TransferEvent]:
        """Push ``reference`` with the credentials of the user's Docker config."""
        ...

    def search(
        self,
        term: str,
        limit: int = 25,
        min_stars: int = 0,
        official_only: bool = False,
        timeout: float = 20.0,
    ) -> list[SearchResult]:
        """Search an index through the daemon (`docker search`)."""
        ...

    def catalog(
        self, registry: str, term: str = "", timeout: float = 10.0, max_repos: int = 100
    ) -> CatalogHits:
        """Repositories of a v2 registry whose name contains ``term``."""
        ...

    # -- build and commit (tui/service/build.py, buildkit.py) --
    def build(
        self,
        context_dir: str | os.PathLike[str],
        dockerfile: str | os.PathLike[str] = "Dockerfile",
        tags: Sequence[str] = (),
        buildargs: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
        target: str = "",
        nocache: bool = False,
        pull: bool = False,
        platform: str = "",
        cancel: threading.Event | None = None,
    ) -> Iterator[BuildEvent]:
        """Build an image; BuildEvents ending with exactly one terminal event."""
        ...

    def build_request(self, request: BuildRequest, cancel: threading.Event) -> Iterator[BuildEvent]:
        """Run a checked build the classic way."""
        ...

    def build_with(
        self,
        request: BuildRequest,
        cancel: threading.Event,
        builder: BuilderInfo | None = None,
    ) -> Iterator[BuildEvent]:
        """Build with BuildKit when ``builder`` has it, else the classic way."""
        ...

    def builder_info(self, *, refresh: bool = False) -> BuilderInfo:
        """Whether ``docker buildx`` works here, its version, builder and driver."""
        ...

    def remove_build_leftovers(self, leftovers: BuildLeftovers) -> list[str]:
        """Remove what a build that lost its daemon left."""
        ...

    def commit(
        self,
        container: str,
        reference: str,
        message: str = "",
        author: str = "",
        changes: Sequence[str] = (),
        pause: bool = True,
    ) -> str:
        """Commit ``container`` as ``reference``; the new ID."""
        ...

    def build_cache(self) -> BuildCacheUsage:
        """The daemon's build cache records."""
        ...

    def plan_cache_prune(
        self, older_than: timedelta | None = None, now: datetime | None = None
    ) -> CachePrunePlan:
        """Exactly which cache records a prune removes, and what that frees."""
        ...

    def prune_cache(
        self,
        plan: CachePrunePlan,
        progress: Callable[[int, int], None] | None = None,
    ) -> CachePruneResult:
        """Remove exactly the plan's records."""
        ...

    # -- history and layers (tui/service/history.py) --
    def history(self, reference: str) -> ImageHistory:
        """`docker history REF`: entries newest first."""
        ...

    def analyze_layers(
        self,
        reference: str,
        *,
        progress: ProgressFn | None = None,
        cancel: threading.Event | None = None,
        platform: str | None = None,
    ) -> ImageAnalysis:
        """Stream `docker save REF` into the layer engine."""
        ...

    # -- archives and copies between daemons (tui/service/archives.py) --
    def save_images(
        self,
        references: Sequence[str],
        path: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        cancel: threading.Event | None = None,
        progress: ProgressCallback | None = None,
    ) -> SaveResult:
        """Save images into one archive file, written privately (`docker save -o`)."""
        ...

    def load_archive(
        self,
        path: str | os.PathLike[str],
        *,
        cancel: threading.Event | None = None,
        progress: ProgressCallback | None = None,
    ) -> LoadResult:
        """Check an archive whole, then load it (`docker load -i`); one outcome per image."""
        ...

    def import_rootfs(
        self,
        path: str | os.PathLike[str],
        reference: str,
        *,
        message: str = "",
        changes: Sequence[str] = (),
        cancel: threading.Event | None = None,
        progress: ProgressCallback | None = None,
    ) -> ImportResult:
        """Import a root filesystem tarball under a checked reference (`docker import`)."""
        ...

    def copy_images(
        self,
        references: Sequence[str],
        *,
        host: str | None = None,
        context: str | None = None,
        cancel: threading.Event | None = None,
        progress: ProgressCallback | None = None,
    ) -> LoadResult:
        """Copy images to another daemon: a save streamed into its load, no file between."""
        ...
