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
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import posixpath
import re
import stat
import tarfile
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from docker.errors import APIError, DockerException
from docker.types.daemon import CancellableStream

from tui.safefs import UnsafePath, private_output
from tui.service.cancel import CancelWatcher
from tui.service.core import ServiceBase
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

CHUNK = 1 << 20
#: JSON documents (manifest.json, index.json, configs, OCI manifests) kept to read them.
MAX_JSON = 16 << 20
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")


# --- results and progress ---------------------------------------------------------------------


@dataclass(frozen=True)
class ArchiveProgress:
    """How far an archive operation is: ``phase`` in words, bytes ``done`` of ``total``.

    ``total`` is None when unknown, and an estimate when ``estimated`` (a save's size is known
    only once the daemon has sent it all: the estimate is the images' distinct layers).
    """

    phase: str
    done: int
    total: int | None = None
    estimated: bool = False


ProgressCallback = Callable[[ArchiveProgress], None]


@dataclass(frozen=True)
class ArchiveImage:
    """One image an archive holds: its names (``RepoTags``) and config digest."""

    names: tuple[str, ...]
    config: str
    layers: int


@dataclass(frozen=True)
class ArchiveContents:
    """What a checked archive holds."""

    images: tuple[ArchiveImage, ...]
    layout: str
    """``docker`` (manifest.json) or ``oci`` (index.json only)."""
    size: int
    """Bytes of the archive file (compressed, when it is)."""
    blobs: int
    """Distinct blobs (configs, layers, manifests) checked."""


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


# --- checking an archive ----------------------------------------------------------------------


class _Counting:
    """A read()-able file that counts bytes, reports progress and stops on cancel."""

    def __init__(
        self,
        raw: IO[bytes],
        total: int | None,
        phase: str,
        progress: ProgressCallback | None,
        cancel: threading.Event,
        what: str,
    ) -> None:
        self._raw = raw
        self.total = total
        self.phase = phase
        self.done = 0
        self._progress = progress
        self._cancel = cancel
        self._what = what
        self._reported = -CHUNK

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (raises Cancelled once cancel is set)."""
        if self._cancel.is_set():
            raise Cancelled(self._what)
        data = self._raw.read(size if size is not None and size >= 0 else CHUNK)
        self.done += len(data)
        if self._progress is not None and (self.done - self._reported >= CHUNK or not data):
            self._reported = self.done
            self._progress(ArchiveProgress(self.phase, self.done, self.total))
        return data

    def __len__(self) -> int:
        # requests sends a Content-Length from this (the body is then read in blocks).
        return self.total or 0


def _member_name(name: str) -> str:
    """A member's path as the manifests name it (``./a/b`` -> ``a/b``)."""
    cleaned = posixpath.normpath(name.lstrip("/"))
    return "" if cleaned == "." else cleaned


@dataclass
class _Scan:
    """One pass over an archive's members: sizes and digests of regular files, links, JSON."""

    files: dict[str, tuple[int, str]]
    links: dict[str, str]
    documents: dict[str, bytes]
    members: int


def _scan_tar(reader: _Counting, what: str) -> _Scan:
    """Read every member of the tar (plain, gzip, bzip2 or xz) once, hashing its content.

    Raises ArchiveError when it is not a tar or is cut short (a member's data shorter than its
    header says, a compressed stream that ends early, a header that is not one).
    """
    scan = _Scan({}, {}, {}, 0)
    try:
        with tarfile.open(fileobj=reader, mode="r|*") as tar:  # type: ignore[call-overload]
            for member in tar:
                scan.members += 1
                name = _member_name(member.name)
                if member.issym():
                    target = posixpath.join(posixpath.dirname(name), member.linkname)
                    scan.links[name] = _member_name(target)
                    continue
                if member.islnk():
                    scan.links[name] = _member_name(member.linkname)
                    continue
                if not member.isreg():
                    continue
                source = tar.extractfile(member)
                if source is None:
                    continue
                digest = hashlib.sha256()
                size = 0
                head = b""
                keep = member.size <= MAX_JSON
                kept: list[bytes] = []
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    if not head:
                        head = chunk[:1]
                    if keep and head in (b"{", b"["):
                        kept.append(chunk)
                if size != member.size:
                    raise ArchiveError(
                        f"{what} is cut short: {name} has {size} of its {member.size} bytes"
                    )
                scan.files[name] = (size, digest.hexdigest())
                if kept:
                    scan.documents[name] = b"".join(kept)
    except ArchiveError:
        raise
    except Cancelled:
        raise
    except tarfile.CompressionError as exc:
        raise ArchiveError(f"{what} is compressed in a way imagedeck cannot read ({exc})") from exc
    except (tarfile.ReadError, EOFError, zlib.error, OSError, ValueError) as exc:
        if reader.done == 0:
            raise ArchiveError(f"{what} is empty (0 bytes)") from exc
        if scan.members == 0:
            raise ArchiveError(
                f"{what} is not a tar archive (nor a gzip, bzip2 or xz compressed one)"
            ) from exc
        raise ArchiveError(
            f"{what} is cut short or damaged after {scan.members} entries ({exc})"
        ) from exc
    if scan.members == 0:
        raise ArchiveError(f"{what} is an empty tar archive")
    return scan


def _resolve(scan: _Scan, name: str) -> str:
    """``name`` with links followed (``<id>/layer.tar`` -> ``blobs/sha256/<hex>``)."""
    seen: set[str] = set()
    current = _member_name(name)
    while current in scan.links and current not in seen:
        seen.add(current)
        current = scan.links[current]
    return current


def _json_of(scan: _Scan, name: str, what: str) -> Any:
    path = _resolve(scan, name)
    if path not in scan.documents:
        if path in scan.files:
            raise ArchiveError(f"{what}: {name} is not a JSON document")
        raise ArchiveError(f"{what}: {name} is named by the archive's manifest but is missing")
    try:
        return json.loads(scan.documents[path])
    except ValueError as exc:
        raise ArchiveError(f"{what}: {name} is not valid JSON ({exc})") from exc


def _need_file(scan: _Scan, name: str, what: str, *, sha256: str = "", size: int = -1) -> None:
    """The file ``name`` must be there (and match ``sha256``/``size`` when given)."""
    path = _resolve(scan, name)
    found = scan.files.get(path)
    if found is None:
        raise ArchiveError(
            f"{what}: the manifest names {name}, which is not in the archive; nothing was loaded"
        )
    if size >= 0 and found[0] != size:
        raise ArchiveError(f"{what}: {name} has {found[0]} bytes, its manifest says {size}")
    if sha256 and found[1] != sha256:
        raise ArchiveError(
            f"{what}: {name} does not match its digest sha256:{sha256[:12]}… (damaged)"
        )


def _blob_path(digest: str, what: str) -> tuple[str, str]:
    """``blobs/<alg>/<hex>`` and the sha256 hex to check (``""`` for other algorithms)."""
    algorithm, _, hexpart = str(digest).partition(":")
    if not algorithm or not hexpart or "/" in hexpart or "/" in algorithm:
        raise ArchiveError(f"{what}: the digest {digest!r} in its index is not a digest")
    return f"blobs/{algorithm}/{hexpart}", hexpart if algorithm == "sha256" else ""


def _expected_hex(name: str) -> str:
    """The sha256 a content-addressed file's name promises (``<hex>.json``,
    ``blobs/sha256/<hex>``), else ``""``."""
    base = posixpath.basename(name).removesuffix(".json")
    if _HEX64.match(base) and (name.startswith("blobs/sha256/") or name.endswith(".json")):
        return base
    return ""


def _check_docker_manifest(scan: _Scan, what: str) -> list[ArchiveImage]:
    manifest = _json_of(scan, "manifest.json", what)
    if not isinstance(manifest, list) or not manifest:
        raise ArchiveError(f"{what}: manifest.json lists no image")
    images: list[ArchiveImage] = []
    for entry in manifest:
        if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str):
            raise ArchiveError(f"{what}: manifest.json has an entry without a Config")
        config_name = entry["Config"]
        _need_file(scan, config_name, what, sha256=_expected_hex(_resolve(scan, config_name)))
        config = _json_of(scan, config_name, what)
        layers = entry.get("Layers") or []
        if not isinstance(layers, list):
            raise ArchiveError(f"{what}: manifest.json lists layers wrongly for {config_name}")
        diff_ids = ((config or {}).get("rootfs") or {}).get("diff_ids") or []
        if len(diff_ids) != len(layers):
            raise ArchiveError(
                f"{what}: {config_name} has {len(diff_ids)} layers, manifest.json names "
                f"{len(layers)}"
            )
        for layer, diff_id in zip(layers, diff_ids, strict=True):
            path = _resolve(scan, str(layer))
            promised = _expected_hex(path)
            if not promised and str(diff_id).startswith("sha256:"):
                # Legacy <id>/layer.tar: an uncompressed layer, whose sha256 is its DiffID.
                promised = str(diff_id)[7:]
            _need_file(scan, str(layer), what, sha256=promised)
        tags = tuple(str(t) for t in entry.get("RepoTags") or ())
        digest = _expected_hex(_resolve(scan, config_name))
        images.append(ArchiveImage(tags, f"sha256:{digest}" if digest else "", len(layers)))
    return images


def _check_oci_index(scan: _Scan, what: str) -> list[ArchiveImage]:
    index = _json_of(scan, "index.json", what)
    manifests = (index or {}).get("manifests") if isinstance(index, dict) else None
    if not isinstance(manifests, list) or not manifests:
        raise ArchiveError(f"{what}: index.json lists no image")
    images: list[ArchiveImage] = []

    def descriptor(entry: Mapping[str, Any], required: bool) -> Any:
        path, hexpart = _blob_path(str(entry.get("digest", "")), what)
        if not required and _resolve(scan, path) not in scan.files:
            return None
        _need_file(scan, path, what, sha256=hexpart, size=int(entry.get("size", -1)))
        return _json_of(scan, path, what) if "json" in str(entry.get("mediaType", "")) else None

    def walk(entry: Mapping[str, Any], name: str, required: bool) -> bool:
        document = descriptor(entry, required)
        if document is None:
            return False
        if isinstance(document.get("manifests"), list):  # an index: one complete child is enough
            found = [walk(child, name, False) for child in document["manifests"]]
            if not any(found):
                raise ArchiveError(f"{what}: no platform of {name or 'an image'} is complete")
            return True
        config = document.get("config") or {}
        layers = document.get("layers") or []
        path, hexpart = _blob_path(str(config.get("digest", "")), what)
        _need_file(scan, path, what, sha256=hexpart, size=int(config.get("size", -1)))
        for layer in layers:
            lpath, lhex = _blob_path(str(layer.get("digest", "")), what)
            _need_file(scan, lpath, what, sha256=lhex, size=int(layer.get("size", -1)))
        images.append(ArchiveImage((name,) if name else (), str(config.get("digest")), len(layers)))
        return True

    for entry in manifests:
        annotations = entry.get("annotations") or {}
        name = str(
            annotations.get("io.containerd.image.name")
            or annotations.get("org.opencontainers.image.ref.name")
            or ""
        )
        walk(entry, name if ("/" in name or ":" in name) else "", True)
    return images


def check_archive(
    source: IO[bytes],
    size: int | None,
    *,
    what: str = "the archive",
    cancel: threading.Event | None = None,
    progress: ProgressCallback | None = None,
) -> ArchiveContents:
    """Check that ``source`` is a whole image archive (reads it to the end once).

    Raises ArchiveError with the reason (not a tar, cut short, a manifest naming a missing or
    damaged blob), Cancelled when ``cancel`` is set.
    """
    reader = _Counting(source, size, "checking", progress, cancel or threading.Event(), "Check")
    scan = _scan_tar(reader, what)
    if _resolve(scan, "manifest.json") in scan.documents:
        images, layout = _check_docker_manifest(scan, what), "docker"
    elif _resolve(scan, "index.json") in scan.documents:
        images, layout = _check_oci_index(scan, what), "oci"
    else:
        raise ArchiveError(
            f"{what} is a tar but not an image archive (no manifest.json or index.json); "
            "a root filesystem tarball is imported, not loaded"
        )
    return ArchiveContents(tuple(images), layout, reader.done, len(scan.files))


def check_tarball(
    source: IO[bytes],
    size: int | None,
    *,
    what: str = "the tarball",
    cancel: threading.Event | None = None,
    progress: ProgressCallback | None = None,
) -> int:
    """Check that ``source`` is a complete tar (plain or compressed); its member count."""
    reader = _Counting(source, size, "checking", progress, cancel or threading.Event(), "Check")
    return _scan_tar(reader, what).members


# --- load stream ------------------------------------------------------------------------------

_LOADED = re.compile(r"^Loaded image: (.+)$")
_LOADED_ID = re.compile(r"^Loaded image ID: (\S+)$")


@dataclass
class _LoadLog:
    """What the daemon said while loading."""

    names: list[str]
    ids: list[str]
    notes: list[str]
    error: str = ""

    def reported_notes(self) -> tuple[str, ...]:
        """The notes worth reporting (the per-layer "Loading layer" lines left out)."""
        return tuple(line for line in self.notes if not line.startswith("Loading layer"))


def parse_load_stream(messages: Iterator[Any]) -> _LoadLog:
    """Read a load's JSON messages: loaded names and IDs, other lines, the error if any."""
    log = _LoadLog([], [], [])
    for message in messages:
        if not isinstance(message, dict):
            continue
        if message.get("error") or message.get("errorDetail"):
            detail = message.get("errorDetail") or {}
            log.error = str(message.get("error") or detail.get("message") or "load failed")
            continue
        text = str(message.get("stream") or "")
        for line in text.splitlines():
            line = line.strip()
            if not line:
                continue
            if match := _LOADED.match(line):
                log.names.append(match.group(1))
            elif match := _LOADED_ID.match(line):
                log.ids.append(match.group(1))
            else:
                log.notes.append(line)
    return log


def _short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


# --- the mixin --------------------------------------------------------------------------------


def _open_for_reading(path: str | os.PathLike[str], what: str) -> tuple[IO[bytes], int]:
    """A regular file opened for reading and its size (a FIFO or device is refused)."""
    location = Path(path).expanduser()
    try:
        handle = open(location, "rb")
    except FileNotFoundError as exc:
        raise ArchiveError(f"{location} does not exist") from exc
    except IsADirectoryError as exc:
        raise ArchiveError(f"{location} is a directory, not {what}") from exc
    except OSError as exc:
        raise ArchiveError(f"cannot open {location}: {exc.strerror or exc}") from exc
    info = os.fstat(handle.fileno())
    if not stat.S_ISREG(info.st_mode):
        handle.close()
        raise ArchiveError(f"{location} is not a regular file")
    return handle, info.st_size


def _shutdown(response: Any) -> None:
    """Shut the response's socket down (unblocks a read in another thread)."""
    with contextlib.suppress(DockerException, OSError, AttributeError):
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
                except APIError as exc:
                    if exc.status_code == 404:
                        raise NotFound(f"{what}: no such image {reference}") from exc
                    raise
            response = self.api._get(
                self.api._url("/images/get"), params={"names": list(references)}, stream=True
            )
            self.api._raise_for_status(response)
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
        api: Any = self.api
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
    ) -> _LoadLog:
        """POST ``body`` to /images/load and read the daemon's answer."""
        api: Any = self.api
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

    def _outcomes(self, contents: Sequence[ArchiveImage], log: _LoadLog) -> list[LoadedImage]:
        """One outcome per archive image: what the daemon said, and the ID it has now."""
        said_names = set(log.names)
        said_ids = set(log.ids)
        outcomes: list[LoadedImage] = []
        for image in contents:
            loaded_names = [
                n for n in image.names if n in said_names or _familiar_in(n, said_names)
            ]
            image_id = ""
            lookup = loaded_names[0] if loaded_names else ""
            if not lookup and image.config and image.config in said_ids:
                lookup = image.config
            if lookup:
                with contextlib.suppress(ImagedeckError, APIError, DockerException):
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
        handle, size = _open_for_reading(location, "an image archive")
        with handle:
            contents = check_archive(
                handle, size, what=str(location), cancel=cancel, progress=progress
            )
            handle.seek(0)
            body = _Counting(handle, size, "sending", progress, cancel, "Load")
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
        handle, size = _open_for_reading(location, "a tarball")
        api: Any = self.api
        with handle:
            check_tarball(handle, size, what=str(location), cancel=cancel, progress=progress)
            handle.seek(0)
            body = _Counting(handle, size, "sending", progress, cancel, "Import")
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


def _familiar_in(name: str, said: set[str]) -> bool:
    """True when the daemon reported ``name`` in another spelling (``docker.io/library/x``)."""
    for spelling in (f"docker.io/{name}", f"docker.io/library/{name}"):
        if spelling in said:
            return True
    return any(s.removeprefix("docker.io/").removeprefix("library/") == name for s in said)
