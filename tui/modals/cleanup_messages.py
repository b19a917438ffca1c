"""The messages of the cleanup flows, in one place.

Posted by the delete dialog, the conflict dialog, the cleanup controller, the prune wizard and
the retention dialog (workers tell the UI thread what they found or did).
"""

from __future__ import annotations

from textual.message import Message

from tui.service.cleanup import BuildParents, Freed, ImageLayers, ResultLog


class FreedComputed(Message):
    """The layer-exact space a removal gives back."""

    def __init__(self, freed: Freed) -> None:
        super().__init__()
        self.freed = freed


class ParentsFound(Message):
    """The untagged build parents the delete takes along (overlay2 store)."""

    def __init__(self, parents: BuildParents) -> None:
        super().__init__()
        self.parents = parents


class KeptByChildren(Message):
    """Images of the delete that child images keep (the daemon will only untag them)."""

    def __init__(self, kept: dict[str, tuple[str, ...]]) -> None:
        super().__init__()
        self.kept = kept


class RemovalProgress(Message):
    """A bulk removal moved on to item ``done + 1`` of ``total``; newer replaces queued."""

    def __init__(self, done: int, total: int, current: str) -> None:
        super().__init__()
        self.done = done
        self.total = total
        self.current = current

    def can_replace(self, message: Message) -> bool:
        """Only the newest progress matters."""
        return isinstance(message, RemovalProgress)


class RemovalFinished(Message):
    """A bulk removal ended (all items, or stopped early)."""

    def __init__(self, log: ResultLog) -> None:
        super().__init__()
        self.log = log


class LayersLoaded(Message):
    """Layer data for freed-space sums arrived."""

    def __init__(self, layers: dict[str, ImageLayers], asked: frozenset[str]) -> None:
        super().__init__()
        self.layers = layers
        self.asked = asked


class ChildrenLoaded(Message):
    """The images built on a conflicted image."""

    def __init__(self, children: list[str]) -> None:
        super().__init__()
        self.children = children


class ResolveFinished(Message):
    """A conflict's way out or an untag finished."""

    def __init__(self, log: ResultLog) -> None:
        super().__init__()
        self.log = log
