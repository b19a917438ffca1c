"""Image methods of the service: list, disk usage, inspect, tag, remove, save, events.

``with_usage``, ``summarize`` and ``image_from_api`` live in ``models`` (no docker-py import,
so the list can be shown before docker-py is loaded) and are re-exported here.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any, BinaryIO, cast

from tui.service.buildkit import build_cache_size
from tui.service.core import ServiceBase, container_ids_in
from tui.service.engine import (
    engine_from,
    event_in_dockers_words,
    familiar,
    full_image_id,
    normalize_df,
)
from tui.service.errors import Conflict, DaemonUnreachable, Holder, NotFound
from tui.service.models import (
    DaemonEvent,
    DaemonInfo,
    DiskUsage,
    Image,
    ImagePlatforms,
    from_timestamp,
    image_from_api,
    summarize,
    with_usage,
)
from tui.service.reference import parse
from tui.service.sizes import (
    PlatformSize,
    platform_of,
    platforms_from_manifests,
    platforms_of_entry,
    usage_from_layers,
)


class ImagesMixin(ServiceBase):
    """Listing, usage, inspecting, tagging and removing images."""

    def info(self) -> DaemonInfo:
        """The daemon's version, engine and image store, for the header."""
        with self.translate("ask the daemon for its version"):
            version = self.api.version()
            engine = engine_from(version, self.api.info())
        self._engine = engine  # what engine() would ask for: asked once
        return DaemonInfo(
            host=self.endpoint.host,
            context=self.endpoint.context,
            server_version=str(version.get("Version", "?")),
            api_version=str(version.get("ApiVersion", "?")),
            os=str(version.get("Os", "")),
            engine=engine.label,
        )

    def ping(self) -> None:
        """Raise DaemonUnreachable unless the daemon answers."""
        with self.translate("ping the daemon"):
            self.api.ping()

    def list_images(self) -> list[Image]:
        """Every image `docker images` shows (tagged and dangling; not intermediate layers).

        Dangling is what the daemon's ``dangling=true`` filter says, not "every untagged row".
        """
        self.mark_list_start()
        manifests = self.image_store().api >= (1, 47)
        with self.translate("list images"):
            if manifests:
                # The same list with each index's platforms and which are here (API 1.47+).
                raw = self.get_json("/images/json", {"manifests": 1}) or []
            else:
                raw = self.api.images()
            dangling = set(self.api.images(filters={"dangling": True}, quiet=True))
        images = [image_from_api(item, item.get("Id", "") in dangling) for item in raw]
        if manifests:
            native = self.engine().platform
            images = [
                replace(image, platforms=platforms_of_entry(item, native))
                for image, item in zip(images, raw, strict=True)
            ]
        return images

    def disk_usage(self) -> DiskUsage:
        """Shared sizes and container counts per image, and the real size of all layers."""
        with self.translate("read disk usage"):
            df = normalize_df(self.read_df())  # Podman's IDs lack "sha256:"
        per_image: dict[str, tuple[int, int]] = {}
        for item in df.get("Images") or []:
            per_image[item["Id"]] = (
                int(item.get("SharedSize", -1)),
                int(item.get("Containers", -1)),
            )
        usage = DiskUsage(
            layers_size=int(df.get("LayersSize") or 0),
            images=per_image,
            build_cache=build_cache_size(df),
        )
        store = self.image_store()
        if store.df_shared_trusted:
            return usage
        return self._usage_from_layers(df, usage, store)

    def _usage_from_layers(self, df: dict[str, Any], usage: DiskUsage, store: Any) -> DiskUsage:
        """Shared sizes, disk use and reclaimable space worked out from each image's layers.

        Newer engines' df counts an image's own untagged parents as sharers (overlay2, API
        1.44+) or leaves the content store out (containerd store): see tui/service/sizes.py.
        """
        sizes = {str(i["Id"]): int(i.get("Size") or 0) for i in df.get("Images") or []}
        if store.podman:  # Podman's df also lists build intermediates, and each image per tag
            with self.translate("list images"):
                listed = {str(i.get("Id", "")) for i in self.api.images()}
            sizes = {image_id: size for image_id, size in sizes.items() if image_id in listed}
        layers = {}
        for image_id in sizes:
            try:
                layers[image_id] = self.image_layers(image_id)
            except NotFound:
                continue  # removed meanwhile
        used = [i for i, (_, containers) in usage.images.items() if containers > 0]
        computed = usage_from_layers(list(sizes), sizes, layers, used)
        per_image = dict(usage.images)
        for image_id, shared in computed.shared.items():
            per_image[image_id] = (shared, per_image.get(image_id, (-1, -1))[1])
        # The platform each inspect above resolved: the one here (older APIs name no other).
        native = self.engine().platform
        platforms = {
            image_id: ImagePlatforms((known.platform,), None, native)
            for image_id, known in layers.items()
            if known.platform
        }
        return DiskUsage(
            layers_size=usage.layers_size if store.df_layers_trusted else computed.on_disk,
            images=per_image,
            reclaimable=computed.reclaimable,
            estimate=store.estimates,
            build_cache=usage.build_cache,
            platforms=platforms,
        )

    def inspect_image(self, reference: str) -> dict[str, Any]:
        """The full `docker inspect` JSON of an image."""
        with self.translate(f"inspect {reference}", reference):
            return dict(self.api.inspect_image(reference))

    def image_platforms(self, inspect: dict[str, Any]) -> list[PlatformSize]:
        """The platforms of an inspected image: which are on this machine, and their sizes.

        API 1.47+ lists every platform of an index (`/images/json?manifests=1`), present or
        not; older APIs name only the platform the daemon resolved, the one that is here.
        """
        image_id = str(inspect.get("Id", ""))
        store = self.image_store()
        if store.api >= (1, 47):
            with self.translate("list images with their platforms"):
                raw = self.get_json("/images/json", {"manifests": 1})
            for entry in raw or []:
                if entry.get("Id") == image_id:
                    found = platforms_from_manifests(entry)
                    if found:
                        return found
        here = platform_of(inspect)
        if not store.containerd:
            return [PlatformSize(here, True)]
        layers = self.image_layers(image_id)
        unpacked = sum(layers.sizes) if layers.sizes is not None else None
        return [PlatformSize(here, True, int(inspect.get("Size") or 0), unpacked)]

    def tag(self, source: str, target: str) -> None:
        """Tag ``source`` (a reference or ID) as ``target``, checked with the grammar first."""
        ref = parse(target)
        if ref.digest:
            raise NotFound(f"Cannot tag with a digest: {target}")
        with self.translate(f"tag {source} as {target}", source):
            ok = self.api.tag(source, ref.name, ref.tag_or_latest)
        if not ok:
            raise NotFound(f"tag {source} as {target}: the daemon did not apply the tag")

    def remove_image(
        self, reference: str, *, force: bool = False, noprune: bool = False
    ) -> list[tuple[str, str]]:
        """Remove an image or one of its tags, like `docker rmi`.

        Returns the daemon's report as (``Untagged`` or ``Deleted``, what) pairs. A conflict
        raises Conflict naming the containers that hold the image.
        """
        try:
            with self.translate(f"remove {reference}", reference):
                report = self.api.remove_image(reference, force=force, noprune=noprune)
        except Conflict as exc:
            holders = self.holders(container_ids_in(exc.daemon_message))
            raise Conflict(
                _conflict_message(reference, exc.daemon_message, holders, exc.children),
                reference=reference,
                holders=holders,
                children=exc.children,
                daemon_message=exc.daemon_message,
            ) from exc
        result: list[tuple[str, str]] = []
        for entry in report or []:
            # In Docker's words (Podman: "docker.io/..." names, IDs without "sha256:").
            if "Untagged" in entry:
                result.append(("Untagged", familiar(str(entry["Untagged"]))))
            if "Deleted" in entry:
                result.append(("Deleted", full_image_id(str(entry["Deleted"]))))
        return result

    def holders(self, container_ids: Iterable[str]) -> tuple[Holder, ...]:
        """The containers (name, status) behind IDs a conflict message named."""
        found: list[Holder] = []
        for cid in container_ids:
            try:
                with self.translate(f"inspect container {cid}"):
                    data = self.api.inspect_container(cid)
            except NotFound:
                found.append(Holder(id=cid, name=cid[:12], status="gone", running=False))
                continue
            state = data.get("State") or {}
            status = str(state.get("Status", "unknown"))
            found.append(
                Holder(
                    id=str(data.get("Id", cid)),
                    name=str(data.get("Name", "")).lstrip("/") or cid[:12],
                    status=status,
                    running=bool(state.get("Running")) or status in ("paused", "restarting"),
                )
            )
        return tuple(found)

    def save_stream(self, reference: str) -> BinaryIO:
        """`docker save REF` as a readable binary stream (not buffered whole in memory)."""
        with self.translate(f"save {reference}", reference):
            self.api.inspect_image(reference)  # a clear NotFound before the stream starts
            # The response itself (not docker-py's get_image generator), so that close()
            # releases the connection at once when the user cancels mid-stream.
            response = self.api._get(self.api._url("/images/{0}/get", reference), stream=True)
            self.api._raise_for_status(response)
        reader = ChunkReader(response.iter_content(chunk_size=1 << 20), on_close=response.close)
        return cast(BinaryIO, io.BufferedReader(reader, 1 << 20))

    def open_events(self) -> EventStream:
        """Subscribe to image and container events; close() from another thread stops it.

        The first stream starts at the first list's moment (``events_since``): the daemon
        replays what happened since, so a change made right after the list is not lost.
        """
        since = self.events_since()
        with self.translate("subscribe to daemon events"):
            stream = self.api.events(
                decode=True,
                filters={"type": ["image", "container"]},
                # Whole seconds, rounded down (still not after the list): every engine,
                # Podman's compat API too, takes a plain Unix time.
                since=None if since is None else int(since),
            )
        return EventStream(stream, self.endpoint.description)


class EventStream:
    """Iterates DaemonEvents until closed; ``close()`` shuts the socket down from any thread."""

    def __init__(self, stream: Any, host: str) -> None:
        self._stream = stream
        self._host = host

    def __iter__(self) -> Iterator[DaemonEvent]:
        try:
            for raw in self._stream:
                actor = raw.get("Actor") or {}
                kind = str(raw.get("Type", ""))
                actor_id, attributes = event_in_dockers_words(
                    kind, str(actor.get("ID", raw.get("id", ""))), actor.get("Attributes") or {}
                )
                yield DaemonEvent(
                    type=kind,
                    action=str(raw.get("Action", raw.get("status", ""))),
                    actor_id=actor_id,
                    attributes=tuple(sorted(attributes.items())),
                    time=from_timestamp(raw.get("time")),
                )
        except Exception as exc:  # a closed or dropped socket ends the stream the same way
            raise DaemonUnreachable(self._host, "the event stream was interrupted") from exc

    def close(self) -> None:
        """Stop the stream (safe to call twice, from any thread)."""
        try:
            self._stream.close()
        except Exception:  # noqa: S110 - closing an already dead socket is fine
            pass


class ChunkReader(io.RawIOBase):
    """A read()-able stream over an iterator of byte chunks."""

    def __init__(self, chunks: Iterable[bytes], on_close: Callable[[], None] | None = None) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""
        self._on_close = on_close

    def close(self) -> None:
        """Close the stream and the connection behind it."""
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            try:
                on_close()
            except Exception:  # noqa: S110 - a connection that is already gone is closed
                pass
        super().close()

    def readable(self) -> bool:
        """Always True."""
        return True

    def readinto(self, target: Any) -> int:
        """Fill ``target`` from the next chunks; 0 at the end."""
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def _conflict_message(
    reference: str, daemon: str, holders: tuple[Holder, ...], children: bool
) -> str:
    if children:
        return f"{reference} has dependent child images; remove those images first."
    if not holders:
        return f"{reference} is in use: {daemon}"
    names = ", ".join(f"{h.status} container {h.name} ({h.short_id})" for h in holders)
    return f"{reference} is used by {names}."


__all__ = ["ChunkReader", "EventStream", "ImagesMixin", "image_from_api", "summarize", "with_usage"]
