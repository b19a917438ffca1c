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
from pathlib import Path
from typing import Any

from tui.service.api import ImageServiceAPI
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


class FakeService(ImageServiceAPI):
    """In-memory stand-in for ImageService; push events with ``emit``.

    It declares ``ImageServiceAPI``, so mypy (``make typecheck``) checks every method against
    the service's Protocol. What the fake does not do raises NotImplementedError: a test that
    needs it subclasses FakeService and defines it.
    """

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
                    self.images[i] = replace(
                        other, repo_tags=tuple(t for t in other.tags if t != full)
                    )
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

    # -- the appended features: bodies below, beside their fixtures --------------------------

    def history(self, reference: str) -> Any:
        """As ImageService.history (``_fake_history``)."""
        return _fake_history(self, reference)

    def analyze_layers(
        self,
        reference: str,
        *,
        progress: Any = None,
        cancel: Any = None,
        platform: str | None = None,
    ) -> Any:
        """As ImageService.analyze_layers (``_fake_analyze_layers``; one platform only)."""
        return _fake_analyze_layers(self, reference, progress=progress, cancel=cancel)

    def build_request(self, request: Any, cancel: threading.Event) -> Iterator[Any]:
        """As ImageService.build_request (``_fake_build_request``)."""
        return _fake_build_request(self, request, cancel)

    def build(
        self,
        context_dir: Any,
        dockerfile: Any = "Dockerfile",
        tags: Any = (),
        buildargs: Any = None,
        labels: Any = None,
        target: str = "",
        nocache: bool = False,
        pull: bool = False,
        platform: str = "",
        cancel: threading.Event | None = None,
    ) -> Iterator[Any]:
        """As ImageService.build (the request is checked for real)."""
        from tui.service.build import check_build_request

        request = check_build_request(
            context_dir, dockerfile, tags, buildargs, labels, target, nocache, pull, platform
        )
        return _fake_build_request(self, request, cancel or threading.Event())

    def commit(
        self,
        container: str,
        reference: str,
        message: str = "",
        author: str = "",
        changes: Any = (),
        pause: bool = True,
    ) -> str:
        """As ImageService.commit (``_fake_commit``)."""
        return _fake_commit(self, container, reference, message, author, changes, pause)

    def layers_for(self, images: Any, sized: Any) -> dict[str, Any]:
        """As ImageService.layers_for (``_fake_layers_for``)."""
        return _fake_layers_for(self, images, sized)

    def builder_info(self, *, refresh: bool = False) -> Any:
        """As ImageService.builder_info (``_fake_builder_info``)."""
        return _fake_builder_info(self, refresh=refresh)

    def build_with(
        self, request: Any, cancel: threading.Event, builder: Any = None
    ) -> Iterator[Any]:
        """As ImageService.build_with (``_fake_build_with``)."""
        return _fake_build_with(self, request, cancel, builder)

    def build_cache(self) -> Any:
        """As ImageService.build_cache (``_fake_build_cache``)."""
        return _fake_build_cache(self)

    def plan_cache_prune(self, older_than: Any = None, now: Any = None) -> Any:
        """As ImageService.plan_cache_prune (``_fake_plan_cache_prune``)."""
        return _fake_plan_cache_prune(self, older_than, now)

    def prune_cache(self, plan: Any, progress: Any = None) -> Any:
        """As ImageService.prune_cache (``_fake_prune_cache``)."""
        return _fake_prune_cache(self, plan, progress)

    # -- not faked: a test that needs one subclasses FakeService -------------------------------

    def _not_faked(self, name: str) -> NotImplementedError:
        return NotImplementedError(f"FakeService does not fake {name}: subclass it in the test")

    def list_containers(self, *, sizes: bool = True, image_id: str | None = None) -> Any:
        """Not faked."""
        raise self._not_faked("list_containers")

    def remove_container(self, container_id: str, *, name: str = "") -> None:
        """Not faked."""
        raise self._not_faked("remove_container")

    def build_parents(self, removed: Any, images: Any, layers: Any) -> None:
        """The fake's images have no untagged build parents: nothing goes along."""
        return None

    def remove_reference(self, item: Any) -> Any:
        """Not faked."""
        raise self._not_faked("remove_reference")

    def remove_image_fully(self, image: Any) -> Any:
        """Not faked."""
        raise self._not_faked("remove_image_fully")

    def remove_with_containers(self, reference: str, holders: Any) -> Any:
        """Not faked."""
        raise self._not_faked("remove_with_containers")

    def force_remove(self, reference: str) -> Any:
        """Not faked."""
        raise self._not_faked("force_remove")

    def child_images(self, image_id: str) -> list[str]:
        """Not faked."""
        raise self._not_faked("child_images")

    def plan_prune(self, options: Any, now: Any = None) -> Any:
        """Not faked."""
        raise self._not_faked("plan_prune")

    def pull(
        self,
        reference: str,
        all_tags: bool = False,
        platform: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[Any]:
        """Not faked."""
        raise self._not_faked("pull")

    def push(self, reference: str, cancel: threading.Event | None = None) -> Iterator[Any]:
        """Not faked."""
        raise self._not_faked("push")

    def search(
        self,
        term: str,
        limit: int = 25,
        min_stars: int = 0,
        official_only: bool = False,
        timeout: float = 20.0,
    ) -> list[Any]:
        """Not faked."""
        raise self._not_faked("search")

    def catalog(
        self, registry: str, term: str = "", timeout: float = 10.0, max_repos: int = 100
    ) -> Any:
        """Not faked."""
        raise self._not_faked("catalog")

    def remove_build_leftovers(self, leftovers: Any) -> list[str]:
        """Not faked."""
        raise self._not_faked("remove_build_leftovers")

    def save_images(
        self,
        references: Any,
        path: Any,
        *,
        overwrite: bool = False,
        cancel: Any = None,
        progress: Any = None,
    ) -> Any:
        """Not faked (tests/ui/test_archives_ui.py subclasses it)."""
        raise self._not_faked("save_images")

    def load_archive(self, path: Any, *, cancel: Any = None, progress: Any = None) -> Any:
        """Not faked."""
        raise self._not_faked("load_archive")

    def import_rootfs(
        self,
        path: Any,
        reference: str,
        *,
        message: str = "",
        changes: Any = (),
        cancel: Any = None,
        progress: Any = None,
    ) -> Any:
        """Not faked."""
        raise self._not_faked("import_rootfs")

    def copy_images(
        self,
        references: Any,
        *,
        host: str | None = None,
        context: str | None = None,
        cancel: Any = None,
        progress: Any = None,
    ) -> Any:
        """Not faked."""
        raise self._not_faked("copy_images")


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


# -- history and layers (issue 4) ------------------------------------------------------------
# Appended: deterministic history and a small synthetic `docker save` archive that runs through
# the real layer engine, shaped like demo/wasted:latest.


def fake_history(reference: str, image: Image) -> Any:
    """A history like demo/wasted's, newest first, dated from EPOCH."""
    from tui.service.history import HistoryEntry, ImageHistory

    def entry(n: int, created_by: str, size: int, minutes: int, comment: str = "") -> Any:
        return HistoryEntry(
            id="sha256:" + f"{n:02x}" * 32,
            created=EPOCH - timedelta(minutes=minutes),
            created_by=created_by,
            size=size,
            comment=comment,
        )

    entries = (
        entry(16, '/bin/sh -c #(nop)  CMD ["ls" "-l" "/data"]', 0, 10),
        entry(15, '/bin/sh -c rm /data/notes.bin && echo "kept" > /data/kept.txt', 5, 11),
        entry(14, "/bin/sh -c rm -rf /data/cache", 0, 12),
        entry(13, "/bin/sh -c head -c 307200 /dev/urandom > /data/blob.bin", 307_200, 13),
        entry(
            12,
            "/bin/sh -c mkdir -p /data/cache  && head -c 307200 /dev/urandom > /data/blob.bin"
            "  && head -c 204800 /dev/urandom > /data/cache/one.bin"
            "  && head -c 204800 /dev/urandom > /data/cache/two.bin"
            "  && head -c 204800 /dev/urandom > /data/notes.bin",
            921_600,
            14,
        ),
        entry(11, "/bin/sh -c #(nop)  LABEL org.imagedeck.seed=wasted", 0, 15),
        entry(10, "", 1_984_230, 60 * 24, "busybox-static rootfs for the imagedeck sandbox"),
    )
    return ImageHistory(
        reference=reference, image_id=image.id, size=image.size, layers=5, entries=entries
    )


# (path, size or None for a directory) per layer; ".wh." names are whiteouts.
FAKE_LAYERS: list[list[tuple[str, int | None]]] = [
    [
        ("bin/", None),
        ("bin/busybox", 1_000_000),
        ("bin/sh", 0),
        ("etc/", None),
        ("etc/passwd", 300),
        ("etc/group", 200),
        ("data/", None),
    ],
    [
        ("data/", None),
        ("data/blob.bin", 307_200),
        ("data/cache/", None),
        ("data/cache/one.bin", 204_800),
        ("data/cache/two.bin", 204_800),
        ("data/notes.bin", 204_800),
    ],
    [("data/", None), ("data/blob.bin", 307_200)],
    [("data/", None), ("data/.wh.cache", 0)],
    [("data/", None), ("data/.wh.notes.bin", 0), ("data/kept.txt", 5)],
]
FAKE_COMMANDS = [
    "",
    "/bin/sh -c mkdir -p /data/cache && head -c 307200 /dev/urandom > /data/blob.bin",
    "/bin/sh -c head -c 307200 /dev/urandom > /data/blob.bin",
    "/bin/sh -c rm -rf /data/cache",
    '/bin/sh -c rm /data/notes.bin && echo "kept" > /data/kept.txt',
]


def fake_archive() -> bytes:
    """A legacy-layout `docker save` archive of FAKE_LAYERS (file contents are zeros)."""
    import io
    import json
    import tarfile

    def tar_of(members: list[tuple[str, int | None]]) -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for name, size in members:
                info = tarfile.TarInfo(name.rstrip("/"))
                info.mtime = 0
                if size is None:
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                else:
                    info.size = size
                    tar.addfile(info, io.BytesIO(bytes(size)))
        return buffer.getvalue()

    layers = [tar_of(layer) for layer in FAKE_LAYERS]
    config = {
        "history": [{"created_by": c} for c in FAKE_COMMANDS],
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{i:064x}" for i in range(5)]},
    }
    files = [(f"{i:064x}/layer.tar", data) for i, data in enumerate(layers)]
    files.append(("config.json", json.dumps(config).encode()))
    manifest = [
        {
            "Config": "config.json",
            "RepoTags": ["demo/wasted:latest"],
            "Layers": [f"{i:064x}/layer.tar" for i in range(5)],
        }
    ]
    files.append(("manifest.json", json.dumps(manifest).encode()))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class _GatedReader:
    """Reads ``data`` in small blocks; waits on ``gate`` (if any) after the first block."""

    def __init__(self, data: bytes, gate: threading.Event | None, cancel: Any) -> None:
        self._data = data
        self._pos = 0
        self._gate = gate
        self._cancel = cancel

    def read(self, size: int = -1) -> bytes:
        if self._pos and self._gate is not None:
            # Hold the "stream" open until the test lets it go or the screen cancels.
            while not self._gate.wait(0.02):
                if self._cancel is not None and self._cancel.is_set():
                    break
        size = 64 * 1024 if size is None or size < 0 else min(size, 64 * 1024)
        chunk = self._data[self._pos : self._pos + size]
        self._pos += len(chunk)
        return chunk


def _fake_history(self: FakeService, reference: str) -> Any:
    """As ImageService.history."""
    self._check()
    self.calls.append(("history", (reference,)))
    return fake_history(reference, self.find(reference))


def _fake_analyze_layers(
    self: FakeService, reference: str, *, progress: Any = None, cancel: Any = None
) -> Any:
    """As ImageService.analyze_layers, on the synthetic archive (``analyze_gate`` holds it)."""
    from tui.analysis import analyze_stream

    self._check()
    self.find(reference)
    self.calls.append(("analyze_layers", (reference,)))
    data = fake_archive()
    gate: threading.Event | None = getattr(self, "analyze_gate", None)
    return analyze_stream(
        _GatedReader(data, gate, cancel),
        name=reference,
        total=len(data),
        progress=progress,
        cancel=cancel,
    )


# -- build and commit (issue 6) --------------------------------------------------------------
# Appended: a deterministic build script (steps, output, image ID) that can be held open
# mid-way (``build_gate``) or made to fail (``build_fails``), and an in-memory commit.


def fake_build_events(request: Any, *, fail: bool = False) -> list[Any]:
    """The events a 4-step build of ``request`` produces (a failing RUN at step 3 if ``fail``)."""
    from tui.service.build import (
        BuildError,
        BuildImageId,
        BuildOutput,
        BuildStep,
        BuildSucceeded,
        BuildTagged,
    )

    image_id = "sha256:" + "b1" * 32
    steps = [
        BuildStep(1, 4, "FROM imagedeck/busybox:latest"),
        BuildOutput((" ---> dbe6e830ff98",)),
        BuildStep(2, 4, "ARG GREETING=hello"),
        BuildOutput(
            (
                " ---> Running in 5a1f2e3d4c5b",
                "Removing intermediate container 5a1f2e3d4c5b",
                " ---> 1a2b3c4d5e6f",
            )
        ),
        BuildStep(3, 4, 'RUN echo "compiling" && make -j4'),
        BuildOutput(
            (
                " ---> Running in 6b2f3e4d5c6a",
                *tuple(f"cc -c src/module{i}.c -o build/module{i}.o" for i in range(40)),
            )
        ),
    ]
    if fail:
        detail = (
            "The command '/bin/sh -c echo \"compiling\" && make -j4' returned a non-zero code: 2"
        )
        return [
            *steps,
            BuildOutput(("make: *** [Makefile:12: build/module40.o] Error 2",)),
            BuildError(
                f'Step 3/4 failed (RUN echo "compiling" && make -j4): {detail}',
                detail=detail,
                code=2,
                step=steps[4],  # type: ignore[arg-type]  # the list holds every event kind
            ),
        ]
    tags = tuple(request.tag_texts) if request is not None else ()
    return [
        *steps,
        BuildOutput(("Removing intermediate container 6b2f3e4d5c6a", " ---> 2b3c4d5e6f7a")),
        BuildStep(4, 4, 'CMD ["cat", "/greeting"]'),
        BuildOutput(
            (
                " ---> Running in 7c3a4f5e6d7b",
                "Removing intermediate container 7c3a4f5e6d7b",
                " ---> b1b1b1b1b1b1",
            )
        ),
        BuildImageId(image_id),
        BuildOutput(
            (
                "Successfully built b1b1b1b1b1b1",
                *tuple(f"Successfully tagged {t}" for t in tags[:1]),
            )
        ),
        *(BuildTagged(t) for t in tags[1:]),
        BuildSucceeded(image_id, tags),
    ]


def _fake_build_request(self: FakeService, request: Any, cancel: threading.Event) -> Iterator[Any]:
    """As ImageService.build_request: the script, held at ``build_hold_at`` until ``build_gate``
    (``build_held``, an Event, is set once it holds)."""
    from tui.service.build import BuildCancelled, BuildSucceeded

    self._check()
    self.calls.append(("build", (request,)))
    events = fake_build_events(request, fail=getattr(self, "build_fails", False))
    gate: threading.Event | None = getattr(self, "build_gate", None)
    hold_at: int = getattr(self, "build_hold_at", 6)
    for index, event in enumerate(events):
        if index == hold_at and gate is not None:
            if (held := getattr(self, "build_held", None)) is not None:
                held.set()  # every event before this one has been handed over
            while not gate.wait(0.02):
                if cancel.is_set():
                    break
        if cancel.is_set():
            yield BuildCancelled()
            return
        if isinstance(event, BuildSucceeded):
            with self._lock:
                self.images.append(make_image(0xB1, tuple(event.tags), age_days=0))
        yield event


def _fake_commit(
    self: FakeService,
    container: str,
    reference: str,
    message: str = "",
    author: str = "",
    changes: Any = (),
    pause: bool = True,
) -> str:
    """As ImageService.commit: checks like the real one, adds an image tagged ``reference``."""
    from tui.service.build import check_changes

    self._check()
    ref = parse(reference)
    checked = check_changes(changes)
    self.calls.append(("commit", (container, reference, message, author, tuple(checked), pause)))
    image = make_image(0xC0, (f"{ref.name}:{ref.tag_or_latest}",), age_days=0)
    with self._lock:
        self.images.append(image)
    self.emit("image", "commit", image.id)
    return image.id


# -- worker failures (issue 11, point 10) ---------------------------------------------------
# The freed-space sum of marked rows asks the service for layer data in a worker; the plain
# fake has none (the list then keeps the df estimate, as with a daemon that cannot answer).


def _fake_layers_for(self: FakeService, images: Any, sized: Any) -> dict[str, Any]:
    """As ImageService.layers_for, with no layer data: callers keep the df estimate."""
    self._check()
    return {}


# -- BuildKit builds and the build cache (issue 18) ------------------------------------------
# Appended: the builder the form names (legacy unless ``fake.builder`` says otherwise) and a
# BuildKit build that replays a real rawjson recording (tests/fixtures/rawjson) through the
# real parser, held like the legacy script at ``build_hold_at`` until ``build_gate``.

RAWJSON = Path(__file__).resolve().parents[1] / "fixtures" / "rawjson"


def fake_buildkit_events(recording: str, request: Any = None) -> list[Any]:
    """The events of a recorded BuildKit build; a failure or a success at the end."""
    from tui.service.build import BuildImageId, BuildSucceeded
    from tui.service.buildkit import RawJsonDecoder, RawJsonParser

    text = (RAWJSON / f"{recording}.txt").read_text("utf-8")
    decoder = RawJsonDecoder()
    parser = RawJsonParser()
    events: list[Any] = []
    for item in decoder.feed(text) + decoder.flush():
        events += parser.feed(item)
    events += parser.finish()
    if parser.error_line():
        return [*events, parser.failure(1)]
    image_id = "sha256:" + "bk" * 32
    tags = tuple(request.tag_texts) if request is not None else ()
    return [*events, BuildImageId(image_id), BuildSucceeded(image_id, tags)]


def _fake_builder_info(self: FakeService, *, refresh: bool = False) -> Any:
    """As ImageService.builder_info: ``self.builder``, else the legacy builder (no buildx)."""
    from tui.service.buildkit import BuilderInfo

    return getattr(self, "builder", None) or BuilderInfo(False, reason="no docker buildx plugin")


def _fake_build_with(
    self: FakeService, request: Any, cancel: threading.Event, builder: Any = None
) -> Iterator[Any]:
    """As ImageService.build_with: the BuildKit recording, or the legacy script."""
    from tui.service.build import BuildCancelled, BuildSucceeded

    info = builder or self.builder_info()
    if not info.buildkit:
        yield from self.build_request(request, cancel)
        return
    self._check()
    self.calls.append(("build_with", (request, info)))
    recording = getattr(self, "buildkit_recording", "d26-modern-target-final")
    gate: threading.Event | None = getattr(self, "build_gate", None)
    hold_at: int = getattr(self, "build_hold_at", 6)
    for index, event in enumerate(fake_buildkit_events(recording, request)):
        if index == hold_at and gate is not None:
            if (held := getattr(self, "build_held", None)) is not None:
                held.set()  # every event before this one has been handed over
            while not gate.wait(0.02):
                if cancel.is_set():
                    break
        if cancel.is_set():
            yield BuildCancelled()
            return
        if isinstance(event, BuildSucceeded):
            with self._lock:
                self.images.append(make_image(0xBC, tuple(event.tags), age_days=0))
        yield event


def _fake_build_cache(self: FakeService) -> Any:
    """As ImageService.build_cache: ``self.cache_records`` (none by default)."""
    from tui.service.buildkit import BuildCacheUsage

    self._check()
    return BuildCacheUsage(tuple(getattr(self, "cache_records", ())))


def _fake_plan_cache_prune(self: FakeService, older_than: Any = None, now: Any = None) -> Any:
    """As ImageService.plan_cache_prune (the real planning rule, at the fake's clock)."""
    from tui.service.buildkit import plan_cache_prune

    return plan_cache_prune(self.build_cache(), older_than, now or EPOCH)


def _fake_prune_cache(self: FakeService, plan: Any, progress: Any = None) -> Any:
    """As ImageService.prune_cache: exactly the plan's records leave ``cache_records``."""
    from tui.service.buildkit import CachePruneResult

    self._check()
    wanted = {r.id for r in plan.records}
    self.calls.append(("prune_cache", (tuple(sorted(wanted)),)))
    records = list(getattr(self, "cache_records", ()))
    self.cache_records = [r for r in records if r.id not in wanted]  # type: ignore[attr-defined]
    gone = [r for r in records if r.id in wanted]
    freed = sum(r.size for r in gone if not r.shared)
    return CachePruneResult(tuple(r.id for r in gone), freed)
