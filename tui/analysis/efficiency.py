"""dive's efficiency (``filetree/efficiency.go``), replicated quirk for quirk, so a CI gate
written for dive gives the same verdict here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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


def _dive_subtree_size(node: _DiveNode) -> int:
    total = 0
    stack = [node]
    while stack:
        current = stack.pop()
        total += current.size  # dive adds every node's own size, directories included
        stack.extend(current.children.values())
    return total


# Sorts after every name: a parent is visited after its children (post-order).
_LAST = "\U0010ffff" * 4
_LAST_BYTES = b"\xff" * 16


def _visit_order(nodes: dict[str, tuple[int, bool]]) -> tuple[list[str], set[str]]:
    """dive's ``VisitDepthChildFirst`` order of a layer tree's nodes, and its inner nodes.

    ``nodes`` holds the layer's paths; the tree also has their implied parents. Children come
    in ``sort.Strings`` order of their names (bytes: the same as code points for valid UTF-8),
    each parent after its children; the root is never visited. Returns (every path in that
    order, the paths that have children). Sorting whole paths by their name lists, with a
    name that sorts last appended, gives that order without building the tree.
    """
    parents: set[str] = set()
    for path in nodes:
        head = path
        while (cut := head.rfind("/")) >= 0:
            head = head[:cut]
            if head in parents:
                break
            parents.add(head)
    every = list(nodes)
    every.extend(head for head in parents if head not in nodes)
    if all(path.isascii() for path in every):
        every.sort(key=lambda path: [*path.split("/"), _LAST])
    else:
        # Go compares names as bytes; names that are not valid UTF-8 came as surrogates.
        every.sort(
            key=lambda path: [
                *(part.encode("utf-8", "surrogateescape") for part in path.split("/")),
                _LAST_BYTES,
            ]
        )
    return every, parents


def _layer_nodes(entries: Iterable[FileEntry]) -> dict[str, tuple[int, bool]]:
    """A layer's paths with dive's payload (size, is a directory); the last entry of a path wins.

    dive never adds a name starting with ``.wh..wh..`` (opaque markers and other aufs
    metadata), nor anything below one.
    """
    nodes: dict[str, tuple[int, bool]] = {}
    dir_kind = EntryKind.DIR
    for entry in entries:
        path = entry.path
        if DOUBLE_WHITEOUT_PREFIX in path and any(
            part.startswith(DOUBLE_WHITEOUT_PREFIX) for part in path.split("/")
        ):
            continue
        nodes[path] = (entry.size, entry.kind is dir_kind)
    return nodes


def _target(path: str) -> tuple[str, bool]:
    """(the path dive reports, is a whiteout): ``Path()`` strips ``.wh.`` from the last name."""
    cut = path.rfind("/") + 1
    if path.startswith(WHITEOUT_PREFIX, cut):
        return "/" + path[:cut] + path[cut + len(WHITEOUT_PREFIX) :], True
    return "/" + path, False


def _set_payload(root: _DiveNode, path: str, size: int, is_dir: bool) -> None:
    """dive's ``AddPath`` for a path known to hold no ``.wh..wh..`` name."""
    node = root
    for name in path.split("/"):
        child = node.children.get(name)
        if child is None:
            child = node.children[name] = _DiveNode()
        node = child
    node.size = size
    node.is_dir = is_dir


def _stack_layer(stacked: _DiveNode, order: list[str], nodes: dict[str, tuple[int, bool]]) -> None:
    """dive's ``FileTree.Stack``: in visit order, whiteouts remove, every other node (implied
    parents too, with an empty payload) overwrites or adds its payload."""
    for path in order:
        target, whiteout = _target(path) if WHITEOUT_PREFIX in path else ("", False)
        if whiteout:
            head, _, name = target.rpartition("/")
            parent = _dive_get(stacked, head)
            if parent is not None:
                parent.children.pop(name, None)  # dive ignores a failed RemovePath
        else:
            size, is_dir = nodes.get(path, (0, False))
            _set_payload(stacked, path, size, is_dir)


LayerTree = tuple[dict[str, tuple[int, bool]], list[str], set[str]]
"""One layer as dive's efficiency needs it: paths and payloads, visit order, inner nodes."""


def layer_tree(entries: Iterable[FileEntry]) -> LayerTree:
    """What ``dive_efficiency`` needs of one layer; independent of the other layers, so it
    can be worked out as each layer arrives, while the rest of the archive streams in."""
    nodes = _layer_nodes(entries)
    order, parents = _visit_order(nodes)
    return nodes, order, parents


def dive_efficiency(
    layers: list[list[FileEntry]], prepared: Sequence[LayerTree | None] | None = None
) -> tuple[float, list[Inefficiency]]:
    """``filetree.Efficiency`` from dive (``prepared``: ``layer_tree`` of each layer, or None).

    For layer k, a whiteout looks its path up in StackTreeRange(trees, 0, k-1): a copy of layer
    0 with layers 0..k-1 stacked on it (for k = 0, layer 0 alone); that tree is kept up to date
    incrementally, and only as long as a later layer has a whiteout to look up. A whiteout
    whose path is missing there makes dive's visitor fail, which stops the walk of that layer
    (the remaining leaves of the layer are not counted) and leaves the path recorded with a
    minimum size of -1; we do the same so the figures stay equal to dive's.
    """
    if not layers:
        return 1.0, []
    given = list(prepared) if prepared is not None else [None] * len(layers)
    ready = [
        layer_tree(entries) if tree is None else tree
        for entries, tree in zip(layers, given, strict=True)
    ]
    trees = [nodes for nodes, _, _ in ready]
    visits = [(order, parents) for _, order, parents in ready]
    # Leaves only count; a whiteout that is a leaf needs the stacked tree of the layers below.
    needs_stack = [
        any(_target(p)[1] for p in order if WHITEOUT_PREFIX in p and p not in parents)
        for order, parents in visits
    ]
    last_lookup = max((k for k, needed in enumerate(needs_stack) if needed), default=-1)
    stacked: _DiveNode | None = None
    if last_lookup >= 0:
        stacked = _DiveNode(is_dir=True)
        for path, (size, is_dir) in trees[0].items():  # trees[0].Copy()
            _set_payload(stacked, path, size, is_dir)
    # path -> [cumulative size, minimum size, copies]
    stats: dict[str, list[int]] = {}
    order: list[str] = []
    for index, (nodes, (visit, parents)) in enumerate(zip(trees, visits, strict=True)):
        for path in visit:
            if path in parents:
                continue  # only leaves count
            if WHITEOUT_PREFIX in path:
                target, whiteout = _target(path)
            else:
                target, whiteout = "/" + path, False
            data = stats.get(target)
            if data is None:
                data = stats[target] = [0, -1, 0]
            if whiteout:
                assert stacked is not None
                previous = _dive_get(stacked, target)
                if previous is None:
                    break  # dive's visitor returns an error here: the rest of the layer is skipped
                size = _dive_subtree_size(previous) if previous.is_dir else 0
            else:
                size = nodes[path][0]
            data[0] += size
            if data[1] < 0 or size < data[1]:
                data[1] = size
            data[2] += 1
            if data[2] == 2:
                order.append(target)
        if stacked is not None and index < last_lookup:
            if index == 0:
                # Layer 0 onto its own copy: every payload is already there; only its
                # whiteouts change anything.
                _stack_layer(stacked, [p for p in visit if WHITEOUT_PREFIX in p], nodes)
            else:
                _stack_layer(stacked, visit, nodes)
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
