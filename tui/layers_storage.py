"""The layer analysis's second source: the daemon's own overlay2 storage, read where safe.

`GET /images/{name}/get` cannot end before the daemon has written the whole archive, so an
analysis of its stream takes at least `docker save`'s time. The daemon makes each layer tar of
that archive from metadata it keeps on disk: with a graph driver that cannot reproduce a diff
byte for byte (overlay2), the layer store reassembles the tar the layer was registered from
out of ``layerdb/sha256/<chain id>/tar-split.json.gz`` (every tar header, verbatim, and each
file's size) and the files in ``overlay2/<cache id>/diff``. The headers are all the analysis
reads, so the same entries, in the same order, come from the tar-split alone, without a
single file's contents: that is this module. (A walk of the ``diff`` directory would give
lexical order, not the order of a pulled or loaded layer's tar, and would need every hard
link and whiteout rule of moby's archiver re-done.)

Nothing the daemon says is taken as a path (DESIGN.md). The data root comes from ``/info``
and must be an absolute, clean path whose last part is no symlink; everything below it is
opened one name at a time relative to its parent's descriptor with ``O_NOFOLLOW``; names
are checked against strict patterns (64 hex digits). The storage is proved to be this
daemon's and this image's before it is read: the image config in ``imagedb`` hashes to the
image's ID, its diff IDs are the inspected ``RootFS.Layers``, each ``layerdb`` entry's
``diff`` is that layer's diff ID, its ``parent`` the chain ID below, and its ``cache-id``
names exactly the ``diff`` directories inspect lists in ``GraphDriver.Data`` (which must be
``<root>/overlay2/<cache id>/diff`` and real directories). Any doubt returns None and the
caller streams the archive from the API as before; the reason is logged at debug level.

The layer IDs are those the archive would carry: ``sha256:<diff id>`` blobs (Engine 25 and
later), or, for Engine 20.10-24's legacy layout, the v1 IDs the daemon computes
(moby ``image/v1.CreateID``: a SHA-256 of Go's JSON of a V1Image), re-done by
tui/layers_v1ids.py for the configs it can reproduce exactly and refused otherwise.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import stat
from binascii import a2b_base64 as b64decode
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tui.layers_v1ids import Unreproducible, legacy_v1_ids
from tui.unix_http import parse_head, send_get

try:
    # The built-in SHA-256: hashlib loads OpenSSL's libcrypto, 3.5 MB of resident memory in a
    # command measured beside dive's.
    from _sha256 import sha256
except ImportError:  # pragma: no cover - Python builds without it
    from hashlib import sha256

__all__ = ["StorageImage", "StorageLayer", "StorageRefused", "read_storage_image"]

_HEX64 = re.compile(r"[0-9a-f]{64}")
_DIGEST = re.compile(r"sha256:([0-9a-f]{64})")
# Metadata answers take milliseconds; a daemon this slow gets the stream and its own timeouts.
_TIMEOUT = 10.0
# The biggest answer or metadata file we accept (a tar-split of 50,000 files is a few MB).
_MAX_JSON = 64 << 20
_MAX_TAR_SPLIT = 1 << 30


class StorageRefused(Exception):
    """Why the storage is not read (the caller falls back to the API stream)."""


@dataclass(frozen=True)
class StorageLayer:
    """One layer: the path and ID the archive would give it, and its tar-split pieces."""

    tar_path: str
    diff_id: str
    tar_split: bytes  # layerdb's tar-split.json.gz, read lazily by PieceReader


@dataclass(frozen=True)
class StorageImage:
    """An image's config document and layers, bottom first, as `docker save` would list them."""

    config: dict[str, Any]
    layers: list[StorageLayer]
    size: int | None = None  # inspect's Size (an estimate of the archive's, for progress)


# --- the daemon's answers --------------------------------------------------------------------


def _get_json(socket_path: str, url: str) -> Any:
    """One small JSON answer over HTTP/1.0 (status 200 only)."""
    sock = send_get(socket_path, url, _TIMEOUT)
    try:
        parts: list[bytes] = []
        size = 0
        while chunk := sock.recv(1 << 16):
            parts.append(chunk)
            size += len(chunk)
            if size > _MAX_JSON:
                raise StorageRefused(f"{url}: answer too large")
    finally:
        sock.close()
    data = b"".join(parts)
    head, sep, body = data.partition(b"\r\n\r\n")
    status, headers = parse_head(head.decode("latin-1").split("\r\n"))
    if not sep or status != 200:
        raise StorageRefused(f"{url}: HTTP {status}")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise StorageRefused(f"{url}: chunked answer to HTTP/1.0")
    try:
        return json.loads(body)
    except ValueError:
        raise StorageRefused(f"{url}: not JSON") from None


# --- the file system, one name at a time ------------------------------------------------------

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


def _open_dir(parent: int, name: str) -> int:
    if "/" in name or name in ("", ".", ".."):
        raise StorageRefused(f"bad name {name!r}")
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except OSError as exc:
        raise StorageRefused(f"cannot open directory {name}: {exc.strerror}") from None


def _open_path(parent: int, names: list[str]) -> int:
    fd = os.dup(parent)
    try:
        for name in names:
            child = _open_dir(fd, name)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _read_file(parent: int, name: str, limit: int) -> bytes:
    """A regular file's bytes (no symlink, no device, no FIFO), at most ``limit``."""
    if "/" in name or name in ("", ".", ".."):
        raise StorageRefused(f"bad name {name!r}")
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=parent)
    except OSError as exc:
        raise StorageRefused(f"cannot open {name}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            raise StorageRefused(f"{name} is not a small regular file")
        parts: list[bytes] = []
        while chunk := os.read(fd, 1 << 20):
            parts.append(chunk)
        return b"".join(parts)
    finally:
        os.close(fd)


# --- the proof and the pieces -----------------------------------------------------------------


def _chain_ids(diff_ids: list[str]) -> list[str]:
    chain: list[str] = []
    for diff_id in diff_ids:
        if not chain:
            chain.append(diff_id)
        else:
            chain.append("sha256:" + sha256(f"{chain[-1]} {diff_id}".encode()).hexdigest())
    return chain


_SEGMENT_HEAD = b'{"type":2,"payload":"'
_SIZE_FIELD = b'"size":'


def _tar_split_pieces(raw: bytes) -> Iterator[bytes | int]:
    """tar-split's JSON lines: type 2 segments (raw tar bytes), type 1 files (their sizes).

    Read one line at a time from the compressed file (a layer of 50,000 files is 100,000
    lines). The lines the daemon writes (Go's encoder, fields in a fixed order) are taken
    apart without a JSON parse; anything else is parsed as JSON.
    """
    try:
        lines = gzip.GzipFile(fileobj=io.BytesIO(raw), mode="rb")
        for line in lines:
            if line.startswith(_SEGMENT_HEAD):
                end = line.find(b'"', len(_SEGMENT_HEAD))
                if end > 0:
                    yield b64decode(line[len(_SEGMENT_HEAD) : end])
                    continue
            elif line.startswith(b'{"type":1,'):
                at = line.find(_SIZE_FIELD)
                if at < 0:
                    continue  # an empty file: Go omits a zero size
                digits = line[at + len(_SIZE_FIELD) : line.find(b",", at)]
                if digits.isdigit():
                    if size := int(digits):
                        yield size
                    continue
            if not line.strip():
                continue
            yield from _slow_piece(line)
    except (OSError, EOFError, ValueError) as exc:
        raise StorageRefused(f"tar-split unreadable: {exc}") from None


def _slow_piece(line: bytes) -> Iterator[bytes | int]:
    entry = json.loads(line)
    kind = entry.get("type") if isinstance(entry, dict) else None
    if kind == 2:
        yield b64decode(entry.get("payload") or b"")
    elif kind == 1:
        size = entry.get("size", 0)  # omitted when 0
        if not isinstance(size, int) or size < 0:
            raise StorageRefused("tar-split file entry with a bad size")
        if size:
            yield size
    else:
        raise StorageRefused(f"tar-split entry of type {kind!r}")


def _engine_major(version: Any) -> int:
    text = str(version.get("Version", "")) if isinstance(version, dict) else ""
    match = re.match(r"(\d+)\.", text)
    if not match:
        raise StorageRefused(f"engine version {text!r}")
    return int(match.group(1))


def read_storage_image(socket_path: str, reference: str) -> StorageImage:
    """The image's layers from the daemon's overlay2 storage; StorageRefused on any doubt."""
    from urllib.parse import quote

    info = _get_json(socket_path, "/info")
    if not isinstance(info, dict) or info.get("Driver") != "overlay2":
        raise StorageRefused(f"storage driver {info.get('Driver')!r}, not overlay2")
    status = [pair for pair in info.get("DriverStatus") or [] if isinstance(pair, list)]
    if any(pair and pair[0] == "driver-type" for pair in status):
        raise StorageRefused("containerd image store")
    root = info.get("DockerRootDir")
    if not isinstance(root, str) or not root.startswith("/") or os.path.normpath(root) != root:
        raise StorageRefused(f"data root {root!r}")
    major = _engine_major(_get_json(socket_path, "/version"))
    if major < 25 and not str(info.get("SystemTime", "")).endswith("Z"):
        # The legacy layer IDs encode the epoch in the daemon's zone (see tui/layers_v1ids.py).
        raise StorageRefused("the daemon's clock is not on UTC")
    image = _get_json(socket_path, f"/images/{quote(reference, safe='/:@')}/json")
    if not isinstance(image, dict):
        raise StorageRefused("inspect answer is not an object")
    graph = image.get("GraphDriver") or {}
    if graph.get("Name") != "overlay2":
        raise StorageRefused(f"graph driver {graph.get('Name')!r}")
    match = _DIGEST.fullmatch(str(image.get("Id", "")))
    if not match:
        raise StorageRefused(f"image id {image.get('Id')!r}")
    image_hex = match.group(1)
    diff_ids = list((image.get("RootFS") or {}).get("Layers") or [])
    if not diff_ids or not all(_DIGEST.fullmatch(str(d)) for d in diff_ids):
        raise StorageRefused("RootFS.Layers")
    data = graph.get("Data") or {}
    listed = [str(data.get("UpperDir") or "")]
    if data.get("LowerDir"):
        listed += str(data["LowerDir"]).split(":")

    try:
        root_fd = os.open(root, _DIR_FLAGS)
    except OSError as exc:
        raise StorageRefused(f"cannot open the data root: {exc.strerror}") from None
    try:
        found = _read(root_fd, root, major, image_hex, diff_ids, listed)
    finally:
        os.close(root_fd)
    size = image.get("Size")
    return StorageImage(found.config, found.layers, size if isinstance(size, int) else None)


def _read(
    root_fd: int, root: str, major: int, image_hex: str, diff_ids: list[str], listed: list[str]
) -> StorageImage:
    image_dir = _open_path(root_fd, ["image", "overlay2"])
    try:
        content = _open_path(image_dir, ["imagedb", "content", "sha256"])
        try:
            raw_config = _read_file(content, image_hex, _MAX_JSON)
        finally:
            os.close(content)
        if sha256(raw_config).hexdigest() != image_hex:
            raise StorageRefused("image config does not hash to the image id")
        try:
            config = json.loads(raw_config)
        except ValueError:
            raise StorageRefused("image config is not JSON") from None
        if not isinstance(config, dict):
            raise StorageRefused("image config is not an object")
        if list((config.get("rootfs") or {}).get("diff_ids") or []) != diff_ids:
            raise StorageRefused("config diff ids differ from RootFS.Layers")
        chains = _chain_ids(diff_ids)
        layerdb = _open_path(image_dir, ["layerdb", "sha256"])
        try:
            cache_ids: list[str] = []
            splits: list[bytes] = []
            for index, chain in enumerate(chains):
                layer_fd = _open_dir(layerdb, chain.removeprefix("sha256:"))
                try:
                    if _read_file(layer_fd, "diff", 1024).decode().strip() != diff_ids[index]:
                        raise StorageRefused(f"layerdb {chain}: diff differs")
                    if index:
                        parent = _read_file(layer_fd, "parent", 1024).decode().strip()
                        if parent != chains[index - 1]:
                            raise StorageRefused(f"layerdb {chain}: parent differs")
                    cache_id = _read_file(layer_fd, "cache-id", 1024).decode().strip()
                    if not _HEX64.fullmatch(cache_id):
                        raise StorageRefused(f"layerdb {chain}: cache-id {cache_id!r}")
                    cache_ids.append(cache_id)
                    splits.append(_read_file(layer_fd, "tar-split.json.gz", _MAX_TAR_SPLIT))
                finally:
                    os.close(layer_fd)
        finally:
            os.close(layerdb)
    finally:
        os.close(image_dir)

    expected = [f"{root}/overlay2/{cache_id}/diff" for cache_id in reversed(cache_ids)]
    if listed != expected:
        raise StorageRefused("GraphDriver directories are not the layerdb's cache ids")
    for cache_id in cache_ids:
        os.close(_open_path(root_fd, ["overlay2", cache_id, "diff"]))

    if major >= 25:
        paths = [f"blobs/sha256/{d.removeprefix('sha256:')}" for d in diff_ids]
    else:
        paths = [f"{v1}/layer.tar" for v1 in _v1_ids(config, chains)]
    layers = [
        StorageLayer(path, diff_id, split)
        for path, diff_id, split in zip(paths, diff_ids, splits, strict=True)
    ]
    return StorageImage(config, layers)


def _v1_ids(config: dict[str, Any], chains: list[str]) -> list[str]:
    """The legacy archive's layer names (tui/layers_v1ids.py), or StorageRefused."""
    try:
        return legacy_v1_ids(config, chains)
    except Unreproducible as exc:
        raise StorageRefused(str(exc)) from None


# --- a tar stream made of the pieces ----------------------------------------------------------


class PieceReader:
    """The layer tar the daemon would send, made from its tar-split, file contents never made.

    ``read`` gives header bytes verbatim (and zeros inside a file's contents, which the
    analysis never asks for); ``skip`` jumps over contents without making them.
    """

    def __init__(self, tar_split: bytes) -> None:
        self._pieces = _tar_split_pieces(tar_split)
        self._piece: bytes | int = b""
        self._offset = 0  # into the current piece

    def _current(self) -> int:
        """Bytes left in the current piece, moving to the next one; 0 at the end."""
        while True:
            piece = self._piece
            left = (piece if isinstance(piece, int) else len(piece)) - self._offset
            if left > 0:
                return left
            nxt = next(self._pieces, None)
            if nxt is None:
                return 0
            self._piece, self._offset = nxt, 0

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes of the current piece (b"" at the end)."""
        left = self._current()
        take = left if size is None or size < 0 else min(size, left)
        start = self._offset
        self._offset += take
        piece = self._piece
        return bytes(take) if isinstance(piece, int) else piece[start : start + take]

    def skip(self, size: int) -> int:
        """Drop up to ``size`` bytes."""
        done = 0
        while done < size:
            left = self._current()
            if not left:
                break
            take = min(size - done, left)
            self._offset += take
            done += take
        return done
