"""`h`: the layer history of an image as a tree, newest entry first like `docker history`."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Footer, Static, Tree
from textual.widgets.tree import TreeNode
from textual.worker import Worker

from tui import format as fmt
from tui.safe_text import scrub, visible
from tui.screens.base import BaseScreen, failure_text
from tui.service.errors import ImagedeckError
from tui.service.history import HistoryEntry, ImageHistory

EMPTY_MARK = "○ empty"
LAYER_MARK = "●"
SIZE_WIDTH = 11  # "● 999.9 kB" and "○ empty" fit
AGE_WIDTH = 13  # fmt.age is never wider


@dataclass
class HistoryLoaded(Message):
    """The history arrived from the worker."""

    history: ImageHistory


@dataclass
class HistoryFailed(Message):
    """The history could not be read; the error says why."""

    error: ImagedeckError


@dataclass
class _Row:
    """Tree node data: an entry, or a detail line under it (entry is None)."""

    entry: HistoryEntry | None


class HistoryScreen(BaseScreen[None]):
    """The history tree of one image; `f` toggles full (--no-trunc) text, Esc goes back."""

    CSS_PATH = "history.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="history.back", tooltip="Back to the image list"),
        Binding(
            "f",
            "toggle_full",
            "Full",
            id="history.full",
            tooltip="Truncated / full commands and IDs (--no-trunc)",
        ),
        Binding("e", "expand_all", "Expand all", id="history.expand_all", tooltip="Expand all"),
        Binding("c", "collapse_all", "Collapse", id="history.collapse_all", tooltip="Collapse all"),
        Binding("r", "reload", "Reload", show=False, id="history.reload", tooltip="Reload"),
    ]

    def __init__(self, reference: str) -> None:
        super().__init__()
        self.reference = reference
        self.history: ImageHistory | None = None
        self.full = False
        self.error: ImagedeckError | None = None
        self._built_width = 0
        self.shown = False  # the entries are in the tree, fitted to its width

    def compose(self) -> ComposeResult:
        """Header, column titles, the tree, footer."""
        yield Static(f"History of {self.reference}", id="history-header", markup=False)
        yield Static("", id="history-columns", markup=False)
        tree: Tree[_Row] = Tree("history", id="history-tree")
        tree.show_root = False
        tree.guide_depth = 2
        yield tree
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Show the loading state and start the worker."""
        tree = self.query_one("#history-tree", Tree)
        tree.loading = True
        tree.focus()
        self.load()
        self.set_interval(fmt.AGE_CHECK_SECONDS, self.refresh_ages)

    # -- loading -------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="history", exit_on_error=False)
    def load(self) -> None:
        """Read the history in a thread; the result comes back as a message."""
        try:
            service = self.service
            # Made safe here, in the thread: ENV values and RUN commands are anyone's text.
            self.post_message(HistoryLoaded(scrub(service.history(self.reference))))
        except ImagedeckError as exc:
            self.post_message(HistoryFailed(exc))

    def on_history_loaded(self, message: HistoryLoaded) -> None:
        """Fill the tree."""
        self.history = message.history
        self.error = None
        self.query_one("#history-tree", Tree).loading = False
        self._update_header()
        # The tree has no width while the loading indicator covers it: lay out first.
        self.call_after_refresh(self._rebuild)

    def worker_failed(self, worker: Worker[Any], error: BaseException | None) -> None:
        """An unexpected failure ends the loading with its reason, as a service error does."""
        if worker.group == "history":
            self.post_message(HistoryFailed(ImagedeckError(failure_text(error))))

    def on_history_failed(self, message: HistoryFailed) -> None:
        """Say what failed where the tree would be."""
        self.error = message.error
        tree = self.query_one("#history-tree", Tree)
        tree.loading = False
        tree.clear()
        tree.root.add_leaf(
            Text(f"Could not read the history: {visible(str(message.error))}", style="bold red")
        )
        self.query_one("#history-header", Static).update(f"History of {self.reference}")

    # -- rendering -----------------------------------------------------------------------------

    def _update_header(self) -> None:
        history = self.history
        if history is None:
            return
        mode = "full" if self.full else "truncated"
        empty = history.empty_entries
        size = fmt.size(history.size)
        if history.unpacked is not None:
            # The containerd store: two sizes, each named (rows: unpacked, in 4 kB blocks).
            size = f"{size} compressed + {fmt.size(history.unpacked)} unpacked (rows: unpacked)"
        self.query_one("#history-header", Static).update(
            f"{history.reference} · {size} · {fmt.plural(history.layers, 'layer')} · "
            f"{fmt.plural(len(history.entries), 'entry', 'entries')}, {empty} empty · {mode}"
        )

    def _pane_width(self) -> int:
        """The tree's content width (what a wrapped line may use)."""
        return self.query_one("#history-tree", Tree).scrollable_content_region.width or 80

    def _widths(self) -> tuple[int, bool]:
        """(width for the instruction, whether the ID column fits) at the tree's width.

        Full mode puts the command on lines of its own under each row, wrapped, so the row
        only needs room for the full 71-character ID; where even that does not fit (80
        columns) the row keeps the short ID and the full one goes under it.
        """
        width = self._pane_width()
        if self.full:
            return 0, width >= 2 + SIZE_WIDTH + AGE_WIDTH + 4 + 71 + 2
        show_id = width >= 100
        id_width = 12 + 2 if show_id else 0
        # 2 for the expand arrow, 2 gaps between columns.
        return max(width - 2 - SIZE_WIDTH - AGE_WIDTH - 4 - id_width, 20), show_id

    def _label(self, entry: HistoryEntry, command_width: int, show_id: bool) -> Text:
        label = Text(no_wrap=True, overflow="ellipsis")
        if entry.empty:
            label.append(EMPTY_MARK.ljust(SIZE_WIDTH), style="dim")
        else:
            label.append(f"{LAYER_MARK} {fmt.size(entry.size)}".ljust(SIZE_WIDTH), style="bold")
        label.append("  ")
        label.append(fmt.ellipsize(fmt.age(entry.created), AGE_WIDTH).ljust(AGE_WIDTH))
        label.append("  ")
        if self.full:
            # The whole command is on the lines under the row (wrapped at the pane's width).
            ident = (entry.id if show_id else entry.short_id) or "<missing>"
            label.append(ident, style="dim")
            return label
        if show_id:
            # Before the command, as `docker history` prints it, so the column stays aligned.
            label.append((entry.short_id or "<missing>").ljust(12), style="dim")
            label.append("  ")
        label.append_text(self._instruction(entry, command_width))
        return label

    def _instruction(self, entry: HistoryEntry, width: int | None) -> Text:
        """The instruction with its keyword highlighted, cut to ``width`` cells (None: whole)."""
        keyword, arguments = entry.keyword, entry.arguments
        if not entry.instruction:
            arguments = f"({entry.comment or 'no command recorded'})"
        text = Text()
        if keyword:
            text.append(keyword, style="bold magenta")
            text.append(" ")
        flat = " ".join(arguments.split())  # the tree row is one line; expand for the original
        if width is not None:
            flat = fmt.ellipsize(flat, max(width - len(text), 1))
        text.append(flat, style="dim italic" if not entry.instruction else "")
        if width is not None:
            text.pad_right(max(width - len(text), 0))
        return text

    def _details(self, node: TreeNode[_Row], entry: HistoryEntry) -> None:
        """Children of an entry: the whole command wrapped at the pane's width, then facts.

        In full mode (every entry open, as `docker history --no-trunc` shows every command
        whole) only the command follows, and the full ID when the row had no room for it.
        """
        node.remove_children()
        # The children are indented by the tree's guides (guide_depth 2) under the arrow.
        width = max(self._pane_width() - 6, 20)
        command = entry.instruction or "(no command recorded)"
        for line in command.splitlines() or [""]:
            for piece in textwrap.wrap(line, width, break_long_words=True) or [""]:
                node.add_leaf(Text(piece, style="green"), _Row(None))
        if self.full:
            if entry.comment:
                node.add_leaf(Text(f"# {entry.comment}", style="italic"), _Row(None))
            if not self._widths()[1]:
                ident = entry.id or "<missing> (no local image for this layer)"
                node.add_leaf(Text(f"ID {ident}", style="dim"), _Row(None))
            return
        # The time itself: the row above says how long ago, and keeps saying it as time passes.
        when = entry.created.strftime("%Y-%m-%d %H:%M:%S UTC")
        facts = [
            f"ID       {entry.id or '<missing> (no local image for this layer)'}",
            f"Created  {when}",
            f"Size     {entry.size} bytes" + ("  (metadata only: no layer)" if entry.empty else ""),
        ]
        if entry.comment:
            facts.append(f"Comment  {entry.comment}")
        if entry.tags:
            facts.append(f"Tags     {', '.join(entry.tags)}")
        for fact in facts:
            node.add_leaf(Text(fact, style="dim"), _Row(None))

    def _rebuild(self) -> None:
        """(Re)build the tree, keeping which entries are expanded and where the cursor is."""
        history = self.history
        if history is None:
            return
        tree: Tree[_Row] = self.query_one("#history-tree", Tree)
        expanded = {
            id(n.data.entry)
            for n in tree.root.children
            if n.is_expanded and n.data and n.data.entry
        }
        cursor = tree.cursor_line
        tree.clear()
        command_width, show_id = self._widths()
        self._built_width = tree.scrollable_content_region.width
        self.query_one("#history-columns", Static).update(self._columns(show_id))
        for entry in history.entries:
            node = tree.root.add(self._label(entry, command_width, show_id), _Row(entry))
            if self.full or id(entry) in expanded:
                self._details(node, entry)
                node.expand()
        if cursor >= 0:
            self.call_after_refresh(self._restore_cursor, cursor)
        self.shown = True

    def refresh_ages(self) -> bool:
        """CREATED stays current as time passes (no daemon call): the rows whose age reads
        differently now get their label again. Returns whether one did."""
        if self.history is None or not self.shown:
            return False
        tree: Tree[_Row] = self.query_one("#history-tree", Tree)
        command_width, show_id = self._widths()
        changed = False
        for node in tree.root.children:
            entry = node.data.entry if node.data else None
            drawn = str(node.label)[SIZE_WIDTH + 2 : SIZE_WIDTH + 2 + AGE_WIDTH].rstrip()
            if entry is None or drawn == fmt.age(entry.created):
                continue
            node.set_label(self._label(entry, command_width, show_id))
            changed = True
        return changed

    def _restore_cursor(self, line: int) -> None:
        tree = self.query_one("#history-tree", Tree)
        if tree.last_line >= 0:
            tree.cursor_line = min(line, tree.last_line)

    def _columns(self, show_id: bool) -> Text:
        text = Text("  " + "SIZE".ljust(SIZE_WIDTH) + "  " + "CREATED".ljust(AGE_WIDTH) + "  ")
        if self.full:
            text.append("IMAGE · CREATED BY below")
            return text
        if show_id:
            text.append("IMAGE".ljust(12) + "  ")
        text.append("CREATED BY")
        return text

    @on(Tree.NodeExpanded, "#history-tree")
    def _expanded(self, event: Tree.NodeExpanded[_Row]) -> None:
        # Details are made when first needed: most entries are never opened.
        node = event.node
        data = node.data
        if data is not None and data.entry is not None and not node.children:
            self._details(node, data.entry)

    def on_resize(self) -> None:
        """Re-fit the columns to the new width."""
        tree = self.query_one("#history-tree", Tree)
        if self.history is not None and tree.scrollable_content_region.width != self._built_width:
            self._rebuild()

    # -- actions -------------------------------------------------------------------------------

    def action_back(self) -> None:
        """Back to the image list."""
        self.app.pop_screen()

    def action_toggle_full(self) -> None:
        """Truncated or full commands and IDs, like `docker history --no-trunc`.

        Full opens every step with its whole command wrapped; back to truncated, every step
        closes again.
        """
        self.full = not self.full
        if not self.full:
            for node in self.query_one("#history-tree", Tree).root.children:
                node.collapse()
        self._update_header()
        self._rebuild()

    def action_expand_all(self) -> None:
        """Show the details of every entry."""
        for node in self.query_one("#history-tree", Tree).root.children:
            node.expand()

    def action_collapse_all(self) -> None:
        """Hide every entry's details."""
        for node in self.query_one("#history-tree", Tree).root.children:
            node.collapse()

    def action_reload(self) -> None:
        """Read the history again."""
        self.query_one("#history-tree", Tree).loading = True
        self.load()
