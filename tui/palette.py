"""The command palette's commands from key bindings: every action bound on the screen, and the
image list's global actions from any other screen.

A person looks an action up by name ("pull", "clean", "transfers"): each binding is offered
under its short name, with its long text and key as help. The App's own commands (Textual's,
switch context, disk map) come first; ``ImagedeckApp.get_system_commands`` joins them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial
from typing import Any

from textual.app import App, SystemCommand
from textual.dom import DOMNode
from textual.screen import Screen

# Actions of the image list the palette offers from every screen.
GLOBAL_ACTIONS = frozenset(
    {"pull", "search", "build", "transfers", "prune", "reload", "containers", "results_log"}
)
# Bindings that make no sense as palette commands (Esc, moving the cursor, the palette itself).
PALETTE_SKIP = frozenset({"escape", "back", "cancel", "command_palette", "help", "quit"})


def binding_palette(
    app: App[Any], screen: Screen[Any], list_screen: Screen[Any], offered: set[str]
) -> Iterator[SystemCommand]:
    """The commands of ``screen``'s bindings, then (from another screen) the list's global ones.

    ``offered``: titles already in the palette; a title is offered once.
    """
    for command in _binding_commands(app, screen, list_screen):
        if command.title not in offered:
            offered.add(command.title)
            yield command
    if screen is not list_screen:
        for command in _binding_commands(app, list_screen, list_screen, GLOBAL_ACTIONS):
            if command.title not in offered:
                offered.add(command.title)
                yield command


def _binding_commands(
    app: App[Any],
    screen: Screen[Any],
    list_screen: Screen[Any],
    only: frozenset[str] | None = None,
) -> Iterable[SystemCommand]:
    """One palette command per binding of ``screen`` (its own and its focused widget's)."""
    from tui.screens.help import key_label

    if not screen.is_mounted:
        return
    groups: dict[tuple[int, str], tuple[Any, Any, list[str]]] = {}
    for key, active in screen.active_bindings.items():
        binding, node = active.binding, active.node
        if node is app or not binding.id or not binding.description:
            continue
        if binding.action in PALETTE_SKIP:
            continue
        if only is not None and binding.action not in only:
            continue
        ident = (id(node), binding.id or binding.action)
        groups.setdefault(ident, (binding, node, []))[2].append(key)
    for binding, node, keys in groups.values():
        text = binding.tooltip or binding.description
        yield SystemCommand(
            binding.description,
            f"{text} (key {key_label(','.join(keys))})",
            partial(_run_bound_action, app, list_screen, node, binding.action),
        )


async def _run_bound_action(
    app: App[Any], list_screen: Screen[Any], node: DOMNode, action: str
) -> None:
    """Run a binding's action on its node, as the key would."""
    if node is list_screen and app.screen is not list_screen:
        # A global action of the list from another screen: go back to the list first.
        while len(app.screen_stack) > 1 and app.screen is not list_screen:
            app.pop_screen()
    await app.run_action(action, default_namespace=node)
