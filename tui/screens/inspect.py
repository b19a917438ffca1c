"""`enter` / `i`: the full `docker inspect` JSON of an image, with a path query and a search."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import ScrollableContainer
from textual.message import Message
from textual.widgets import Footer, Input, Static
from textual.worker import Worker

from tui import format as fmt
from tui.safe_text import scrub, visible
from tui.screens.base import BaseScreen, failure_text
from tui.service.errors import ImagedeckError
from tui.widgets.json_tree import (
    JsonNode,
    JsonPath,
    JsonTree,
    PathError,
    format_path,
    parse_path,
    resolve,
    search,
    value_text,
)

# The result line shows at most this much of a value (`y` copies it whole).
MAX_RESULT = 2000


@dataclass
class InspectLoaded(Message):
    """The inspect document arrived from the worker."""

    data: dict[str, Any]
    #: What ``.Size`` is, when an engine makes it differ from the list's SIZE ("" otherwise).
    size_note: str = ""


@dataclass
class InspectFailed(Message):
    """Inspecting failed; the error says why."""

    error: ImagedeckError


def _b(key: str, action: str, short: str, long: str, bid: str, show: bool = True) -> Binding:
    return Binding(key, action, short, show=show, id=bid, tooltip=long)


class InspectScreen(BaseScreen[None]):
    """The inspect JSON of one image as a lazy tree, a raw view, a path query and a search."""

    CSS_PATH = "inspect.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        _b("escape", "back", "Back", "Close the query or search, else back", "inspect.back"),
        _b("full_stop", "query('.')", "Path", "Path query (.Config.Env)", "inspect.query"),
        _b("colon", "query('')", "Path", "Path query, empty", "inspect.query_empty", show=False),
        _b("slash", "search", "Search", "Search keys and values", "inspect.search"),
        _b("n", "next_match", "Next", "Next search match", "inspect.next", show=False),
        _b("N", "previous_match", "Prev", "Previous search match", "inspect.previous", False),
        _b("r", "toggle_raw", "Raw", "Tree / raw JSON view", "inspect.raw"),
        _b("y", "copy_value", "Copy", "Copy the selected value (OSC 52)", "inspect.copy"),
        _b("Y", "copy_path", "Copy path", "Copy the selected path", "inspect.copy_path", False),
    ]

    def __init__(self, reference: str) -> None:
        super().__init__()
        self.reference = reference
        self.data: dict[str, Any] | None = None
        self.raw = False
        self.matches: list[JsonPath] = []
        self.match_index = -1
        self.search_term = ""

    def compose(self) -> ComposeResult:
        """Header, query and search inputs, result line, tree or raw view, footer."""
        yield Static(f"Inspect {self.reference}", id="inspect-header", markup=False)
        yield Input(
            placeholder="path: .Size  .Config.Env  .RootFS.Layers[0]  {{.Config.Cmd}}",
            id="inspect-query",
            select_on_focus=False,
        )
        yield Input(
            placeholder="search keys and values", id="inspect-search", select_on_focus=False
        )
        yield Static("", id="inspect-result", markup=False)
        yield JsonTree(id="inspect-tree")
        with ScrollableContainer(id="inspect-raw"):
            yield Static("", id="inspect-raw-text")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Show the loading state and start the worker."""
        self.query_one("#inspect-search", Input).display = False
        self.query_one("#inspect-raw").display = False
        # No loading indicator on the tree: a loading widget cannot take focus, which sent it to
        # the path box (`r` typed "r", Esc had to be pressed twice). The result line says
        # "Loading…"; the tree has focus from the start, so every key of the hint works at once.
        self.query_one(JsonTree).focus()
        self._say("Loading…")
        self.load()

    # -- loading -------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="inspect", exit_on_error=False)
    def load(self) -> None:
        """Inspect in a thread; the result comes back as a message."""
        try:
            service = self.service
            # Made safe here, in the thread: keys and values (ENV, labels) are anyone's text.
            data = scrub(service.inspect_image(self.reference))
            store = getattr(service, "image_store", None)
            note = ""
            with contextlib.suppress(ImagedeckError):  # the note is a nicety
                if store is not None and store().containerd:
                    # The list's SIZE adds the unpacked snapshots to this compressed content.
                    note = ".Size = compressed content"
            platforms = getattr(service, "image_platforms", None)
            with contextlib.suppress(ImagedeckError):
                if platforms is not None:
                    found = platforms(data)
                    words = ", ".join(p.describe(fmt.size) for p in found)
                    label = "platforms" if len(found) > 1 else "platform"
                    note = f"{label}: {words}" + (f"  ·  {note}" if note else "")
            self.post_message(InspectLoaded(data, note))
        except ImagedeckError as exc:
            self.post_message(InspectFailed(exc))

    def on_inspect_loaded(self, message: InspectLoaded) -> None:
        """Show the document (only its top level is built)."""
        self.data = message.data
        tree = self.query_one(JsonTree)
        tree.set_document(message.data)
        image_id = str(message.data.get("Id", ""))
        size = len(json.dumps(message.data))
        self.query_one("#inspect-header", Static).update(
            f"Inspect {self.reference}  ·  {image_id.removeprefix('sha256:')[:12]}  ·  "
            f"{len(message.data)} keys, {size:,} bytes of JSON"
            + (f"  ·  {message.size_note}" if message.size_note else "")
        )
        self._say(". path query   / search   r raw JSON   y copy value   Y copy path")

    def worker_failed(self, worker: Worker[Any], error: BaseException | None) -> None:
        """An unexpected failure ends inspecting with its reason, as a service error does."""
        if worker.group == "inspect":
            self.post_message(InspectFailed(ImagedeckError(failure_text(error))))

    def on_inspect_failed(self, message: InspectFailed) -> None:
        """Say what failed."""
        self._say(f"Could not inspect {self.reference}: {visible(str(message.error))}", error=True)

    def _say(self, text: str, error: bool = False) -> None:
        result = self.query_one("#inspect-result", Static)
        result.update(Text(text, style="bold red" if error else ""))
        result.set_class(error, "error")

    # -- the path query ------------------------------------------------------------------------

    def action_query(self, start: str = "") -> None:
        """Focus the path query; `.` also types itself, so `.Size` is typed as it reads."""
        field = self.query_one("#inspect-query", Input)
        # At once, not deferred as `focus()` is: the key typed right after `.` must land in
        # the field, not on the tree (it was lost: `.Config` became ".onfig").
        self.set_focus(field)
        field.value = start
        field.cursor_position = len(start)

    def run_query(self, text: str) -> tuple[JsonPath, Any] | None:
        """Jump to the value at path ``text`` and show it; None (and a message) when unknown."""
        if self.data is None:
            return None
        try:
            path, value = resolve(self.data, parse_path(text))
        except PathError as exc:
            self._say(str(exc), error=True)
            return None
        self._show_tree()
        self.query_one(JsonTree).reveal(path)
        shown = value_text(value)
        if len(shown) > MAX_RESULT:
            shown = shown[:MAX_RESULT] + "…"
        self._say(f"{format_path(path)} = {shown}")
        return path, value

    @on(Input.Changed, "#inspect-query")
    def _query_changed(self, event: Input.Changed) -> None:
        # Jump as you type when the path already exists; errors wait for Enter.
        if self.data is None or event.value.strip() in ("", "."):
            return
        try:
            resolve(self.data, parse_path(event.value))
        except PathError:
            return
        self.run_query(event.value)

    @on(Input.Submitted, "#inspect-query")
    def _query_submitted(self, event: Input.Submitted) -> None:
        if self.run_query(event.value) is not None:
            self.query_one(JsonTree).focus()

    # -- search --------------------------------------------------------------------------------

    def action_search(self) -> None:
        """Show the search input."""
        field = self.query_one("#inspect-search", Input)
        field.display = True
        self.set_focus(field)  # at once: the next key typed is the search's

    @on(Input.Submitted, "#inspect-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self.find(event.value)
        self.query_one(JsonTree).focus()

    def find(self, term: str) -> None:
        """Search keys and values for ``term`` and go to the first match."""
        self.search_term = term
        self.matches = search(self.data, term) if self.data is not None else []
        self.match_index = -1
        if not self.matches:
            self._say(f"No key or value contains {term!r}", error=True)
            return
        self._step(1)

    def _step(self, direction: int) -> None:
        if not self.matches:
            self._say("No search yet: press / to search", error=not self.search_term)
            return
        self.match_index = (self.match_index + direction) % len(self.matches)
        path = self.matches[self.match_index]
        self._show_tree()
        self.query_one(JsonTree).reveal(path)
        _, value = resolve(self.data, path)
        self._say(
            f"match {self.match_index + 1}/{len(self.matches)} for {self.search_term!r} (n/N): "
            f"{format_path(path)} = {value_text(value)[:200]}"
        )

    def action_next_match(self) -> None:
        """Next match."""
        self._step(1)

    def action_previous_match(self) -> None:
        """Previous match."""
        self._step(-1)

    # -- views, copy, back ---------------------------------------------------------------------

    def _show_tree(self) -> None:
        if self.raw:
            self.action_toggle_raw()

    def action_toggle_raw(self) -> None:
        """Switch between the tree and the raw, syntax-highlighted JSON."""
        if self.data is None:
            return
        self.raw = not self.raw
        tree = self.query_one(JsonTree)
        raw = self.query_one("#inspect-raw", ScrollableContainer)
        if self.raw:
            text = json.dumps(self.data, indent=2, ensure_ascii=False)
            self.query_one("#inspect-raw-text", Static).update(
                Syntax(text, "json", theme="ansi_dark", line_numbers=True, word_wrap=False)
            )
        tree.display = not self.raw
        raw.display = self.raw
        (raw if self.raw else tree).focus()

    def _selected(self) -> JsonNode | None:
        if self.raw or self.data is None:
            return None
        return self.query_one(JsonTree).selected

    def action_copy_value(self) -> None:
        """Copy the selected value (the whole document in the raw view) with OSC 52."""
        if self.data is None:
            return
        node = self._selected()
        value = self.data if node is None else node.value
        text = value_text(value) if node is not None else json.dumps(self.data, indent=2)
        self.app.copy_to_clipboard(text)
        where = "the document" if node is None else format_path(node.path)
        self.notify(f"Copied the value of {where} ({len(text)} characters)", timeout=2)

    def action_copy_path(self) -> None:
        """Copy the selected node's path (as `docker inspect -f` takes it)."""
        node = self._selected()
        if node is None:
            return
        path = format_path(node.path)
        self.app.copy_to_clipboard(path)
        self.notify(f"Copied {path}", timeout=2)

    def action_back(self) -> None:
        """Esc: close the search or leave the query first; then back to the image list."""
        search_field = self.query_one("#inspect-search", Input)
        query_field = self.query_one("#inspect-query", Input)
        if search_field.has_focus:
            search_field.display = False
            self.query_one(JsonTree).focus()
            return
        # The tree has focus from the start (even while a daemon that does not answer keeps
        # it empty), so Esc from the list's view always goes back at once.
        if query_field.has_focus:
            self.query_one(JsonTree).focus()
            return
        self.app.pop_screen()
