"""A fake ImageService for fast UI tests (the real-daemon tests live beside them).

It keeps images in memory and answers like the service layer does, including its errors.
Feature tests extend it (subclass, or set attributes) for what they need.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from tui.service.connection import Endpoint
from tui.service.errors import DaemonUnreachable, NotFound
from tui.service.models import DaemonEvent, DaemonInfo, DiskUsage, Image
from tui.service.reference import parse

# A fixed clock: snapshots must not change with the date.
EPOCH = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def make_image(
    n: int,
    tags: tuple[str, ...],
    *,
    size: int = 2_000_000,
    shared: int = 1_900_000,
    containers: int = 0,
    dangling: bool = False,
    age_days: float = 1.0,
) -> Image:
    """A deterministic image: ID from ``n``, created ``age_days`` before EPOCH."""
    return Image(
        id="sha256:" + f"{n:04x}" * 16,
        repo_tags=tags,
        repo_digests=(),
        created=EPOCH - timedelta(days=age_days),
        size=size,
        dangling=dangling,
        shared_size=shared,
        containers=containers,
    )


def demo_images() -> list[Image]:
    """Images shaped like the sandbox's seeded set."""
    return [
        make_image(1, ("imagedeck/busybox:latest",), size=1_983_000, shared=1_983_000, age_days=9),
        make_image(2, ("demo/app:1.0", "127.0.0.1:5000/demo/app:1.0"), age_days=8),
        make_image(3, ("demo/app:1.2",), age_days=7),
        make_image(4, ("demo/app:2.0",), age_days=6),
        make_image(5, ("demo/app:10.0",), age_days=5),
        make_image(6, ("demo/multi:latest", "demo/alias:one", "demo/alias:two"), age_days=4),
        make_image(7, (), dangling=True, age_days=3.5),
        make_image(8, ("demo/dangle:latest",), age_days=3),
        make_image(9, ("demo/stopped:latest",), containers=1, age_days=2),
        make_image(10, ("demo/running:latest",), containers=1, age_days=1.5),
        make_image(11, ("demo/wasted:latest",), size=3_210_000, shared=1_983_000, age_days=1),
    ]


class FakeService:
    """In-memory stand-in for ImageService; push events with ``emit``."""

    def __init__(self, images: list[Image] | None = None, *, down: bool = False) -> None:
        self.endpoint = Endpoint(host="unix:///fake/docker.sock", source="test")
        self.images = list(demo_images() if images is None else images)
        self.down = down
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self._events: queue.Queue[DaemonEvent | None] = queue.Queue()
        self._lock = threading.Lock()

    # -- connection --------------------------------------------------------------------------

    @property
    def host(self) -> str:
        """As ImageService.host."""
        return self.endpoint.description

    def _check(self) -> None:
        if self.down:
            raise DaemonUnreachable(self.endpoint.host, "connection refused (test)")

    def info(self) -> DaemonInfo:
        """As ImageService.info."""
        self._check()
        return DaemonInfo(self.endpoint.host, None, "27.0.0-fake", "1.47")

    def ping(self) -> None:
        """As ImageService.ping."""
        self._check()

    def close(self) -> None:
        """Nothing to close."""

    # -- images ------------------------------------------------------------------------------

    def list_images(self) -> list[Image]:
        """As ImageService.list_images (without usage columns)."""
        self._check()
        self.calls.append(("list_images", ()))
        with self._lock:
            return [replace(i, shared_size=None, containers=None) for i in self.images]

    def disk_usage(self) -> DiskUsage:
        """As ImageService.disk_usage."""
        self._check()
        with self._lock:
            per = {i.id: (i.shared_size or 0, i.containers or 0) for i in self.images}
            layers = sum(i.unique_size or 0 for i in self.images) + 1_983_000
        return DiskUsage(layers_size=layers, images=per)

    def find(self, reference: str) -> Image:
        """The image a reference or ID names."""
        for image in self.images:
            if reference in image.tags or image.id == reference or image.short_id == reference:
                return image
            if reference.startswith("sha256:") and image.id.startswith(reference):
                return image
        raise NotFound(f"No such image: {reference}")

    def tag(self, source: str, target: str) -> None:
        """As ImageService.tag."""
        self._check()
        ref = parse(target)
        full = f"{ref.name}:{ref.tag_or_latest}"
        with self._lock:
            image = self.find(source)
            for i, other in enumerate(self.images):
                if full in other.tags:
                    self.images[i] = replace(other, repo_tags=tuple(t for t in other.tags if t != full))
            index = self.images.index(self.find(source)) if image in self.images else -1
            image = self.images[index]
            self.images[index] = replace(image, repo_tags=(*image.tags, full), dangling=False)
        self.emit("image", "tag", image.id)

    def inspect_image(self, reference: str) -> dict[str, Any]:
        """A small inspect document."""
        image = self.find(reference)
        return {
            "Id": image.id,
            "RepoTags": list(image.tags),
            "Size": image.size,
            "Config": {"Env": ["PATH=/bin"], "Cmd": ["sh"]},
            "RootFS": {"Type": "layers", "Layers": ["sha256:" + "ab" * 32]},
        }

    # -- events ------------------------------------------------------------------------------

    def emit(self, type_: str, action: str, actor: str) -> None:
        """Send a daemon event to whoever listens."""
        self._events.put(DaemonEvent(type_, action, actor, (), EPOCH))

    def drop_connection(self) -> None:
        """Make the event stream fail, as when the daemon goes away."""
        self._events.put(None)

    def open_events(self) -> FakeEventStream:
        """As ImageService.open_events."""
        self._check()
        return FakeEventStream(self._events)


class FakeEventStream:
    """Iterates queued events; ``None`` in the queue means the connection dropped."""

    def __init__(self, events: queue.Queue[DaemonEvent | None]) -> None:
        self._events = events
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[DaemonEvent]:
        while not self._closed.is_set():
            try:
                event = self._events.get(timeout=0.05)
            except queue.Empty:
                continue
            if event is None:
                raise DaemonUnreachable("unix:///fake/docker.sock", "connection dropped (test)")
            yield event

    def close(self) -> None:
        """Stop iterating."""
        self._closed.set()


def make_app(service: FakeService | None = None, **kwargs: Any) -> Any:
    """An ImagedeckApp wired to a fake service (no prefetch)."""
    from tui.app import ImagedeckApp

    fake = service or FakeService()
    return ImagedeckApp(lambda: fake, host_hint=fake.endpoint.host, **kwargs)  # type: ignore[arg-type,return-value]
