"""Image archives: save (`docker save -o`), load (`docker load -i`), import (`docker import`),
and copy an image from one daemon to another (a save streamed into a load, no file between).

- **save**: the marked images go into ONE archive (``/images/get?names=a&names=b``), so layers
  they share are stored once. The bytes stream into a private temporary file (0600, no link
  followed, see ``tui.safefs.private_output``), which is read back and checked like an archive
  to load before it takes the name the user chose: a cancel, a daemon that dies mid-way or a
  full disk leave no half-written archive, and an existing file is never overwritten unless
  the caller says so (after asking the user).
- **load**: the archive is checked first, whole (a tar; ``manifest.json`` or ``index.json``; every
  config, layer and manifest blob they name present, complete and matching its digest), and
  only then sent to the daemon, so a bad archive loads nothing, not some of its images. The
  daemon's ``Loaded image: X`` / ``Loaded image ID: sha256:...`` lines give each image's outcome.
- **import**: a root filesystem tarball is checked to be a complete tar, the reference with the
  grammar (``tui.service.reference``), then it is sent (``/images/create?fromSrc=-``).
- **copy**: the source daemon's save response is read chunk by chunk and sent as the target
  daemon's load body (chunked), with the same progress and cancel.

Cancel: a ``threading.Event``; ``tui.service.cancel.CancelWatcher`` shuts the daemon response's
socket down (a blocked read returns), and a body being sent stops at its next chunk (the
request is abandoned, the daemon sees a cut archive and loads nothing). Once the daemon has the
whole archive a cancel only stops waiting for its answer, and the error says it may have loaded.

Checking an archive and reading a load's answer, which need no daemon, are in
``tui.service.archive_check``; this module talks to the daemon.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui.safefs import UnsafePath, private_output
from tui.service.archive_check import (
    CHUNK,
    ArchiveContents,
    ArchiveImage,
    ArchiveProgress,
    CountingReader,
    LoadLog,
    ProgressCallback,
    check_archive,
    check_tarball,
    familiar_in,
    open_for_reading,
    parse_load_stream,
)
from tui.service.cancel import CancelWatcher
from tui.service.core import ServiceBase, api_status, docker_errors
from tui.service.errors import (
    ArchiveError,
    Cancelled,
    DaemonError,
    DaemonUnreachable,
    FileExists,
    ImagedeckError,
    NotFound,
)
from tui.service.reference import parse

# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SaveResult:
    """A finished save: the file, its size and what it holds."""

    path: str
    size: int
    contents: ArchiveContents


@dataclass(frozen=True)
class LoadedImage:
    """The outcome of one image of an archive (load or copy)."""

    names: tuple[str, ...]
    image_id: str
    """The ID the daemon gives it now ("" when it did not load)."""
    loaded: bool
    note: str = ""
    """What else there is to know ("the tag moved from sha256:…", "not reported")."""


@dataclass(frozen=True)
class LoadResult:
    """A finished load or copy: one outcome per image of the archive, and the daemon's notes."""

    images: tuple[LoadedImage, ...]
    notes: tuple[str, ...] = ()
    sent: int = 0
    target: str = ""
    """The daemon that loaded it (its address in words)."""

    @property
    def ok(self) -> bool:
        """True when every image loaded."""
        return bool(self.images) and all(image.loaded for image in self.images)


@dataclass(frozen=True)
class ImportResult:
    """A finished import: the reference and the new image's ID."""

    reference: str
    image_id: str
    size: int


def _short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


# --- the mixin --------------------------------------------------------------------------------


def _shutdown(response: Any) -> None:
    """Shut the response's socket down (unblocks a read in another thread)."""
    with contextlib.suppress(*docker_errors(), OSError, AttributeError):
        from docker.types.daemon import CancellableStream  # the response is docker-py's

        CancellableStream(iter(()), response).close()
    with contextlib.suppress(Exception):
        response.close()


class ArchivesMixin(ServiceBase):
    """Save, load, import and copy images (see the module docstring)."""

    # -- save --

    def save_estimate(self, references: Sequence[str]) -> int | None:
        """About how many bytes an archive of ``references`` takes: their distinct layers'
        sizes (from the history), None when unknown."""
        total = 0
        seen: set[str] = set()
        try:
            for reference in references:
                with self.translate(f"inspect {reference}", reference):
                    image_id = str(self.api.inspect_image(reference)["Id"])
                layers = self.image_layers(image_id)
                if layers.sizes is None:
                    return None
                for chain, size in zip(layers.chain, layers.sizes, strict=False):
                    if chain not in seen:
                        seen.add(chain)
                        total += size
        except ImagedeckError:
            return None
        return total or None

    def _open_save(self, references: Sequence[str], what: str) -> Any:
        """The daemon's `docker save A B ...` response, streaming (checked to exist first)."""
        with self.translate(what):
            for reference in references:
                try:
                    self.api.inspect_image(reference)
                except Exception as exc:
                    if api_status(exc) == 404:
                        raise NotFound(f"{what}: no such image {reference}") from exc
                    raise
            api: Any = self.docker_api()
            response = api._get(
                api._url("/images/get"), params={"names": list(references)}, stream=True
            )
            api._raise_for_status(response)
        return response

    def save_images(
        self,
        references: Sequence[str],
        path: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        cancel: threading.Event | None = None,
        progress: ProgressCallback | None = None,
    ) -> SaveResult:
        """Save ``references`` into one archive at ``path`` (shared layers once), privately.

        Raises FileExists (``path`` is there and ``overwrite`` is False), ArchiveError (the
        folder is missing, the file cannot be written, the daemon's archive is incomplete),
        NotFound, Cancelled, DaemonUnreachable. Nothing is left at ``path`` unless it succeeds.
        """
        refs = list(dict.fromkeys(references))
        if not refs:
            raise ArchiveError("Nothing to save: mark images first")
        target = Path(path).expanduser()
        what = f"save {', '.join(refs)}" if len(refs) <= 3 else f"save {len(refs)} images"
        cancel = cancel or threading.Event()
        if not target.name or target.is_dir():
            raise ArchiveError(f"{target} is a folder; give a file name (e.g. images.tar)")
        if not overwrite and os.path.lexists(target):
            raise FileExists(str(target))
        if not target.parent.is_dir():
            raise ArchiveError(f"the folder {target.parent} does not exist")
        estimate = self.save_estimate(refs)
        if cancel.is_set():
            raise Cancelled("Save")
        response = self._open_save(refs, what)
        watcher = CancelWatcher(cancel, lambda: _shutdown(response), name="save-cancel")
        try:
            with private_output(target, overwrite=overwrite) as out:
                try:
                    for chunk in response.iter_content(CHUNK):
                        if cancel.is_set():
                            break
                        out.write(chunk)
                        if progress is not None:
                            progress(ArchiveProgress("saving", out.written, estimate, True))
                except Exception as exc:  # the connection broke (or was shut on cancel)
                    if not cancel.is_set():
                        raise DaemonUnreachable(
                            self.endpoint.description,
                            f"{what}: the connection broke after {out.written} bytes; "
                            "nothing was written",
                        ) from exc
                if cancel.is_set():
                    raise Cancelled("Save")
                with open(out.temp_path(), "rb") as written:
                    contents = check_archive(
                        written,
                        out.written,
                        what="the archive the daemon sent",
                        cancel=cancel,
                        progress=progress,
                    )
                size = out.written
        except FileExistsError as exc:
            raise FileExists(str(target)) from exc
        except UnsafePath as exc:
            raise ArchiveError(str(exc)) from exc
        except (ImagedeckError, KeyboardInterrupt):
            raise
        except OSError as exc:
            raise ArchiveError(f"cannot write {target}: {exc.strerror or exc}") from exc
        finally:
            watcher.finish()
            _shutdown(response)
        return SaveResult(str(target), size, contents)

    # -- load --

    def _post_body(
        self,
        path: str,
        body: Any,
        params: dict[str, Any],
        content_type: str,
        cancel: threading.Event,
        cancelled: str,
    ) -> Any:
        """POST ``body`` (a file or chunks, sent as it is read) to ``path``; the streaming
        response, its status checked. Called inside ``translate``: a send that ``cancel``
        broke raises Cancelled(``cancelled``)."""
        api: Any = self.docker_api()
        try:
            response = api._post(
                api._url(path),
                data=body,
                params=params,
                headers={"Content-Type": content_type},
                stream=True,
                timeout=None,
            )
        except Cancelled:
            raise
        except Exception:
            if cancel.is_set():
                raise Cancelled(cancelled) from None
            raise
        api._raise_for_status(response)
        return response

    def _post_load(
        self,
        body: Any,
        what: str,
        cancel: threading.Event,
        progress: ProgressCallback | None,
    ) -> LoadLog:
        """POST ``body`` to /images/load and read the daemon's answer."""
        api: Any = self.docker_api()
        with self.translate(what):
            response = self._post_body(
                "/images/load", body, {"quiet": "0"}, "application/x-tar", cancel, what.capitalize()
            )
        if progress is not None:
            progress(ArchiveProgress("the daemon is loading", 0, None))
        watcher = CancelWatcher(cancel, lambda: _shutdown(response), name="load-cancel")
        try:
            with self.translate(what):
                log = parse_load_stream(api._stream_helper(response, decode=True))
        except DaemonUnreachable:
            if cancel.is_set():
                # Not "Cancelled": the daemon had the whole archive, and a load it has read
                # goes on without us. Say so rather than claim nothing was loaded.
                raise DaemonError(
                    f"{what}: stopped waiting for the daemon's answer; it had the whole archive "
                    "and may have loaded it (the image list shows what it did)"
                ) from None
            raise
        finally:
            watcher.finish()
            _shutdown(response)
        if log.error:
            raise DaemonError(f"{what}: {log.error}")
        return log

    def _outcomes(self, contents: Sequence[ArchiveImage], log: LoadLog) -> list[LoadedImage]:
        """One outcome per archive image: what the daemon said, and the ID it has now."""
        said_names = set(log.names)
        said_ids = set(log.ids)
        outcomes: list[LoadedImage] = []
        for image in contents:
            loaded_names = [n for n in image.names if n in said_names or familiar_in(n, said_names)]
            image_id = ""
            lookup = loaded_names[0] if loaded_names else ""
            if not lookup and image.config and image.config in said_ids:
                lookup = image.config
            if lookup:
                with contextlib.suppress(ImagedeckError, *docker_errors()):
                    with self.translate(f"inspect {lookup}", lookup):
                        image_id = str(self.api.inspect_image(lookup)["Id"])
            loaded = bool(image_id)
            note = ""
            if not loaded:
                note = "the daemon did not report it loaded"
            elif len(loaded_names) < len(image.names):
                missing = [n for n in image.names if n not in loaded_names]
                note = f"not tagged: {', '.join(missing)}"
            outcomes.append(LoadedImage(image.names, image_id, loaded, note))
        return outcomes

    def load_archive(
        self,
        path: str | os.PathLike[str],
        *,
        cancel: threading.Event | None = None,
        progress: ProgressCallback | None = None,
    ) -> LoadResult:
        """Check the archive at ``path`` whole, then load it; one outcome per image.

        Raises ArchiveError (and sends nothing) for a bad archive; DaemonError when the daemon
        refuses it; Cancelled; DaemonUnreachable.
        """
        cancel = cancel or threading.Event()
        location = Path(path).expanduser()
        what = f"load {location}"
        handle, size = open_for_reading(location, "an image archive")
        with handle:
            contents = check_archive(
                handle, size, what=str(location), cancel=cancel, progress=progress
            )
            handle.seek(0)
            body = CountingReader(handle, size, "sending", progress, cancel, "Load")
            log = self._post_load(body, what, cancel, progress)
        return LoadResult(
            tuple(self._outcomes(contents.images, log)),
            log.reported_notes(),
            size,
            self.endpoint.description,
        )

    # -- import --

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
        """`docker import FILE REF`: a root filesystem tarball as a one-layer image.

        The reference is checked with the grammar first (InvalidReference), the tarball is
        read whole (ArchiveError when it is not a complete tar), then sent.
        """
        ref = parse(reference)
        if ref.digest:
            raise ArchiveError(f"{reference}: an import is named with a tag, not a digest")
        cancel = cancel or threading.Event()
        location = Path(path).expanduser()
        what = f"import {location} as {reference}"
        handle, size = open_for_reading(location, "a tarball")
        api: Any = self.docker_api()
        with handle:
            check_tarball(handle, size, what=str(location), cancel=cancel, progress=progress)
            handle.seek(0)
            body = CountingReader(handle, size, "sending", progress, cancel, "Import")
            params: dict[str, Any] = {
                "fromSrc": "-",
                "repo": ref.name,
                "tag": ref.tag_or_latest,
            }
            if message:
                params["message"] = message
            if changes:
                params["changes"] = list(changes)
            with self.translate(what, reference):
                response = self._post_body(
                    "/images/create", body, params, "application/tar", cancel, "Import"
                )
                statuses = [m for m in api._stream_helper(response, decode=True)]
        for item in statuses:
            if isinstance(item, dict) and (item.get("error") or item.get("errorDetail")):
                detail = item.get("errorDetail") or {}
                raise DaemonError(f"{what}: {item.get('error') or detail.get('message')}")
        with self.translate(f"inspect {ref}", str(ref)):
            image_id = str(self.api.inspect_image(f"{ref.name}:{ref.tag_or_latest}")["Id"])
        return ImportResult(f"{ref.name}:{ref.tag_or_latest}", image_id, size)

    # -- copy --

    def copy_images(
        self,
        references: Sequence[str],
        *,
        host: str | None = None,
        context: str | None = None,
        cancel: threading.Event | None = None,
        progress: ProgressCallback | None = None,
    ) -> LoadResult:
        """Copy ``references`` to the daemon at ``host`` (or Docker context ``context``): this
        daemon's save streamed into that daemon's load, no file between.

        Each outcome's note says whether the target's ID equals this daemon's. Raises
        DaemonUnreachable (either daemon), NotFound, DaemonError, Cancelled.
        """
        refs = list(dict.fromkeys(references))
        if not refs:
            raise ArchiveError("Nothing to copy: mark images first")
        if not host and not context:
            raise ArchiveError("Choose the daemon to copy to")
        cancel = cancel or threading.Event()
        target = type(self).connect(host=host, context=context)
        try:
            where = target.endpoint.description
            what = f"copy {', '.join(refs) if len(refs) <= 3 else f'{len(refs)} images'} to {where}"
            if target.endpoint.host == self.endpoint.host and not context:
                raise ArchiveError(f"{where} is the daemon the images are on")
            with target.translate(f"reach {where}"):
                target.api.ping()
            source_ids: dict[str, str] = {}
            for reference in refs:
                with self.translate(f"inspect {reference}", reference):
                    source_ids[reference] = str(self.api.inspect_image(reference)["Id"])
            estimate = self.save_estimate(refs)
            response = self._open_save(refs, what)
            watcher = CancelWatcher(cancel, lambda: _shutdown(response), name="copy-cancel")
            moved = [0]

            def body() -> Iterator[bytes]:
                try:
                    for chunk in response.iter_content(CHUNK):
                        if cancel.is_set():
                            raise Cancelled("Copy")
                        moved[0] += len(chunk)
                        if progress is not None:
                            progress(ArchiveProgress("copying", moved[0], estimate, True))
                        yield chunk
                except ImagedeckError:
                    raise
                except Exception as exc:
                    if cancel.is_set():
                        raise Cancelled("Copy") from exc
                    raise DaemonUnreachable(
                        self.endpoint.description,
                        f"{what}: the source stopped sending after {moved[0]} bytes",
                    ) from exc

            try:
                log = target._post_load(body(), what, cancel, progress)
            finally:
                watcher.finish()
                _shutdown(response)
            outcomes: list[LoadedImage] = []
            for reference in refs:
                target_id = ""
                with contextlib.suppress(ImagedeckError):
                    with target.translate(f"inspect {reference} on {where}", reference):
                        target_id = str(target.api.inspect_image(reference)["Id"])
                source_id = source_ids[reference]
                if not target_id:
                    note = "not on the target after the load"
                elif target_id == source_id:
                    note = f"same ID {_short(source_id)}"
                else:
                    note = f"the target calls it {_short(target_id)} (here {_short(source_id)})"
                outcomes.append(LoadedImage((reference,), target_id, bool(target_id), note))
            return LoadResult(tuple(outcomes), log.reported_notes(), moved[0], where)
        finally:
            target.close()
