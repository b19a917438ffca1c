"""The analysis's data: entries, changes, file trees, errors (no I/O here)."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from tui.service.errors import Cancelled, ImagedeckError

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
# dive drops every name with this prefix (opaque markers and other aufs metadata).
DOUBLE_WHITEOUT_PREFIX = ".wh..wh.."

# Large reads keep Python's per-call overhead small next to the bytes moved.
BUFSIZE = 1 << 20
# JSON documents (manifest, config, index) are tiny; anything bigger is not one of them.
MAX_JSON_BYTES = 64 << 20
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

ProgressCallback = Callable[[int, "int | None"], None]
"""Called with (bytes read so far, total bytes or None when unknown)."""


class LayerAnalysisError(ImagedeckError):
    """The archive cannot be analysed (not a `docker save` archive, truncated, unsupported)."""


class AnalysisCancelled(Cancelled):
    """The analysis was stopped through its cancel event."""

    def __init__(self) -> None:
        super().__init__("Layer analysis")


class Readable(Protocol):
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


def clean_command(created_by: str) -> str:
    """A history ``created_by`` as the Dockerfile instruction (``/bin/sh -c #(nop)`` removed)."""
    text = created_by.strip()
    if text.startswith("/bin/sh -c #(nop) "):
        return text[len("/bin/sh -c #(nop) ") :].strip()
    if text.startswith("/bin/sh -c "):
        return "RUN " + text[len("/bin/sh -c ") :].strip()
    return text
