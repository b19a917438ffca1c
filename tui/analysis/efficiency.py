"""dive's efficiency (``filetree/efficiency.go``), replicated quirk for quirk, so a CI gate
written for dive gives the same verdict here."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from tui.analysis.gosort import go_sort
from tui.analysis.model import (
    DOUBLE_WHITEOUT_PREFIX,
    WHITEOUT_PREFIX,
    EntryKind,
    FileEntry,
    Inefficiency,
)


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
            if name.startswith(DOUBLE_WHITEOUT_PREFIX):
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


def dive_efficiency(layers: list[list[FileEntry]]) -> tuple[float, list[Inefficiency]]:
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
    # dive: sort.Sort by cumulative size (ascending, unstable), then listed in reverse.
    sizes = [stats[p][0] for p in order]
    found = [
        Inefficiency(p, stats[p][2], stats[p][0], stats[p][1])
        for p in (order[k] for k in reversed(go_sort(sizes)))
    ]
    return score, found
