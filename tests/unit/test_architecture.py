"""The layering the code promises (HACKING.md), checked on the source's imports (ast, no import).

Every import counts: at module level, inside functions (lazy feature imports) and under
``if TYPE_CHECKING:`` (a type-only import still ties the modules together for a reader and
for mypy). The rules:

- nothing imports ``tui.app`` but ``tui.cli`` and ``tui.__main__`` (screens get the service
  from ``tui/screens/base.py`` and talk to the App through messages);
- only ``tui/service/`` imports docker(-py); ``tui/service/`` and ``tui/analysis/`` never
  import Textual, and ``tui/analysis/`` no docker either;
- the UI modules (``tui.screens``, ``tui.modals``, ``tui.widgets``) import each other without
  a cycle;
- no file in tui/ is much over 500 lines without its module docstring saying why (issue 13:
  big files are cut along their seams, or say what keeps them whole).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

TUI = Path(__file__).resolve().parents[2] / "tui"
UI_PACKAGES = ("tui.screens", "tui.modals", "tui.widgets")
MAY_IMPORT_APP = {"tui.cli", "tui.__main__"}

# Modules allowed to break a rule for now (none left: issue 13 removed the last exemptions).
# Each entry must still break the rule: the test fails once it no longer does, so the lists
# only shrink.
KNOWN_APP_IMPORTERS: dict[str, str] = {}
KNOWN_CYCLES: set[frozenset[str]] = set()


def module_name(path: Path) -> str:
    """``tui/screens/images.py`` -> ``tui.screens.images``."""
    parts = list(path.relative_to(TUI.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, wherever the import statement stands."""
    package = module_name(path).rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against this module's package
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            for alias in node.names:
                yield f"{base}.{alias.name}"  # `from tui.screens import images` names a module


MODULES = {module_name(p): p for p in sorted(TUI.rglob("*.py"))}
IMPORTS = {name: set(imported(path)) for name, path in MODULES.items()}


def _is(name: str, root: str) -> bool:
    return name == root or name.startswith(root + ".")


def test_the_modules_were_found() -> None:
    """The walk sees the tree (a wrong root would make every rule pass vacuously)."""
    assert {"tui.app", "tui.cli", "tui.screens.base", "tui.service.facade"} <= set(MODULES)
    assert any(_is(i, "textual") for i in IMPORTS["tui.screens.base"])
    assert any(_is(i, "docker") for i in IMPORTS["tui.service.core"])


def test_nothing_but_the_entry_points_imports_the_app() -> None:
    """Screens and dialogs never import tui.app (not even for typing)."""
    importers = {m for m, names in IMPORTS.items() if any(_is(n, "tui.app") for n in names)}
    importers.discard("tui.app")
    unexpected = importers - MAY_IMPORT_APP - set(KNOWN_APP_IMPORTERS)
    assert not unexpected, f"these modules import tui.app: {sorted(unexpected)}"
    fixed = set(KNOWN_APP_IMPORTERS) - importers
    assert not fixed, f"no longer import tui.app: drop them from KNOWN_APP_IMPORTERS: {fixed}"


@pytest.mark.parametrize(
    ("library", "allowed"),
    [("docker", ("tui.service",)), ("textual", ("tui.screens", "tui.modals", "tui.widgets"))],
)
def test_libraries_stay_in_their_layer(library: str, allowed: tuple[str, ...]) -> None:
    """docker only under tui/service; Textual never under tui/service or tui/analysis."""
    users = {m for m, names in IMPORTS.items() if any(_is(n, library) for n in names)}
    if library == "docker":
        wrong = {m for m in users if not any(_is(m, a) for a in allowed)}
    else:
        wrong = {m for m in users if _is(m, "tui.service") or _is(m, "tui.analysis")}
    assert not wrong, f"{library} imported outside its layer by {sorted(wrong)}"


def test_the_analysis_needs_neither_docker_nor_the_service_client() -> None:
    """tui/analysis is a library: only the service's error classes, never docker-py."""
    for name, names in IMPORTS.items():
        if _is(name, "tui.analysis"):
            tui_deps = {n for n in names if _is(n, "tui") and not _is(n, "tui.analysis")}
            assert all(_is(n, "tui.service.errors") for n in tui_deps), (name, tui_deps)
            assert not any(_is(n, "docker") for n in names), name


def _ui_graph() -> dict[str, set[str]]:
    ui = {m for m in MODULES if any(_is(m, p) for p in UI_PACKAGES)}
    return {m: {n for n in IMPORTS[m] if n in ui and n != m} for m in ui}


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.add(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The check below would see a cycle (a finder that never finds one proves nothing)."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset({"a", "b", "c"})]


def test_no_import_cycle_among_the_ui_modules() -> None:
    """Screens, modals and widgets import each other in one direction only."""
    cycles = set(_cycles(_ui_graph()))
    new = [sorted(c) for c in cycles - KNOWN_CYCLES]
    assert not new, f"import cycles among the UI modules: {new}"
    gone = [sorted(c) for c in KNOWN_CYCLES - cycles]
    assert not gone, f"no longer a cycle as listed: update KNOWN_CYCLES: {gone}"


# "About 500 lines": a file this long must say at its top why it is not cut.
LONG_FILE = 510


def unexplained_length(text: str) -> int | None:
    """The line count of a module over LONG_FILE whose docstring does not say why; else None."""
    lines = text.count("\n")
    if lines <= LONG_FILE or "500 lines" in (ast.get_docstring(ast.parse(text)) or ""):
        return None
    return lines


def test_a_long_file_says_why_it_is_long() -> None:
    unexplained = {
        name: lines
        for name, path in MODULES.items()
        if (lines := unexplained_length(path.read_text("utf-8"))) is not None
    }
    assert not unexplained, unexplained


def test_the_long_file_check_tells_the_cases_apart() -> None:
    body = "x = 1\n" * (LONG_FILE + 5)
    assert unexplained_length('"""Short reason-less."""\n' + body) == LONG_FILE + 6
    assert unexplained_length('"""Over 500 lines because one state machine."""\n' + body) is None
    assert unexplained_length('"""Short."""\n' + "x = 1\n" * 100) is None
