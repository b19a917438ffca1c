"""One analysed image (``ImageAnalysis``) and its layers (``LayerInfo``).

Dive's figures, and the trees a UI shows built on demand from the change model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from tui.analysis.changes import FsState, copy_state, ensure_node, sum_sizes
from tui.analysis.model import (
    Change,
    ChangeKind,
    EntryKind,
    FileEntry,
    FileNode,
    Inefficiency,
    clean_command,
)


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
            node = ensure_node(root, change.path)
            node.kind = change.entry_kind
            node.size = change.size
            node.change = change.kind
            node.layer = index
        sum_sizes(root)
        return root

    def aggregated_tree(self, index: int) -> FileNode:
        """The image's file system after layers 0..``index``, with that layer's changes marked.

        Paths the layer removed stay in the tree, marked REMOVED, so a UI can show them struck
        out; they do not count in their parents' sizes.
        """
        if not 0 <= index < len(self.layers):
            raise IndexError(f"layer index {index} out of range")
        state = FsState()
        for layer in self.layers[:index]:
            state.apply(layer.index, layer.entries)
        state.apply(index, self.layers[index].entries)
        root = FileNode(name="/", path="/", kind=EntryKind.DIR)
        copy_state(state.root, root)
        for change in self.layers[index].changes:
            if change.kind is ChangeKind.REMOVED:
                continue
            node = root.find(change.path)
            if node is not None:
                node.change = change.kind
        sum_sizes(root)
        for change in self.layers[index].changes:
            if change.kind is ChangeKind.REMOVED:
                node = ensure_node(root, change.path)
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
