"""A JSON document as a Tree that adds a node's children only when the node expands.

Also the path language of the inspect screen: ``.Config.Env``, ``.RootFS.Layers[0]``,
``{{.Size}}``, ``{{json .Config.Env}}``, ``{{index .Config.Labels "a.b"}}``, and a search over
keys and values. The path and search helpers are pure functions, so they are tested without a UI.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

JsonKey = str | int
JsonPath = tuple[JsonKey, ...]

# Value colours by JSON type; the type is also readable without colour (quotes, brackets).
KEY_STYLE = "bold #5fafff"
STRING_STYLE = "#87d787"
NUMBER_STYLE = "#5fd7d7"
BOOL_STYLE = "#ffd75f"
NULL_STYLE = "italic #d787d7"
SUMMARY_STYLE = "dim"
# Very long strings are cut in the tree row (the query result and `y` give them whole).
MAX_LABEL_STRING = 300

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TOKEN = re.compile(
    r"""\s*(?:
        \.(?P<name>[A-Za-z_][A-Za-z0-9_-]*)
      | \[\s*(?P<index>-?\d+)\s*\]
      | \[\s*"(?P<quoted>(?:[^"\\]|\\.)*)"\s*\]
    )""",
    re.VERBOSE,
)


class PathError(ValueError):
    """A path that cannot be parsed or does not exist; the message says which part failed."""


def format_path(path: JsonPath) -> str:
    """``("Config", "Env", 0)`` → ``.Config.Env[0]``; odd keys use ``["a.b"]``."""
    if not path:
        return "."
    parts: list[str] = []
    for key in path:
        if isinstance(key, int):
            parts.append(f"[{key}]")
        elif _IDENT.match(key):
            parts.append(f".{key}")
        else:
            parts.append("[" + json.dumps(key) + "]")
    return "".join(parts)


def parse_path(text: str) -> JsonPath:
    """Parse a path as people type it after `docker inspect -f`.

    Accepts ``.Config.Env``, ``.RootFS.Layers[0]``, ``.Config.Labels["org.x"]``, and the Go
    template forms ``{{.Size}}``, ``{{json .Config.Env}}`` and ``{{index .RootFS.Layers 0}}``.
    """
    source = text.strip()
    if source.startswith(".{{"):  # `.` opened the query, then a template was typed
        source = source[1:]
    if source.startswith("{{") and source.endswith("}}"):
        source = source[2:-2].strip()
    if source.startswith("json "):
        source = source[len("json ") :].strip()
    if source.startswith("index "):
        source = _from_index(source[len("index ") :])
    if not source:
        raise PathError("Type a path such as .Config.Env or .RootFS.Layers[0]")
    if source == ".":
        return ()
    if not source.startswith((".", "[")):
        raise PathError(f"A path starts with '.', as in .{source}")
    path: list[JsonKey] = []
    pos = 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None or match.end() == pos:
            raise PathError(f"Cannot read the path at {source[pos:]!r} (in {text.strip()!r})")
        if match.group("name") is not None:
            path.append(match.group("name"))
        elif match.group("index") is not None:
            path.append(int(match.group("index")))
        else:
            path.append(json.loads(f'"{match.group("quoted")}"'))
        pos = match.end()
    return tuple(path)


def _from_index(args: str) -> str:
    """Go's ``index .X 0 "key"`` → ``.X[0]["key"]``."""
    tokens: list[str] = re.findall(r'"(?:[^"\\]|\\.)*"|\S+', args)
    if not tokens:
        raise PathError("index needs a path and keys, as in index .RootFS.Layers 0")
    base, keys = tokens[0], tokens[1:]
    return base + "".join(f"[{key}]" for key in keys)


def resolve(data: Any, path: JsonPath) -> tuple[JsonPath, Any]:
    """The value at ``path`` and the path as the document spells it.

    Object keys match exactly, else case-insensitively when that is unambiguous (Go templates
    are exact, but ``.config.env`` is an obvious typo to forgive). Negative indexes count from
    the end. Raises PathError naming the first part that does not exist.
    """
    value = data
    actual: list[JsonKey] = []
    for key in path:
        where = format_path(tuple(actual))
        if isinstance(value, dict):
            if not isinstance(key, str):
                raise PathError(f"{where} is an object: use a key, not [{key}]")
            if key not in value:
                folded = [k for k in value if k.lower() == key.lower()]
                if len(folded) != 1:
                    raise PathError(f"No such path: {where} has no key {key!r}")
                key = folded[0]
            actual.append(key)
            value = value[key]
        elif isinstance(value, list):
            if not isinstance(key, int):
                raise PathError(f"{where} is a list: use an index such as [0], not .{key}")
            if not -len(value) <= key < len(value):
                raise PathError(f"No such path: {where} has {len(value)} items, no [{key}]")
            key = key % len(value)
            actual.append(key)
            value = value[key]
        else:
            raise PathError(f"No such path: {where} is {value_text(value)!s:.40}, not a container")
    return tuple(actual), value


def value_text(value: Any) -> str:
    """A value as `docker inspect -f` prints it: strings bare, the rest as compact JSON.

    Compact JSON without HTML escaping is what the CLI's ``{{json ...}}`` writes.
    """
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def walk(data: Any, path: JsonPath = ()) -> Iterator[tuple[JsonPath, Any]]:
    """Every (path, value) in document order, parents before their children."""
    yield path, data
    if isinstance(data, dict):
        for key, child in data.items():
            yield from walk(child, (*path, key))
    elif isinstance(data, list):
        for index, child in enumerate(data):
            yield from walk(child, (*path, index))


def search(data: Any, term: str) -> list[JsonPath]:
    """Paths whose key or scalar value contains ``term`` (case-insensitive), in order."""
    needle = term.lower()
    if not needle:
        return []
    found: list[JsonPath] = []
    for path, value in walk(data):
        if not path:
            continue
        key = path[-1]
        if isinstance(key, str) and needle in key.lower():
            found.append(path)
        elif not isinstance(value, dict | list) and needle in value_text(value).lower():
            found.append(path)
    return found


def value_label(value: Any) -> Text:
    """A value coloured by its type; containers as a short summary."""
    if isinstance(value, dict):
        return Text(f"{{…}} {len(value)} key{'s' * (len(value) != 1)}", style=SUMMARY_STYLE)
    if isinstance(value, list):
        return Text(f"[…] {len(value)} item{'s' * (len(value) != 1)}", style=SUMMARY_STYLE)
    if isinstance(value, str):
        shown = value if len(value) <= MAX_LABEL_STRING else value[:MAX_LABEL_STRING] + "…"
        return Text(json.dumps(shown, ensure_ascii=False), style=STRING_STYLE)
    if isinstance(value, bool):
        return Text(json.dumps(value), style=BOOL_STYLE)
    if value is None:
        return Text("null", style=NULL_STYLE)
    return Text(json.dumps(value), style=NUMBER_STYLE)


@dataclass
class JsonNode:
    """Tree node data: where the node is in the document, its value, whether it is filled."""

    path: JsonPath
    value: Any
    loaded: bool = False


class JsonTree(Tree[JsonNode]):
    """A JSON document as a lazily filled Tree: children are added when a node expands."""

    DEFAULT_CSS: ClassVar[str] = """
    JsonTree {
        padding: 0 1;
    }
    """

    def __init__(
        self,
        data: Any = None,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__("JSON", JsonNode((), data), name=name, id=id, classes=classes)
        self.show_root = False
        self.guide_depth = 2
        self.document: Any = data
        if data is not None:
            self.set_document(data)

    def set_document(self, data: Any) -> None:
        """Show ``data``; only the top level is made now."""
        self.document = data
        self.clear()
        self.root.data = JsonNode((), data)
        self.fill(self.root)
        self.root.expand()

    def fill(self, node: TreeNode[JsonNode]) -> None:
        """Add ``node``'s children, once (this is what keeps large documents instant)."""
        data = node.data
        if data is None or data.loaded:
            return
        data.loaded = True
        value = data.value
        items: list[tuple[JsonKey, Any]]
        if isinstance(value, dict):
            items = list(value.items())
        elif isinstance(value, list):
            items = list(enumerate(value))
        else:
            return
        for key, child in items:
            label = Text()
            label.append(f"[{key}]" if isinstance(key, int) else str(key), style=KEY_STYLE)
            label.append(": ")
            label.append_text(value_label(child))
            child_data = JsonNode((*data.path, key), child)
            if isinstance(child, dict | list) and child:
                node.add(label, child_data)
            else:
                child_data.loaded = True
                node.add_leaf(label, child_data)

    def _on_tree_node_expanded(self, event: Tree.NodeExpanded[JsonNode]) -> None:
        self.fill(event.node)

    def node_at(self, path: JsonPath) -> TreeNode[JsonNode]:
        """The node for a resolved ``path``, filling and expanding the nodes on the way."""
        node = self.root
        for key in path:
            self.fill(node)
            node.expand()
            for child in node.children:
                if child.data is not None and child.data.path[-1] == key:
                    node = child
                    break
            else:
                raise PathError(f"No such path: {format_path(path)}")
        return node

    def reveal(self, path: JsonPath) -> TreeNode[JsonNode]:
        """Open the tree down to ``path`` and put the cursor on it (after the next refresh)."""
        node = self.node_at(path)
        # A node's line is only known once the tree has been laid out again.
        self.call_after_refresh(self._cursor_to, node)
        return node

    def _cursor_to(self, node: TreeNode[JsonNode]) -> None:
        self.move_cursor(node)
        self.scroll_to_node(node, animate=False)

    @property
    def selected(self) -> JsonNode | None:
        """The data of the node under the cursor."""
        node = self.cursor_node
        return None if node is None else node.data
