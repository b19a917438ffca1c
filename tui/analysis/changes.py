"""Our change model: a live file system state replayed layer by layer (OCI whiteouts), and
the trees a UI shows. It never feeds dive's figures."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from tui.analysis.model import Change, ChangeKind, EntryKind, FileEntry, FileNode


class FsNode:
    __slots__ = ("children", "kind", "layer", "size")

    def __init__(self, kind: EntryKind, size: int = 0, layer: int = -1) -> None:
        self.kind = kind
        self.size = size
        self.layer = layer
        self.children: dict[str, FsNode] | None = {} if kind is EntryKind.DIR else None

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


class FsState:
    """The merged file system after some layers, with OCI whiteout semantics."""

    def __init__(self) -> None:
        self.root = FsNode(EntryKind.DIR)

    def get(self, path: str) -> FsNode | None:
        node: FsNode | None = self.root
        for part in path.split("/"):
            if node is None or node.children is None:
                return None
            node = node.children.get(part)
        return node

    def _parent(self, path: str, layer: int) -> dict[str, FsNode]:
        node = self.root
        head = posixpath.dirname(path)
        for part in head.split("/") if head else []:
            assert node.children is not None
            child = node.children.get(part)
            if child is None or child.children is None:
                # A missing (or non-directory) parent becomes an implied directory.
                child = FsNode(EntryKind.DIR, layer=layer)
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
        append = changes.append
        existed: set[str] = set()
        # Whiteouts hide lower layers only, so they apply before this layer's own entries.
        if any(e.whiteout or e.opaque for e in entries):
            written = {e.path for e in entries if not (e.whiteout or e.opaque)}
            for entry in entries:
                if entry.whiteout:
                    target = entry.target
                    node = self.get(target)
                    if node is not None:
                        append(
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
        dir_kind = EntryKind.DIR
        added, modified = ChangeKind.ADDED, ChangeKind.MODIFIED
        # Entries come grouped by directory: the last directory's children are kept at hand
        # (and dropped when that directory, or one above it, is replaced).
        cached_head: str | None = None
        cached: dict[str, FsNode] = {}
        for entry in entries:
            if entry.whiteout or entry.opaque:
                continue
            path = entry.path
            cut = path.rfind("/")
            head, name = (path[:cut], path[cut + 1 :]) if cut >= 0 else ("", path)
            if head != cached_head:
                cached = self._parent(path, layer)
                cached_head = head
            parent = cached
            before = parent.get(name)
            if entry.kind is dir_kind:
                if before is not None and before.children is not None:
                    # A directory re-listed by a later layer keeps its contents.
                    before.layer = layer
                    before.size = entry.size
                    continue
                parent[name] = FsNode(dir_kind, entry.size, layer)
                if before is not None:
                    append(Change("/" + path, modified, 0, dir_kind))
                elif path not in existed:
                    append(Change("/" + path, added, 0, dir_kind))
            else:
                parent[name] = FsNode(entry.kind, entry.size, layer)
                kind = modified if before is not None or path in existed else added
                append(Change("/" + path, kind, entry.size, entry.kind))
            if before is not None and before.children is not None and cached_head is not None:
                if cached_head == path or cached_head.startswith(path + "/"):
                    cached_head = None  # the directory at hand was replaced
        return changes

    def _opaque_sweep(
        self,
        path: str,
        node: FsNode,
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


def ensure_node(root: FileNode, path: str) -> FileNode:
    node = root
    parts = [p for p in path.strip("/").split("/") if p]
    for depth, part in enumerate(parts):
        child = node.children.get(part)
        if child is None:
            child = FileNode(name=part, path="/" + "/".join(parts[: depth + 1]), kind=EntryKind.DIR)
            node.children[part] = child
        node = child
    return node


def copy_state(src: FsNode, dst: FileNode) -> None:
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


def sum_sizes(root: FileNode) -> int:
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
