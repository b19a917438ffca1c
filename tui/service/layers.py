"""Layer contents and wasted space: a streaming analysis of a `docker save` archive.

The archive is read once, front to back, from any object with ``read()`` (a pipe, an HTTP
stream, a file): each layer tar is walked as a nested stream the moment it turns up in the
outer tar, and only a compact list of its entries (path, size, type) is kept. Layers may come
in any order and ``manifest.json`` may come last, so layers are put in manifest order at the
end. Memory grows with the number of file entries, never with the bytes of the image.

The efficiency figures replicate dive (``filetree/efficiency.go``, ``image/analysis.go``,
``image/docker/image_archive.go``) quirk for quirk, so a CI gate written for dive gives the same
verdict here. The per-layer change lists and trees are our own, cleaner model (see
``LayerInfo.changes``); they never feed the dive figures.

This module imports neither Textual nor docker.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import json
import lzma
import math
import posixpath
import tarfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

from tui.service.errors import Cancelled, ImagedeckError

__all__ = [
    "AnalysisCancelled",
    "Change",
    "ChangeKind",
    "EntryKind",
    "FileEntry",
    "FileNode",
    "ImageAnalysis",
    "Inefficiency",
    "LayerAnalysisError",
    "LayerInfo",
    "ProgressCallback",
    "analyze_path",
    "analyze_stream",
    "clean_command",
]

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
# dive drops every name with this prefix (opaque markers and other aufs metadata).
_DOUBLE_WHITEOUT_PREFIX = ".wh..wh.."

# Large reads keep Python's per-call overhead small next to the bytes moved.
_BUFSIZE = 1 << 20
# JSON documents (manifest, config, index) are tiny; anything bigger is not one of them.
_MAX_JSON_BYTES = 64 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

ProgressCallback = Callable[[int, "int | None"], None]
"""Called with (bytes read so far, total bytes or None when unknown)."""


class LayerAnalysisError(ImagedeckError):
    """The archive cannot be analysed (not a `docker save` archive, truncated, unsupported)."""


class AnalysisCancelled(Cancelled):
    """The analysis was stopped through its cancel event."""

    def __init__(self) -> None:
        super().__init__("Layer analysis")


class _Readable(Protocol):
    """The only thing the analysis needs from its source: ``read(n)``."""

    def read(self, size: int = ..., /) -> bytes: ...


class EntryKind(str, Enum):
    """What a tar entry is."""

    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    OTHER = "other"


class ChangeKind(str, Enum):
    """How a layer changed a path relative to the layers below it."""

    ADDED = "added"
    MODIFIED = "modified"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One entry of a layer tar, as compact as we can keep it.

    ``path`` is the cleaned tar name without a leading slash (``etc/.wh.passwd`` for a whiteout);
    ``size`` is the tar header size (0 for directories and links), as dive counts it.
    """

    path: str
    size: int
    kind: EntryKind
    whiteout: bool = False
    opaque: bool = False

    @property
    def target(self) -> str:
        """The path this entry is about: the removed path for a whiteout, the directory made
        opaque for an opaque marker, else ``path``."""
        if self.opaque:
            return posixpath.dirname(self.path)
        if self.whiteout:
            head, name = posixpath.split(self.path)
            return posixpath.join(head, name[len(WHITEOUT_PREFIX) :])
        return self.path


@dataclass(frozen=True, slots=True)
class Change:
    """A path a layer added, modified or removed.

    ``size`` is the entry's size for added/modified paths and the size of everything removed
    (the whole subtree for a directory) for removed ones. ``path`` starts with ``/``.
    """

    path: str
    kind: ChangeKind
    size: int
    entry_kind: EntryKind


@dataclass(frozen=True, slots=True)
class Inefficiency:
    """A path dive counts against the image: seen as a leaf in two or more layers."""

    path: str
    count: int
    cumulative_size: int
    min_size: int


@dataclass(frozen=True)
class LayerInfo:
    """One layer, in manifest order (index 0 is the base)."""

    index: int
    tar_path: str
    id: str
    diff_id: str | None
    size_bytes: int
    created_by: str | None
    entries: tuple[FileEntry, ...] = field(repr=False)
    changes: tuple[Change, ...] = field(repr=False)

    @property
    def command(self) -> str:
        """The instruction that created the layer, shell noise removed ("" when unknown)."""
        return clean_command(self.created_by or "")

    def _count(self, kind: ChangeKind) -> int:
        return sum(1 for change in self.changes if change.kind is kind)

    def _bytes(self, kind: ChangeKind) -> int:
        return sum(change.size for change in self.changes if change.kind is kind)

    @property
    def added(self) -> int:
        """Number of paths this layer added."""
        return self._count(ChangeKind.ADDED)

    @property
    def modified(self) -> int:
        """Number of paths this layer replaced (they existed in an earlier layer)."""
        return self._count(ChangeKind.MODIFIED)

    @property
    def removed(self) -> int:
        """Number of paths this layer removed (whiteouts, opaque directories)."""
        return self._count(ChangeKind.REMOVED)

    @property
    def added_bytes(self) -> int:
        """Bytes of the paths this layer added."""
        return self._bytes(ChangeKind.ADDED)

    @property
    def modified_bytes(self) -> int:
        """Bytes of the new versions of the paths this layer replaced."""
        return self._bytes(ChangeKind.MODIFIED)

    @property
    def removed_bytes(self) -> int:
        """Bytes that the paths this layer removed used to occupy."""
        return self._bytes(ChangeKind.REMOVED)


@dataclass(eq=False)
class FileNode:
    """A node of a file tree a UI shows: a directory's ``size`` is the sum of its subtree.

    ``change`` is how the layer being viewed touched this path (None: untouched, or a directory
    that only holds changed paths); ``layer`` is the index of the layer that last wrote it
    (-1 for directories no layer listed).
    """

    name: str
    path: str
    kind: EntryKind
    size: int = 0
    change: ChangeKind | None = None
    layer: int = -1
    children: dict[str, FileNode] = field(default_factory=dict)

    @property
    def is_dir(self) -> bool:
        """True when the node can hold children."""
        return self.kind is EntryKind.DIR

    def sorted_children(self, by: str = "size", reverse: bool | None = None) -> list[FileNode]:
        """Children sorted by ``size`` (largest first) or ``name`` (A to Z) by default."""
        if by == "size":
            rev = True if reverse is None else reverse
            # Ties by name keep the order stable from one refresh to the next.
            by_name = sorted(self.children.values(), key=lambda n: n.name)
            return sorted(by_name, key=lambda n: n.size, reverse=rev)
        if by == "name":
            return sorted(self.children.values(), key=lambda n: n.name, reverse=bool(reverse))
        raise ValueError(f"unknown sort key {by!r} (use 'size' or 'name')")

    def walk(self) -> Iterator[FileNode]:
        """This node and every node below it, parents first."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(node.children.values())

    def find(self, path: str) -> FileNode | None:
        """The node at ``path`` (``/a/b`` or ``a/b``) below this one, or None."""
        node: FileNode | None = self
        for part in path.strip("/").split("/"):
            if not part:
                continue
            if node is None:
                return None
            node = node.children.get(part)
        return node


@dataclass(frozen=True)
class ImageAnalysis:
    """The result of analysing one image: layers, dive's figures, and trees on demand."""

    image: str
    layers: tuple[LayerInfo, ...]
    efficiency: float
    size_bytes: int
    user_size_bytes: int
    wasted_bytes: int
    wasted_user_percent: float
    inefficiencies: tuple[Inefficiency, ...]

    def layer_tree(self, index: int) -> FileNode:
        """The tree of what layer ``index`` changed (added, modified, removed paths)."""
        layer = self.layers[index]
        root = FileNode(name="/", path="/", kind=EntryKind.DIR)
        for change in layer.changes:
            node = _ensure_node(root, change.path)
            node.kind = change.entry_kind
            node.size = change.size
            node.change = change.kind
            node.layer = index
        _sum_sizes(root)
        return root

    def aggregated_tree(self, index: int) -> FileNode:
        """The image's file system after layers 0..``index``, with that layer's changes marked.

        Paths the layer removed stay in the tree, marked REMOVED, so a UI can show them struck
        out; they do not count in their parents' sizes.
        """
        if not 0 <= index < len(self.layers):
            raise IndexError(f"layer index {index} out of range")
        state = _FsState()
        for layer in self.layers[:index]:
            state.apply(layer.index, layer.entries)
        state.apply(index, self.layers[index].entries)
        root = FileNode(name="/", path="/", kind=EntryKind.DIR)
        _copy_state(state.root, root)
        for change in self.layers[index].changes:
            if change.kind is ChangeKind.REMOVED:
                continue
            node = root.find(change.path)
            if node is not None:
                node.change = change.kind
        _sum_sizes(root)
        for change in self.layers[index].changes:
            if change.kind is ChangeKind.REMOVED:
                node = _ensure_node(root, change.path)
                node.kind = change.entry_kind
                node.size = change.size
                node.change = ChangeKind.REMOVED
                node.layer = index
        return root

    def to_dict(self) -> dict[str, Any]:
        """The JSON document ``imagedeck layers --json`` prints."""
        return {
            "image": self.image,
            "layers": [
                {
                    "index": layer.index,
                    "id": layer.id,
                    "diff_id": layer.diff_id,
                    "size_bytes": layer.size_bytes,
                    "command": layer.command,
                    "added": layer.added,
                    "modified": layer.modified,
                    "removed": layer.removed,
                    "added_bytes": layer.added_bytes,
                    "modified_bytes": layer.modified_bytes,
                    "removed_bytes": layer.removed_bytes,
                }
                for layer in self.layers
            ],
            "efficiency": self.efficiency,
            "wasted_bytes": self.wasted_bytes,
            "user_size_bytes": self.user_size_bytes,
            "size_bytes": self.size_bytes,
            # JSON has no infinity: dive divides by a zero user size, we say "no figure".
            "wasted_user_percent": (
                self.wasted_user_percent if math.isfinite(self.wasted_user_percent) else None
            ),
            "inefficiencies": [
                {"path": item.path, "count": item.count, "cumulative_size": item.cumulative_size}
                for item in self.inefficiencies
            ],
        }


def clean_command(created_by: str) -> str:
    """A history ``created_by`` as the Dockerfile instruction (``/bin/sh -c #(nop)`` removed)."""
    text = created_by.strip()
    if text.startswith("/bin/sh -c #(nop) "):
        return text[len("/bin/sh -c #(nop) ") :].strip()
    if text.startswith("/bin/sh -c "):
        return "RUN " + text[len("/bin/sh -c ") :].strip()
    return text


# --------------------------------------------------------------------------------------------
# Reading the archive


class _CountingReader:
    """Counts bytes for progress and checks the cancel event on every block read."""

    def __init__(
        self,
        source: _Readable,
        total: int | None,
        progress: ProgressCallback | None,
        cancel: threading.Event | None,
    ) -> None:
        self._source = source
        self._total = total
        self._progress = progress
        self._cancel = cancel
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        """Read from the source, then report and honour cancellation."""
        self.check_cancel()
        data = self._source.read(size)
        self.count += len(data)
        if self._progress is not None and data:
            self._progress(self.count, self._total)
        return data

    def check_cancel(self) -> None:
        """Raise AnalysisCancelled when the cancel event is set."""
        if self._cancel is not None and self._cancel.is_set():
            raise AnalysisCancelled()


class _BlockReader:
    """Buffered, forward-only reading with cheap skips.

    tarfile's stream mode copies its whole buffer on every 512-byte header read, which made
    layers of many small files several times slower than `docker save` itself; this reader
    slices only what is asked for and skips file contents without copying them.
    """

    def __init__(self, source: _Readable) -> None:
        self._source = source
        self._buf = b""
        self._pos = 0

    def _fill(self, want: int) -> None:
        """Make at least ``want`` bytes available (fewer only at the end of the source)."""
        available = len(self._buf) - self._pos
        if available >= want:
            return
        parts = [self._buf[self._pos :]]
        while available < want:
            chunk = self._source.read(max(_BUFSIZE, want - available))
            if not chunk:
                break
            parts.append(chunk)
            available += len(chunk)
        self._buf = b"".join(parts)
        self._pos = 0

    def peek(self, size: int) -> bytes:
        """Up to ``size`` bytes without consuming them."""
        self._fill(size)
        return self._buf[self._pos : self._pos + size]

    def read_exact(self, size: int) -> bytes:
        """Exactly ``size`` bytes, or fewer at the end of the source."""
        self._fill(size)
        data = self._buf[self._pos : self._pos + size]
        self._pos += len(data)
        return data

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes: what is buffered, else one read of the source."""
        if size is None or size < 0:
            parts = [self._buf[self._pos :]]
            parts.extend(iter(lambda: self._source.read(_BUFSIZE), b""))
            self._buf, self._pos = b"", 0
            return b"".join(parts)
        if self._pos >= len(self._buf):
            self._buf, self._pos = b"", 0
            return self._source.read(size)
        data = self._buf[self._pos : self._pos + size]
        self._pos += len(data)
        return data

    def skip(self, size: int) -> int:
        """Drop ``size`` bytes; return how many there really were."""
        buffered = min(size, len(self._buf) - self._pos)
        self._pos += buffered
        skipped = buffered
        source_skip = getattr(self._source, "skip", None)
        if source_skip is not None and skipped < size:
            return skipped + int(source_skip(size - skipped))
        while skipped < size:
            chunk = self._source.read(min(_BUFSIZE, size - skipped))
            if not chunk:
                break
            skipped += len(chunk)
        return skipped


class _Bounded:
    """The data of one tar member as a stream of its own (reads stop at its end)."""

    def __init__(self, reader: _BlockReader, size: int) -> None:
        self._reader = reader
        self.remaining = size

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes of the member."""
        if self.remaining <= 0:
            return b""
        if size is None or size < 0:
            data = self._reader.read_exact(self.remaining)
        else:
            data = self._reader.read(min(size, self.remaining))
        self.remaining -= len(data)
        return data

    def skip(self, size: int) -> int:
        """Drop up to ``size`` bytes of the member without copying them."""
        done = self._reader.skip(min(size, self.remaining))
        self.remaining -= done
        return done


def _decompressed(reader: _BlockReader) -> _BlockReader:
    """``reader`` itself, or a reader of its decompressed content (gzip, bzip2, xz)."""
    head = reader.peek(6)
    if head.startswith(_GZIP_MAGIC):
        return _BlockReader(gzip.GzipFile(fileobj=reader, mode="rb"))  # type: ignore[call-overload]
    if head.startswith(b"BZh"):
        return _BlockReader(bz2.BZ2File(reader, mode="rb"))  # type: ignore[call-overload]
    if head.startswith(b"\xfd7zXZ\x00"):
        return _BlockReader(lzma.LZMAFile(reader, mode="rb"))  # type: ignore[arg-type]
    if head.startswith(_ZSTD_MAGIC):
        raise LayerAnalysisError("zstd-compressed layers or archives are not supported")
    return reader


# Types whose header size is not followed by data (Go's isHeaderOnlyType).
_HEADER_ONLY = frozenset(
    {
        tarfile.SYMTYPE,
        tarfile.LNKTYPE,
        tarfile.CHRTYPE,
        tarfile.BLKTYPE,
        tarfile.DIRTYPE,
        tarfile.FIFOTYPE,
    }
)
_ZERO_BLOCK = bytes(tarfile.BLOCKSIZE)
# GNU "ustar  " headers put other data where ustar has its name prefix.
_GNU_META = frozenset({tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK})
_REGULAR = frozenset({tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE, tarfile.GNUTYPE_SPARSE})


@dataclass(frozen=True, slots=True)
class _Member:
    """One tar header with the PAX and GNU long-name extensions applied."""

    name: str
    size: int
    type: bytes
    linkname: str
    mode: int


def _pax_records(data: bytes) -> dict[str, str]:
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0:
            break
        try:
            length = int(data[pos:space])
        except ValueError:
            raise LayerAnalysisError("A tar file in the image has a corrupt PAX header") from None
        if length <= 0:
            break
        key, _, value = data[space + 1 : pos + length - 1].partition(b"=")
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return records


def _number(field: bytes) -> int:
    """A numeric header field: NUL/space-terminated octal, or GNU base-256."""
    if field[:1] and field[0] & 0x80:
        value = int.from_bytes(field[1:], "big")
        if field[0] & 0x40:  # negative base-256 numbers never make sense for us
            raise ValueError("negative number in tar header")
        return value + ((field[0] & 0x3F) << (8 * (len(field) - 1)))
    text = field.split(b"\0", 1)[0].strip(b" ")
    return int(text, 8) if text else 0


def _text(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _parse_header(block: bytes) -> _Member:
    """A ustar/GNU/v7 header block (tarfile.TarInfo.frombuf does far more work per entry)."""
    expected = _number(block[148:156])
    # The checksum counts its own field as spaces; old tars summed signed bytes.
    unsigned = sum(block) - sum(block[148:156]) + 256
    if expected != unsigned and expected != unsigned - 2 * sum(b for b in block if b > 127):
        raise ValueError("bad checksum")
    name = _text(block[0:100])
    kind = block[156:157] or tarfile.REGTYPE
    if block[257:263] == b"ustar\x00" and kind not in _GNU_META:
        prefix = _text(block[345:500])
        if prefix:
            name = prefix + "/" + name
    if kind == tarfile.AREGTYPE and name.endswith("/"):
        kind = tarfile.DIRTYPE
    return _Member(
        name=name,
        size=_number(block[124:136]),
        type=kind,
        linkname=_text(block[157:257]),
        mode=_number(block[100:108]),
    )


def _walk_tar(
    reader: _BlockReader, check: Callable[[], None], what: str
) -> Iterator[tuple[_Member, _Bounded]]:
    """The members of a tar stream with their data; data left unread is skipped.

    ``what`` names the tar in error messages ("the image archive", "layer 3f2a/layer.tar").
    """
    pax_global: dict[str, str] = {}
    pending: dict[str, str] = {}
    first = True
    while True:
        check()
        block = reader.read_exact(tarfile.BLOCKSIZE)
        if not block:
            return  # no end-of-archive blocks (or an empty layer): Go's reader accepts it too
        if len(block) < tarfile.BLOCKSIZE:
            raise LayerAnalysisError(f"Cannot read {what}: it is truncated")
        if block == _ZERO_BLOCK:
            return  # the end-of-archive marker
        try:
            info = _parse_header(block)
        except ValueError as exc:
            problem = "it is not a tar file" if first else "a tar header is corrupt"
            raise LayerAnalysisError(f"Cannot read {what}: {problem} ({exc})") from None
        first = False
        kind = info.type
        size = info.size
        if kind in (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE):
            records = _pax_records(reader.read_exact(size))
            reader.skip(-size % tarfile.BLOCKSIZE)
            (pax_global if kind == tarfile.XGLTYPE else pending).update(records)
            continue
        if kind in (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK):
            text = reader.read_exact(size).split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            reader.skip(-size % tarfile.BLOCKSIZE)
            pending["path" if kind == tarfile.GNUTYPE_LONGNAME else "linkpath"] = text
            continue
        overrides = {**pax_global, **pending} if (pax_global or pending) else {}
        pending = {}
        name = overrides.get("path", info.name)
        if "size" in overrides:
            with contextlib.suppress(ValueError):
                size = int(overrides["size"])
        data_size = 0 if kind in _HEADER_ONLY else size
        data = _Bounded(reader, data_size)
        linkname = overrides.get("linkpath", info.linkname)
        yield _Member(_clean(name), size, kind, linkname, info.mode), data
        leftover = data.remaining + (-data_size % tarfile.BLOCKSIZE)
        if reader.skip(leftover) < leftover:
            raise LayerAnalysisError(f"Cannot read {what}: it is truncated")


def _entry_kind(member: _Member) -> EntryKind:
    # Go's tar FileInfo also treats S_IFDIR mode bits as a directory; dive relies on that.
    if member.type == tarfile.DIRTYPE or (member.mode & 0o170000) == 0o040000:
        return EntryKind.DIR
    if member.type == tarfile.SYMTYPE:
        return EntryKind.SYMLINK
    if member.type == tarfile.LNKTYPE:
        return EntryKind.HARDLINK
    if member.type in _REGULAR:
        return EntryKind.FILE
    return EntryKind.OTHER


def _clean(name: str) -> str:
    """Go's ``path.Clean`` of a tar name, minus the leading slash ("" for the root)."""
    return posixpath.normpath("/" + name).lstrip("/")


def _read_layer(source: _BlockReader, check: Callable[[], None], name: str) -> list[FileEntry]:
    """Walk one layer tar (plain or compressed) as a stream; keep only its entry list."""
    entries: list[FileEntry] = []
    for member, _data in _walk_tar(_decompressed(source), check, f"layer {name}"):
        path = member.name
        if not path:
            continue  # "./" is the layer root itself; dive skips it too
        name = posixpath.basename(path)
        entries.append(
            FileEntry(
                path=path,
                size=member.size,
                kind=_entry_kind(member),
                whiteout=name.startswith(WHITEOUT_PREFIX) and name != OPAQUE_MARKER,
                opaque=name == OPAQUE_MARKER,
            )
        )
    return entries


@dataclass
class _Archive:
    """What one pass over the outer tar collected."""

    layers: dict[str, list[FileEntry]] = field(default_factory=dict)
    json_docs: dict[str, Any] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    unsupported: dict[str, str] = field(default_factory=dict)


def _read_archive(counter: _CountingReader) -> _Archive:
    found = _Archive()
    outer = _decompressed(_BlockReader(counter))
    for member, data in _walk_tar(outer, counter.check_cancel, "the image archive"):
        name = member.name
        if member.type == tarfile.SYMTYPE:
            # Modern `docker save` makes <id>/layer.tar a relative symlink into blobs/.
            found.links[name] = _clean(posixpath.join(posixpath.dirname(name), member.linkname))
            continue
        if member.type == tarfile.LNKTYPE:
            found.links[name] = _clean(member.linkname)
            continue
        if member.type not in _REGULAR:
            continue
        is_blob = name.startswith("blobs/")
        is_json = name.endswith(".json")
        is_tar = name.endswith((".tar", ".tar.gz", ".tgz"))
        if not (is_blob or is_json or is_tar):
            continue  # VERSION, legacy <id>/json, repositories, oci-layout
        content = _BlockReader(data)
        head = content.peek(512)
        if head.lstrip()[:1] in (b"{", b"[") and member.size <= _MAX_JSON_BYTES:
            try:
                found.json_docs[name] = json.loads(content.read())
            except ValueError:
                if is_json:
                    message = f"{name} in the archive is not valid JSON"
                    raise LayerAnalysisError(message) from None
            continue
        if head.startswith(_ZSTD_MAGIC):
            found.unsupported[name] = "zstd-compressed layers are not supported"
            continue
        looks_tar = len(head) >= 262 and head[257:262] == b"ustar"
        if not (head.startswith(_GZIP_MAGIC) or looks_tar or is_tar or not head):
            continue  # some other blob we have no use for
        found.layers[name] = _read_layer(content, counter.check_cancel, name)
    return found


# --------------------------------------------------------------------------------------------
# Putting the layers in order


def _resolve(archive: _Archive, path: str) -> str:
    seen: set[str] = set()
    path = _clean(path)
    while path in archive.links and path not in seen:
        seen.add(path)
        path = archive.links[path]
    return path


def _blob_path(digest: str) -> str:
    algorithm, _, hexpart = digest.partition(":")
    return f"blobs/{algorithm}/{hexpart}"


def _manifest(archive: _Archive, platform: str | None = None) -> tuple[list[str], Any, str]:
    """(layer paths, config document or None, image name) from manifest.json or index.json.

    A multi-platform index (the containerd image store saves one) may list platforms whose
    manifest or layers are not in the archive (only the host's platform was pulled) and
    attestation manifests: the image analysed is ``platform`` (``os/arch[/variant]``) when
    given, else the first platform whose manifest and layers are all there.
    """
    manifest = archive.json_docs.get("manifest.json")
    index = archive.json_docs.get("index.json")
    if isinstance(manifest, list) and manifest and platform and not isinstance(index, dict):
        # A legacy archive holds one platform: the one this machine pulled.
        config = archive.json_docs.get(_resolve(archive, str(manifest[0].get("Config", ""))))
        have = platform_text({"platform": config}) if isinstance(config, dict) else ""
        if have and have != platform and have.rsplit("/", 1)[0] != platform:
            raise LayerAnalysisError(
                f"This machine has the image's {have} platform only, not {platform}: "
                f"pull it with --platform {platform} to analyse it."
            )
        platform = None
    if isinstance(manifest, list) and manifest and platform is None:
        # dive reads the first image of a multi-image archive; so do we.
        first = manifest[0]
        layers = [str(p) for p in first.get("Layers") or []]
        config = archive.json_docs.get(_resolve(archive, str(first.get("Config", ""))))
        tags = first.get("RepoTags") or []
        complete = all(_resolve(archive, path) in archive.layers for path in layers)
        if complete or not isinstance(index, dict):
            return layers, config, str(tags[0]) if tags else ""
        # Its layers are not all there (a platform that was not pulled): the index decides.
    if isinstance(index, dict):
        return _from_index(archive, index, platform)
    raise LayerAnalysisError(
        "The archive has no manifest.json or index.json: is it the output of `docker save`?"
    )


def platform_text(entry: Any) -> str:
    """``linux/amd64`` (``/v8`` variant appended) of an index entry; "" when it has none."""
    found = entry.get("platform") if isinstance(entry, dict) else None
    if not isinstance(found, dict):
        return ""
    text = f"{found.get('os', '')}/{found.get('architecture', '')}"
    return f"{text}/{found['variant']}" if found.get("variant") else text


def _is_attestation(entry: dict[str, Any]) -> bool:
    annotations = entry.get("annotations") or {}
    return (
        annotations.get("vnd.docker.reference.type") == "attestation-manifest"
        or platform_text(entry) == "unknown/unknown"
    )


def _from_index(
    archive: _Archive, index: dict[str, Any], platform: str | None
) -> tuple[list[str], Any, str]:
    name = ""
    listed: list[str] = []  # platforms the index names
    absent: list[str] = []  # ... whose manifest is not in the archive
    partial: list[str] = []  # ... whose manifest is, but not every layer
    stack: list[tuple[dict[str, Any], int]] = [(index, 0)]
    while stack:
        doc, depth = stack.pop(0)
        for entry in doc.get("manifests") or []:
            if not isinstance(entry, dict) or _is_attestation(entry):
                continue
            annotations = entry.get("annotations") or {}
            name = name or str(annotations.get("io.containerd.image.name", ""))
            child = archive.json_docs.get(_blob_path(str(entry.get("digest", ""))))
            label = platform_text(entry)
            if label:
                listed.append(label)
            if not isinstance(child, dict):
                if label:
                    absent.append(label)
                continue
            if "manifests" in child:
                if depth < 4:  # an index inside an index (how `docker save` wraps one)
                    stack.append((child, depth + 1))
                continue
            if "layers" not in child:
                continue
            config_doc = archive.json_docs.get(
                _blob_path(str((child.get("config") or {}).get("digest", "")))
            )
            if not label and isinstance(config_doc, dict):
                # An index without platforms (Engine 26's overlay2 save): the config says.
                label = platform_text({"platform": config_doc})
                if label:
                    listed.append(label)
            if platform and label and label != platform:
                continue
            layers = [_blob_path(str(layer.get("digest", ""))) for layer in child["layers"]]
            if not all(_resolve(archive, path) in archive.layers for path in layers):
                partial.append(label or str(entry.get("digest", ""))[:19])
                if platform:
                    break
                continue
            return layers, config_doc, name
    if platform and platform not in listed:
        shown = ", ".join(listed) or "none"
        raise LayerAnalysisError(f"The image has no {platform} platform (it has: {shown}).")
    if platform:
        raise LayerAnalysisError(
            f"The {platform} platform of this image is not on this machine (only its entry in "
            "the image index is): pull it with --platform to analyse it."
        )
    if listed and len(absent) + len(partial) >= len(listed):
        raise LayerAnalysisError(
            f"None of the image's platforms ({', '.join(listed)}) is complete in the archive: "
            "only the index was saved, not a platform's layers. Pull one platform first."
        )
    raise LayerAnalysisError(
        "The archive's index.json names no image manifest that is in the archive: is it the "
        "output of `docker save`?"
    )


def _layer_id(path: str) -> str:
    if path.startswith("blobs/"):
        parts = path.split("/")
        return f"{parts[1]}:{parts[2]}" if len(parts) >= 3 else path
    return posixpath.dirname(path) or path


def _history(config: Any, count: int) -> list[str | None]:
    """One created_by per layer: non-empty history entries map to layers in order (as dive)."""
    history = config.get("history") if isinstance(config, dict) else None
    commands: list[str | None] = [None] * count
    if not isinstance(history, list):
        return commands
    with_layer = [h for h in history if isinstance(h, dict) and not h.get("empty_layer")]
    for idx, entry in enumerate(with_layer[:count]):
        commands[idx] = str(entry.get("created_by", ""))
    return commands


# --------------------------------------------------------------------------------------------
# Our change model: a live file system state, replayed layer by layer


class _FsNode:
    __slots__ = ("children", "kind", "layer", "size")

    def __init__(self, kind: EntryKind, size: int = 0, layer: int = -1) -> None:
        self.kind = kind
        self.size = size
        self.layer = layer
        self.children: dict[str, _FsNode] | None = {} if kind is EntryKind.DIR else None

    def subtree_size(self) -> int:
        total = self.size if self.kind is not EntryKind.DIR else 0
        stack = list((self.children or {}).values())
        while stack:
            node = stack.pop()
            if node.kind is EntryKind.DIR:
                stack.extend((node.children or {}).values())
            else:
                total += node.size
        return total


class _FsState:
    """The merged file system after some layers, with OCI whiteout semantics."""

    def __init__(self) -> None:
        self.root = _FsNode(EntryKind.DIR)

    def get(self, path: str) -> _FsNode | None:
        node: _FsNode | None = self.root
        for part in path.split("/"):
            if node is None or node.children is None:
                return None
            node = node.children.get(part)
        return node

    def _parent(self, path: str, layer: int) -> dict[str, _FsNode]:
        node = self.root
        head = posixpath.dirname(path)
        for part in head.split("/") if head else []:
            assert node.children is not None
            child = node.children.get(part)
            if child is None or child.children is None:
                # A missing (or non-directory) parent becomes an implied directory.
                child = _FsNode(EntryKind.DIR, layer=layer)
                node.children[part] = child
            node = child
        assert node.children is not None
        return node.children

    def _remove(self, path: str) -> None:
        if not path:
            return
        parent = self.get(posixpath.dirname(path)) if "/" in path else self.root
        if parent is not None and parent.children is not None:
            parent.children.pop(posixpath.basename(path), None)

    def apply(self, layer: int, entries: Iterable[FileEntry]) -> list[Change]:
        """Apply one layer; return what it changed relative to the state before it."""
        entries = list(entries)
        changes: list[Change] = []
        written = {e.path for e in entries if not (e.whiteout or e.opaque)}
        existed: set[str] = set()
        # Whiteouts hide lower layers only, so they apply before this layer's own entries.
        for entry in entries:
            if entry.whiteout:
                target = entry.target
                node = self.get(target)
                if node is not None:
                    changes.append(
                        Change("/" + target, ChangeKind.REMOVED, node.subtree_size(), node.kind)
                    )
                    self._remove(target)
            elif entry.opaque:
                directory = entry.target
                node = self.root if not directory else self.get(directory)
                if node is None or node.children is None:
                    continue
                for name, child in list(node.children.items()):
                    child_path = f"{directory}/{name}" if directory else name
                    self._opaque_sweep(child_path, child, written, existed, changes)
                    node.children.pop(name)
        for entry in entries:
            if entry.whiteout or entry.opaque:
                continue
            before = self.get(entry.path)
            parent = self._parent(entry.path, layer)
            name = posixpath.basename(entry.path)
            if entry.kind is EntryKind.DIR:
                if before is not None and before.children is not None:
                    # A directory re-listed by a later layer keeps its contents.
                    before.layer = layer
                    before.size = entry.size
                    continue
                parent[name] = _FsNode(EntryKind.DIR, entry.size, layer)
                if before is not None:
                    changes.append(Change("/" + entry.path, ChangeKind.MODIFIED, 0, EntryKind.DIR))
                elif entry.path not in existed:
                    changes.append(Change("/" + entry.path, ChangeKind.ADDED, 0, EntryKind.DIR))
                continue
            parent[name] = _FsNode(entry.kind, entry.size, layer)
            kind = (
                ChangeKind.MODIFIED
                if before is not None or entry.path in existed
                else ChangeKind.ADDED
            )
            changes.append(Change("/" + entry.path, kind, entry.size, entry.kind))
        return changes

    def _opaque_sweep(
        self,
        path: str,
        node: _FsNode,
        written: set[str],
        existed: set[str],
        changes: list[Change],
    ) -> None:
        """Under an opaque directory: what this layer rewrites is modified, the rest removed."""
        if path not in written:
            changes.append(Change("/" + path, ChangeKind.REMOVED, node.subtree_size(), node.kind))
            return
        existed.add(path)
        for name, child in (node.children or {}).items():
            self._opaque_sweep(f"{path}/{name}", child, written, existed, changes)


def _ensure_node(root: FileNode, path: str) -> FileNode:
    node = root
    parts = [p for p in path.strip("/").split("/") if p]
    for depth, part in enumerate(parts):
        child = node.children.get(part)
        if child is None:
            child = FileNode(name=part, path="/" + "/".join(parts[: depth + 1]), kind=EntryKind.DIR)
            node.children[part] = child
        node = child
    return node


def _copy_state(src: _FsNode, dst: FileNode) -> None:
    stack = [(src, dst)]
    while stack:
        state_node, tree_node = stack.pop()
        for name, child in (state_node.children or {}).items():
            path = tree_node.path.rstrip("/") + "/" + name
            copied = FileNode(
                name=name, path=path, kind=child.kind, size=child.size, layer=child.layer
            )
            tree_node.children[name] = copied
            if child.children is not None:
                stack.append((child, copied))


def _sum_sizes(root: FileNode) -> int:
    """Set every directory's size to the sum of its children (files keep their own)."""
    order: list[FileNode] = []
    stack = [root]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(node.children.values())
    for node in reversed(order):
        if node.children:
            node.size = sum(
                c.size for c in node.children.values() if c.change is not ChangeKind.REMOVED
            )
        elif node.kind is EntryKind.DIR and node.change is not ChangeKind.REMOVED:
            node.size = 0
    return root.size


# --------------------------------------------------------------------------------------------
# dive's efficiency, replicated


class _DiveNode:
    """A node of dive's FileTree: implied parents get an empty payload (size 0, not a dir)."""

    __slots__ = ("children", "is_dir", "size")

    def __init__(self, size: int = 0, is_dir: bool = False) -> None:
        self.size = size
        self.is_dir = is_dir
        self.children: dict[str, _DiveNode] = {}


def _dive_add(root: _DiveNode, path: str, size: int, is_dir: bool) -> None:
    """dive's ``FileTree.AddPath``."""
    node = root
    names = [n for n in path.strip("/").split("/") if n]
    for idx, name in enumerate(names):
        child = node.children.get(name)
        if child is None:
            # dive never adds ".wh..wh.." names (opaque markers): they vanish from its trees.
            if name.startswith(_DOUBLE_WHITEOUT_PREFIX):
                return
            child = _DiveNode()
            node.children[name] = child
        node = child
        if idx == len(names) - 1:
            node.size = size
            node.is_dir = is_dir


def _dive_tree(entries: Iterable[FileEntry]) -> _DiveNode:
    root = _DiveNode(is_dir=True)
    for entry in entries:
        _dive_add(root, entry.path, entry.size, entry.kind is EntryKind.DIR)
    return root


def _dive_get(root: _DiveNode, path: str) -> _DiveNode | None:
    """dive's ``FileTree.GetNode``."""
    node = root
    for name in path.strip("/").split("/"):
        if not name:
            continue
        child = node.children.get(name)
        if child is None:
            return None
        node = child
    return node


def _dive_visit(root: _DiveNode) -> Iterator[tuple[str, _DiveNode, bool]]:
    """dive's ``VisitDepthChildFirst`` (children by name, then the node; never the root).

    Yields each node's ``Path()`` (the whiteout prefix stripped from its own name only), the
    node, and whether it is a whiteout (``IsWhiteout``: its name starts with ``.wh.``).
    """

    def visit(node: _DiveNode, parts: list[str]) -> Iterator[tuple[str, _DiveNode, bool]]:
        for name in sorted(node.children):
            parts.append(name)
            yield from visit(node.children[name], parts)
            parts.pop()
        if parts:
            last = parts[-1]
            whiteout = last.startswith(WHITEOUT_PREFIX)
            if whiteout:
                last = last[len(WHITEOUT_PREFIX) :]
            yield "/" + "/".join([*parts[:-1], last]), node, whiteout

    yield from visit(root, [])


def _dive_stack(lower: _DiveNode, upper: _DiveNode) -> None:
    """dive's ``FileTree.Stack``: whiteouts remove, everything else overwrites the payload."""
    for path, node, whiteout in list(_dive_visit(upper)):
        if whiteout:
            head, _, name = path.rpartition("/")
            parent = _dive_get(lower, head)
            if parent is not None:
                parent.children.pop(name, None)  # dive ignores a failed RemovePath
        else:
            _dive_add(lower, path, node.size, node.is_dir)


def _dive_copy(node: _DiveNode) -> _DiveNode:
    copied = _DiveNode(node.size, node.is_dir)
    copied.children = {name: _dive_copy(child) for name, child in node.children.items()}
    return copied


def _dive_subtree_size(node: _DiveNode) -> int:
    total = 0
    stack = [node]
    while stack:
        current = stack.pop()
        total += current.size  # dive adds every node's own size, directories included
        stack.extend(current.children.values())
    return total


def _dive_efficiency(layers: list[list[FileEntry]]) -> tuple[float, list[Inefficiency]]:
    """``filetree.Efficiency`` from dive.

    For layer k, a whiteout looks its path up in StackTreeRange(trees, 0, k-1): a copy of layer
    0 with layers 0..k-1 stacked on it (for k = 0, layer 0 alone); we keep that tree up to date
    incrementally instead of rebuilding it per whiteout. A whiteout whose path is missing there
    makes dive's visitor fail, which stops the walk of that layer (the remaining leaves of the
    layer are not counted) and leaves the path recorded with a minimum size of -1; we do the same
    so the figures stay equal to dive's.
    """
    if not layers:
        return 1.0, []
    # path -> [cumulative size, minimum size, copies]
    stats: dict[str, list[int]] = {}
    order: list[str] = []
    stacked: _DiveNode | None = None
    for entries in layers:
        tree = _dive_tree(entries)
        if stacked is None:
            stacked = _dive_copy(tree)
        for path, node, whiteout in _dive_visit(tree):
            if node.children:
                continue  # only leaves count
            data = stats.get(path)
            if data is None:
                data = stats[path] = [0, -1, 0]
            if whiteout:
                previous = _dive_get(stacked, path)
                if previous is None:
                    break  # dive's visitor returns an error here: the rest of the layer is skipped
                size = _dive_subtree_size(previous) if previous.is_dir else 0
            else:
                size = node.size
            data[0] += size
            if data[1] < 0 or size < data[1]:
                data[1] = size
            data[2] += 1
            if data[2] == 2:
                order.append(path)
        _dive_stack(stacked, tree)
    minimum = sum(d[1] for d in stats.values())
    discovered = sum(d[0] for d in stats.values())
    score = 1.0 if discovered == 0 else minimum / discovered
    found = [Inefficiency(p, stats[p][2], stats[p][0], stats[p][1]) for p in order]
    found.sort(key=lambda item: (-item.cumulative_size, item.path))
    return score, found


# --------------------------------------------------------------------------------------------
# Public entry points


def analyze_stream(
    stream: _Readable,
    *,
    name: str = "",
    total: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    platform: str | None = None,
) -> ImageAnalysis:
    """Analyse a `docker save` archive read once from ``stream`` (needs only ``read()``).

    The archive may be plain or gzip-compressed, in the legacy or the OCI layout, with plain or
    gzip layers. ``progress(bytes_read, total)`` is called as blocks arrive; setting ``cancel``
    stops the analysis with AnalysisCancelled at the next block. Raises LayerAnalysisError
    when the stream is not a usable archive. The caller closes ``stream``.
    """
    counter = _CountingReader(stream, total, progress, cancel)
    try:
        archive = _read_archive(counter)
    except (tarfile.TarError, EOFError, gzip.BadGzipFile, OSError, lzma.LZMAError) as exc:
        raise LayerAnalysisError(f"Cannot read the image archive: {exc}") from exc
    counter.check_cancel()
    # A multi-platform archive: the chosen platform, else the first one that is all there.
    layer_paths, config, image_name = _manifest(archive, platform)
    ordered: list[list[FileEntry]] = []
    resolved_paths: list[str] = []
    for path in layer_paths:
        resolved = _resolve(archive, path)
        if resolved not in archive.layers:
            reason = archive.unsupported.get(resolved, "it is missing from the archive")
            raise LayerAnalysisError(f"Cannot read layer {path}: {reason}")
        ordered.append(archive.layers[resolved])
        resolved_paths.append(resolved)

    commands = _history(config, len(ordered))
    diff_ids: list[Any] = []
    if isinstance(config, dict):
        diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])

    state = _FsState()
    layers: list[LayerInfo] = []
    for index, entries in enumerate(ordered):
        counter.check_cancel()
        changes = state.apply(index, entries)
        layers.append(
            LayerInfo(
                index=index,
                tar_path=layer_paths[index],
                id=_layer_id(resolved_paths[index]),
                diff_id=str(diff_ids[index]) if index < len(diff_ids) else None,
                # dive's layer size: the sum of the tar header sizes of its entries.
                size_bytes=sum(entry.size for entry in entries),
                created_by=commands[index],
                entries=tuple(entries),
                changes=tuple(changes),
            )
        )
    del state

    efficiency, inefficiencies = _dive_efficiency(ordered)
    size_bytes = sum(layer.size_bytes for layer in layers)
    user_size = sum(layer.size_bytes for layer in layers[1:])
    wasted = sum(item.cumulative_size for item in inefficiencies)
    if user_size:
        wasted_percent = wasted / user_size
    else:
        # dive divides by zero here (NaN or +Inf in Go); keep that meaning without raising.
        wasted_percent = 0.0 if wasted == 0 else math.inf
    return ImageAnalysis(
        image=name or image_name,
        layers=tuple(layers),
        efficiency=efficiency,
        size_bytes=size_bytes,
        user_size_bytes=user_size,
        wasted_bytes=wasted,
        wasted_user_percent=wasted_percent,
        inefficiencies=tuple(inefficiencies),
    )


def analyze_path(
    path: str | Path,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> ImageAnalysis:
    """Analyse a `docker save` archive file (plain or gzip-compressed)."""
    archive_path = Path(path)
    try:
        handle = archive_path.open("rb")
    except OSError as exc:
        raise LayerAnalysisError(f"Cannot open {archive_path}: {exc.strerror or exc}") from exc
    with contextlib.closing(handle):
        total = archive_path.stat().st_size
        return analyze_stream(
            handle, name=str(archive_path), total=total, progress=progress, cancel=cancel
        )
