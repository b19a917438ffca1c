"""`l`: layer contents and wasted space, computed like dive from a streamed `docker save`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Footer, ProgressBar, Static, Tree
from textual.widgets.tree import TreeNode
from textual.worker import Worker, get_current_worker

from tui import format as fmt
from tui.analysis import AnalysisCancelled, ChangeKind, FileNode, ImageAnalysis
from tui.safe_text import safe, visible
from tui.screens.base import BaseScreen, failure_text
from tui.service.errors import ImagedeckError

# How a path changed, readable without colour.
CHANGE_MARKS: dict[ChangeKind | None, tuple[str, str]] = {
    ChangeKind.ADDED: ("+", "green"),
    ChangeKind.MODIFIED: ("~", "yellow"),
    ChangeKind.REMOVED: ("-", "red strike"),
    None: (" ", ""),
}
# A layer's own change tree is opened whole when it is this small; bigger ones open on demand.
AUTO_EXPAND_NODES = 200
MAX_OFFENDERS = 100


class LayersProgress(Message):
    """Bytes streamed so far; a newer one replaces a queued one."""

    def __init__(self, done: int, total: int | None) -> None:
        super().__init__()
        self.done = done
        self.total = total

    def can_replace(self, message: Message) -> bool:
        """Only the latest progress matters."""
        return isinstance(message, LayersProgress)


@dataclass
class LayersLoaded(Message):
    """The analysis finished."""

    analysis: ImageAnalysis


@dataclass
class LayersFailed(Message):
    """The analysis failed; the error says why."""

    error: ImagedeckError


@dataclass
class TreeReady(Message):
    """A file tree for (layer, view) was built in a worker."""

    index: int
    aggregated: bool
    root: FileNode


def _b(key: str, action: str, short: str, long: str, bid: str, show: bool = True) -> Binding:
    return Binding(key, action, short, show=show, id=bid, tooltip=long)


class LayersScreen(BaseScreen[None]):
    """Per-layer changes, the aggregated file tree, efficiency and the worst offenders."""

    CSS_PATH = "layers.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        _b("escape", "back", "Back", "Cancel the analysis / back to the list", "layers.back"),
        _b(
            "a",
            "toggle_aggregated",
            "Aggregated",
            "This layer's changes / all layers up to it",
            "layers.aggregated",
        ),
        _b("s", "toggle_sort", "Sort", "Sort the tree by size / by name", "layers.sort"),
        _b("w", "focus_offenders", "Wasted", "Go to the worst offenders", "layers.wasted"),
    ]

    def __init__(self, reference: str) -> None:
        super().__init__()
        self.reference = reference
        self.analysis: ImageAnalysis | None = None
        self.aggregated = False
        self.sort_by = "size"
        self.layer_index = 0
        self.tree_root: FileNode | None = None
        self.error: ImagedeckError | None = None

    @property
    def loading_layers(self) -> bool:
        """True while the archive is still streaming."""
        return self.analysis is None and self.error is None

    def compose(self) -> ComposeResult:
        """Header, progress (while streaming), then score, layer table, trees and offenders."""
        yield Static(f"Layers of {self.reference}", id="layers-header", markup=False)
        with Vertical(id="layers-progress"):
            yield Static("Starting docker save…", id="layers-progress-text", markup=False)
            yield ProgressBar(id="layers-progress-bar", show_eta=False)
        with Vertical(id="layers-body"):
            yield Static("", id="layers-score")
            yield DataTable(id="layers-table", cursor_type="row", zebra_stripes=True)
            with Horizontal(id="layers-lower"):
                with Vertical(id="layers-files"):
                    yield Static("", id="layers-tree-title", markup=False)
                    tree: Tree[FileNode] = Tree("/", id="layers-tree")
                    tree.guide_depth = 2
                    yield tree
                with Vertical(id="layers-waste"):
                    yield Static("Worst offenders", id="layers-waste-title", markup=False)
                    yield DataTable(id="layers-offenders", cursor_type="row")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Start streaming."""
        self.query_one("#layers-body").display = False
        self.analyze()

    # -- the analysis --------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="layers", exit_on_error=False)
    def analyze(self) -> None:
        """Stream the image through the engine in a thread; progress and result as messages.

        The stream stops when this worker is cancelled (Esc, a new analysis, or Textual
        cancelling the screen's workers as it unmounts, however the screen goes away): the
        service watches the worker's own ``cancelled_event``.
        """
        cancel = get_current_worker().cancelled_event
        try:
            service = self.service

            def progress(done: int, total: int | None) -> None:
                self.post_message(LayersProgress(done, total))

            analysis = service.analyze_layers(self.reference, progress=progress, cancel=cancel)
        except AnalysisCancelled:
            return  # the user left; nobody is waiting for a message
        except ImagedeckError as exc:
            self.post_message(LayersFailed(exc))
            return
        self.post_message(LayersLoaded(analysis))

    def on_layers_progress(self, message: LayersProgress) -> None:
        """Move the bar."""
        bar = self.query_one("#layers-progress-bar", ProgressBar)
        total = message.total
        if total:
            # The estimate is the image size; the archive's tar headers make it a bit larger.
            bar.update(total=max(total, message.done), progress=message.done)
            about = f" of about {fmt.size(total)}"
        else:
            about = ""
        self.query_one("#layers-progress-text", Static).update(
            f"Streaming docker save {self.reference}: {fmt.size(message.done)}{about}"
            "  ·  Esc cancels"
        )

    def worker_failed(self, worker: Worker[Any], error: BaseException | None) -> None:
        """An unexpected failure ends the analysis with its reason, as a service error does;
        a tree that cannot be built leaves an empty tree, no longer "building…"."""
        if worker.group == "layers":
            self.post_message(LayersFailed(ImagedeckError(failure_text(error))))
        elif worker.group == "layer-tree":
            # The tree shown is another layer's (or mode's): cleared, and the title stops
            # saying "building…" (the notification says why).
            self.tree_root = None
            tree: Tree[FileNode] = self.query_one("#layers-tree", Tree)
            tree.clear()
            tree.root.set_label("Could not build this tree (see the notification)")
            self._update_tree_title()

    def on_layers_failed(self, message: LayersFailed) -> None:
        """Say what failed in place of the progress bar."""
        self.error = message.error
        self.query_one("#layers-progress-bar").display = False
        text = self.query_one("#layers-progress-text", Static)
        text.update(f"Could not analyse {self.reference}: {visible(str(message.error))}")
        text.add_class("error")

    def on_layers_loaded(self, message: LayersLoaded) -> None:
        """Fill the score, the layer table and the offenders; the tree follows the cursor."""
        analysis = self.analysis = message.analysis
        self.query_one("#layers-progress").display = False
        self.query_one("#layers-body").display = True
        self.query_one("#layers-header", Static).update(
            f"Layers of {self.reference}  ·  {fmt.plural(len(analysis.layers), 'layer')}  ·  "
            f"{fmt.size(analysis.size_bytes)}"
        )
        self.query_one("#layers-score", Static).update(self._score_text(analysis))
        self._fill_layers(analysis)
        self._fill_offenders(analysis)
        table = self.query_one("#layers-table", DataTable)
        table.focus()
        self.show_layer(0)

    def _score_text(self, analysis: ImageAnalysis) -> Text:
        percent = analysis.wasted_user_percent
        share = f"{percent * 100:.1f} %" if math.isfinite(percent) else "n/a"
        style = "bold green" if analysis.efficiency >= 0.9 else "bold yellow"
        if analysis.efficiency < 0.75:
            style = "bold red"
        text = Text()
        text.append("Efficiency ")
        text.append(f"{analysis.efficiency * 100:.2f} %", style=style)
        text.append("  ·  wasted ")
        text.append(fmt.size(analysis.wasted_bytes), style="bold")
        text.append(f"  ·  user layers {fmt.size(analysis.user_size_bytes)}")
        text.append(f"  ·  wasted/user {share}")
        return text

    def _fill_layers(self, analysis: ImageAnalysis) -> None:
        table = self.query_one("#layers-table", DataTable)
        table.clear(columns=True)
        table.add_column("#", key="index")
        table.add_column("SIZE", key="size")
        table.add_column("+ADD", key="added")
        table.add_column("~MOD", key="modified")
        table.add_column("-DEL", key="removed")
        table.add_column("COMMAND", key="command")
        width = max((self.size.width or 80) - 40, 20)
        for layer in analysis.layers:
            # A Text, never a str: DataTable parses str cells as markup.
            command = safe(" ".join(layer.command.split()) or "(base layer)")
            command.truncate(width, overflow="ellipsis")
            table.add_row(
                Text(str(layer.index), justify="right"),
                Text(fmt.size(layer.size_bytes), justify="right"),
                Text(str(layer.added), justify="right", style="green"),
                Text(str(layer.modified), justify="right", style="yellow"),
                Text(str(layer.removed), justify="right", style="red"),
                command,
                key=str(layer.index),
            )

    def _fill_offenders(self, analysis: ImageAnalysis) -> None:
        table = self.query_one("#layers-offenders", DataTable)
        table.clear(columns=True)
        # Narrow columns first: at 80 columns the path needs what is left.
        table.add_column("TOTAL", key="total")
        table.add_column("N", key="count")
        table.add_column("PATH", key="path")
        for item in analysis.inefficiencies[:MAX_OFFENDERS]:
            table.add_row(
                Text(fmt.size(item.cumulative_size), justify="right"),
                Text(str(item.count), justify="right"),
                safe(item.path),
            )
        title = self.query_one("#layers-waste-title", Static)
        count = len(analysis.inefficiencies)
        title.update(
            f"Worst offenders: {count} path{'s' * (count != 1)} (N: copies)"
            if count
            else "No wasted space"
        )

    # -- the file tree -------------------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#layers-table")
    def _layer_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self.show_layer(int(event.row_key.value))

    def show_layer(self, index: int) -> None:
        """Show the tree of layer ``index`` (its changes, or everything up to it)."""
        if self.analysis is None:
            return
        self.layer_index = index
        self._update_tree_title(building=True)
        self.build_tree(index, self.aggregated)

    @work(thread=True, exclusive=True, group="layer-tree", exit_on_error=False)
    def build_tree(self, index: int, aggregated: bool) -> None:
        """Build a file tree in a thread (the aggregated one replays every lower layer)."""
        analysis = self.analysis
        if analysis is None:
            return
        root = analysis.aggregated_tree(index) if aggregated else analysis.layer_tree(index)
        self.post_message(TreeReady(index, aggregated, root))

    def on_tree_ready(self, message: TreeReady) -> None:
        """Show the tree unless the cursor moved on meanwhile."""
        if message.index != self.layer_index or message.aggregated != self.aggregated:
            return
        self.tree_root = message.root
        self._render_tree()

    def _render_tree(self) -> None:
        root = self.tree_root
        if root is None:
            return
        tree: Tree[FileNode] = self.query_one("#layers-tree", Tree)
        tree.clear()
        tree.root.data = root
        tree.root.set_label(self._node_label(root))
        self._fill(tree.root)
        tree.root.expand()
        if not self.aggregated and sum(1 for _ in root.walk()) <= AUTO_EXPAND_NODES:
            self._expand_all(tree.root)
        self._update_tree_title()

    def _expand_all(self, node: TreeNode[FileNode]) -> None:
        for child in node.children:
            if child.allow_expand:
                self._fill(child)
                child.expand()
                self._expand_all(child)

    def _fill(self, node: TreeNode[FileNode]) -> None:
        """Add a directory's children once, sorted as chosen."""
        data = node.data
        if data is None or node.children or not data.children:
            return
        for child in data.sorted_children(self.sort_by):
            if child.children:
                node.add(self._node_label(child), child)
            else:
                node.add_leaf(self._node_label(child), child)

    @on(Tree.NodeExpanded, "#layers-tree")
    def _tree_expanded(self, event: Tree.NodeExpanded[FileNode]) -> None:
        self._fill(event.node)

    def _node_label(self, node: FileNode) -> Text:
        mark, style = CHANGE_MARKS[node.change]
        text = Text(no_wrap=True)
        text.append(fmt.size(node.size).rjust(9), style="bold" if node.is_dir else "")
        text.append(f" {mark} ", style=style)
        name = node.name + ("/" if node.is_dir and node.name != "/" else "")
        text.append_text(safe(name, style=style or ("bold" if node.is_dir else "")))
        return text

    def _update_tree_title(self, building: bool = False) -> None:
        if self.analysis is None:
            return
        layer = self.analysis.layers[self.layer_index]
        what = "All files up to layer" if self.aggregated else "Layer"
        status = " · building…" if building else ""
        self.query_one("#layers-tree-title", Static).update(
            f"{what} {layer.index} · +{layer.added} ~{layer.modified} -{layer.removed}"
            f" · by {self.sort_by}{status}"
        )

    # -- actions -------------------------------------------------------------------------------

    def action_toggle_aggregated(self) -> None:
        """This layer's changes, or the whole file system up to this layer."""
        if self.analysis is None:
            return
        self.aggregated = not self.aggregated
        self.show_layer(self.layer_index)

    def action_toggle_sort(self) -> None:
        """Sort the tree by size (largest first) or by name."""
        if self.analysis is None:
            return
        self.sort_by = "name" if self.sort_by == "size" else "size"
        self._render_tree()

    def action_focus_offenders(self) -> None:
        """Jump to the worst offenders table."""
        if self.analysis is not None:
            self.query_one("#layers-offenders", DataTable).focus()

    def action_back(self) -> None:
        """Cancel a running analysis (the stream stops at its next block) and go back."""
        self.workers.cancel_group(self, "layers")
        self.app.pop_screen()
