"""Reading image archives with no daemon: whether one is whole, and what a load's answer says.

One job: the bytes side of ``tui.service.archives``. ``check_archive`` reads a ``docker save``
archive once, front to back (a tar, plain or compressed; ``manifest.json`` or ``index.json``;
every config, layer and manifest blob they name present, complete and matching its digest);
``check_tarball`` checks a root filesystem tarball is a complete tar; ``parse_load_stream``
reads the daemon's ``Loaded image: X`` / ``Loaded image ID: sha256:...`` lines;
``open_for_reading`` opens the archive file. It needs neither Docker nor Textual, so it is tested
on archive files alone (tests/unit/test_archive_check.py).
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import stat
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tui.service.errors import ArchiveError, Cancelled

CHUNK = 1 << 20
#: JSON documents (manifest.json, index.json, configs, OCI manifests) kept to read them.
MAX_JSON = 16 << 20
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")


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


# --- checking an archive ----------------------------------------------------------------------


class CountingReader:
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


def _scan_tar(reader: CountingReader, what: str) -> _Scan:
    """Read every member of the tar (plain, gzip, bzip2 or xz) once, hashing its content.

    Raises ArchiveError when it is not a tar or is cut short (a member's data shorter than its
    header says, a compressed stream that ends early, a header that is not one).
    """
    import hashlib  # here: hashlib loads libcrypto, which the list never needs
    import tarfile  # here too: about 0.3 MB resident that the list never needs

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
    reader = CountingReader(
        source, size, "checking", progress, cancel or threading.Event(), "Check"
    )
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
    reader = CountingReader(
        source, size, "checking", progress, cancel or threading.Event(), "Check"
    )
    return _scan_tar(reader, what).members


# --- load stream ------------------------------------------------------------------------------

_LOADED = re.compile(r"^Loaded image: (.+)$")
_LOADED_ID = re.compile(r"^Loaded image ID: (\S+)$")


@dataclass
class LoadLog:
    """What the daemon said while loading."""

    names: list[str]
    ids: list[str]
    notes: list[str]
    error: str = ""

    def reported_notes(self) -> tuple[str, ...]:
        """The notes worth reporting (the per-layer "Loading layer" lines left out)."""
        return tuple(line for line in self.notes if not line.startswith("Loading layer"))


def parse_load_stream(messages: Iterator[Any]) -> LoadLog:
    """Read a load's JSON messages: loaded names and IDs, other lines, the error if any."""
    log = LoadLog([], [], [])
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


def familiar_in(name: str, said: set[str]) -> bool:
    """True when the daemon reported ``name`` in another spelling (``docker.io/library/x``)."""
    for spelling in (f"docker.io/{name}", f"docker.io/library/{name}"):
        if spelling in said:
            return True
    return any(s.removeprefix("docker.io/").removeprefix("library/") == name for s in said)


def open_for_reading(path: str | os.PathLike[str], what: str) -> tuple[IO[bytes], int]:
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
