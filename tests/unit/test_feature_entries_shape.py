"""One kind of entry for the features (issue 13): checked on the source (ast, no import).

- a feature opens through an action on the App (tui/features.py): no free function anywhere
  under tui/ pushes, switches or installs a screen (the old ``open_commit(screen, ...)``,
  ``open_run_dialog(app, ...)``, ``show_transfers(app)`` ... each did, with its own first
  argument);
- nothing reaches into the App's image list: no ``getattr(app, "images_screen")`` and no
  ``app.images_screen`` outside tui/app.py (a feature announces a new image with a message);
- every entry of ``FeatureActions`` is declared on the ``Features`` Protocol screens call it
  through (tui/screens/base.py), and the other way round (mypy checks the signatures).
"""

from __future__ import annotations

import ast
from pathlib import Path

TUI = Path(__file__).resolve().parents[2] / "tui"
SCREEN_CHANGES = {"push_screen", "switch_screen", "install_screen"}


def trees() -> dict[Path, ast.Module]:
    """Every module under tui/, parsed."""
    return {p: ast.parse(p.read_text("utf-8"), str(p)) for p in sorted(TUI.rglob("*.py"))}


def free_functions_that_open_screens(tree: ast.Module) -> list[str]:
    """Module-level functions (and what they nest) that push, switch or install a screen."""
    found = []
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for sub in ast.walk(node):
            if (
                isinstance(sub, ast.Call)
                and isinstance(sub.func, ast.Attribute)
                and sub.func.attr in SCREEN_CHANGES
            ):
                found.append(f"{node.name} (line {sub.lineno}: {sub.func.attr})")
    return found


def reaches_into_the_list(tree: ast.Module) -> list[str]:
    """``getattr(x, "images_screen")`` and ``<...>.app.images_screen`` / ``app.images_screen``."""
    found = []
    for sub in ast.walk(tree):
        if (
            isinstance(sub, ast.Call)
            and isinstance(sub.func, ast.Name)
            and sub.func.id in {"getattr", "hasattr", "setattr"}
            and len(sub.args) > 1
            and isinstance(sub.args[1], ast.Constant)
            and sub.args[1].value == "images_screen"
        ):
            found.append(f"line {sub.lineno}: {ast.unparse(sub)}")
        elif isinstance(sub, ast.Attribute) and sub.attr == "images_screen":
            owner = sub.value
            if (isinstance(owner, ast.Name) and owner.id == "app") or (
                isinstance(owner, ast.Attribute) and owner.attr == "app"
            ):
                found.append(f"line {sub.lineno}: {ast.unparse(sub)}")
    return found


def methods(tree: ast.Module, class_name: str) -> set[str]:
    """The names of ``class_name``'s methods in ``tree``."""
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name)
    return {n.name for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def test_the_walk_sees_the_tree() -> None:
    """The rules below would pass vacuously on a wrong root."""
    parsed = trees()
    assert TUI / "features.py" in parsed and TUI / "screens" / "images.py" in parsed


def test_the_checks_catch_the_old_shapes() -> None:
    """Each check finds what it is meant to find (the shapes removed in issue 13)."""
    old = ast.parse(
        "def show_transfers(app):\n"
        "    app.push_screen(TransfersScreen())\n"
        "def _listed(self):\n"
        "    images = getattr(self.app, 'images_screen', None)\n"
        "    return self.app.images_screen\n"
    )
    assert free_functions_that_open_screens(old) == ["show_transfers (line 2: push_screen)"]
    assert len(reaches_into_the_list(old)) == 2


def test_no_free_function_opens_a_screen() -> None:
    """Features open through the App's actions (tui/features.py), never a free function."""
    found = {
        str(path.relative_to(TUI)): hits
        for path, tree in trees().items()
        if (hits := free_functions_that_open_screens(tree))
    }
    assert not found, f"open these through an App action (tui/features.py): {found}"


def test_nothing_reaches_into_the_apps_image_list() -> None:
    """Only the App routes to its list; features announce images with messages."""
    found = {
        str(path.relative_to(TUI)): hits
        for path, tree in trees().items()
        if path != TUI / "app.py" and (hits := reaches_into_the_list(tree))
    }
    assert not found, f"post a message (tui/messages.py) instead: {found}"


def test_every_entry_is_declared_where_screens_call_it() -> None:
    """``FeatureActions``'s actions and the ``Features`` Protocol name the same entries."""
    actions = {
        name
        for name in methods(ast.parse((TUI / "features.py").read_text("utf-8")), "FeatureActions")
        if name.startswith("action_")
    }
    declared = methods(ast.parse((TUI / "screens" / "base.py").read_text("utf-8")), "Features")
    assert actions, "no entries found in tui/features.py"
    assert actions == declared
