"""`s`: search a registry, like `docker search`, and pull from the results.

A plain term searches Docker Hub through the daemon; ``host:port/term`` searches that index.
For a private registry (``host:port/`` or ``host:port/term``) the repositories of its v2
catalog that match are listed too, with their tags. Errors (no network, a registry without
search, a timeout) are shown in the screen; nothing here raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Checkbox, DataTable, Footer, Input, Label, Static
from textual.worker import Worker

from tui import format as fmt
from tui.safe_text import scrub, visible
from tui.screens.base import BaseScreen, failure_text, features
from tui.service.api import ImageServiceAPI
from tui.service.errors import ImagedeckError
from tui.service.models import Image
from tui.service.registry_catalog import SearchResult, split_registry_term

DEFAULT_LIMIT = 25


@dataclass
class SearchDone(Message):
    """Results of one search (``query`` says which, so a stale answer is ignored)."""

    query: str
    results: list[SearchResult]
    note: str
    error: str


def _b(key: str, action: str, short: str, long: str, bid: str, show: bool = True) -> Binding:
    return Binding(key, action, short, show=show, id=bid, tooltip=long)


class SearchScreen(BaseScreen[None]):
    """Query, filters, results; Enter or p pulls the highlighted result."""

    CSS_PATH = "search.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        _b("escape", "back", "Back", "Back to the image list", "search.back"),
        _b("p", "pull", "Pull", "Pull the highlighted result", "search.pull"),
        _b("slash", "focus_query", "Query", "Edit the query", "search.query"),
        _b("T", "transfers", "Transfers", "Show pulls and pushes", "search.transfers", False),
    ]

    def __init__(self, query: str = "") -> None:
        super().__init__()
        self.initial_query = query
        self.results: list[SearchResult] = []
        self.query_text = ""

    def compose(self) -> ComposeResult:
        """Query and filters on top, results below, a status line, the footer."""
        yield Static("Search a registry", id="search-title", markup=False)
        yield Input(
            self.initial_query,
            placeholder="term · host:port/term for another index · host:port/ lists a registry",
            id="search-query",
        )
        with Horizontal(id="search-filters"):
            yield Label("min stars")
            yield Input("0", type="integer", id="search-stars")
            yield Checkbox("official only", id="search-official")
            yield Label("limit")
            yield Input(str(DEFAULT_LIMIT), type="integer", id="search-limit")
        yield Static("Type a term and press Enter.", id="search-status", markup=False)
        table: DataTable[Any] = DataTable(
            id="search-results", cursor_type="row", zebra_stripes=True
        )
        yield table
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Columns; focus the query (or search at once when one was given)."""
        table = self.query_one("#search-results", DataTable)
        table.add_column("NAME", key="name")
        table.add_column("DESCRIPTION", key="description")
        table.add_column("STARS", key="stars")
        table.add_column("OFFICIAL", key="official")
        self.query_one("#search-query", Input).focus()
        if self.initial_query:
            self.run_search()

    # -- searching ---------------------------------------------------------------------------

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.run_search()

    @on(Checkbox.Changed, "#search-official")
    def _official_changed(self) -> None:
        if self.query_one("#search-query", Input).value.strip():
            self.run_search()

    def _filters(self) -> tuple[int, bool, int]:
        stars_text = self.query_one("#search-stars", Input).value.strip()
        limit_text = self.query_one("#search-limit", Input).value.strip()
        stars = max(int(stars_text), 0) if stars_text.lstrip("-").isdigit() else 0
        limit = int(limit_text) if limit_text.isdigit() and int(limit_text) > 0 else DEFAULT_LIMIT
        official = self.query_one("#search-official", Checkbox).value
        return stars, official, min(limit, 100)

    def run_search(self) -> None:
        """Search with the current query and filters (in a worker)."""
        query = self.query_one("#search-query", Input).value.strip()
        status = self.query_one("#search-status", Static)
        if not query:
            status.update("Type a term and press Enter.")
            return
        self.query_text = query
        stars, official, limit = self._filters()
        status.update(f"Searching {query}…")
        if not self.has_service:
            status.update("Not connected to a Docker daemon.")
            return
        service = self.service
        self.search(service, query, stars, official, limit)

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def search(
        self, service: ImageServiceAPI, query: str, stars: int, official: bool, limit: int
    ) -> None:
        """Ask the daemon (and a private registry's catalog); report one SearchDone."""
        results: list[SearchResult] = []
        errors: list[str] = []
        notes: list[str] = []
        registry = split_registry_term(query)
        if registry is None or registry[1]:
            try:
                found = service.search(query, limit=limit, min_stars=stars, official_only=official)
                if registry is not None:
                    # Results of another index live on that host, not on Docker Hub.
                    found = [_qualified(r, registry[0]) for r in found]
                results += found
            except ImagedeckError as exc:
                errors.append(str(exc))
        index_is_registry = False
        if registry is not None and not official and stars == 0:
            # Tags are asked only for the hits that fit under the limit; the note counts all.
            room = max(limit - len(results), 0)
            try:
                listed = service.catalog(registry[0], registry[1], max_repos=room)
            except ImagedeckError as exc:
                if not results:
                    errors.append(str(exc))
            else:
                index_is_registry = True
                if listed.matching:
                    notes.append(listed.summary(registry[0]))
                    errors.clear()  # the catalog answered: the missing search is no news
                results += listed
        if registry is not None and results and not index_is_registry:
            # The index is not a registry: its hits are pulled from the registry that has them.
            results, note = _locate(service, results, registry[0], registry[1])
            if note:
                notes.append(note)
        # Registry answers are anyone's text: made safe here, in the thread.
        self.post_message(
            SearchDone(query, scrub(results), "; ".join(notes), visible(" ".join(errors)))
        )

    def worker_failed(self, worker: Worker[Any], error: BaseException | None) -> None:
        """An unexpected failure ends "Searching…" with the reason."""
        if worker.group == "search":
            self.post_message(SearchDone(self.query_text, [], "", failure_text(error)))

    def on_search_done(self, message: SearchDone) -> None:
        """Fill the table, or say what went wrong."""
        if message.query != self.query_text:
            return
        self.results = message.results
        table = self.query_one("#search-results", DataTable)
        table.clear()
        # Leave room for the name, stars and official columns so no horizontal scrollbar shows.
        name_width = max((len(r.name) for r in self.results), default=4)
        width = max(self.size.width - name_width - 26, 12)
        for index, result in enumerate(self.results):
            table.add_row(
                # Text, never str: DataTable parses str cells as markup.
                Text(result.name),
                Text(fmt.ellipsize(" ".join(result.description.split()), width)),
                Text(str(result.stars), justify="right"),
                Text("[OK]" if result.official else ""),
                key=str(index),
            )
        status = self.query_one("#search-status", Static)
        if message.error:
            status.update(f"⚠ {message.error}")
            status.add_class("error")
        else:
            status.remove_class("error")
            count = len(self.results)
            text = f"{count} result{'s' if count != 1 else ''} for {message.query}"
            if message.note:
                text += f" ({message.note})"
            if count:
                text += " · Enter or p pulls the highlighted one"
            status.update(text)
        if self.results:
            table.focus()

    # -- keys ---------------------------------------------------------------------------------

    def selected(self) -> SearchResult | None:
        """The highlighted result."""
        table = self.query_one("#search-results", DataTable)
        if not self.results or not 0 <= table.cursor_row < len(self.results):
            return None
        return self.results[table.cursor_row]

    @on(DataTable.RowSelected, "#search-results")
    def _row_selected(self) -> None:
        self.action_pull()

    def action_pull(self) -> None:
        """Open the pull dialog with the highlighted result (choose tag / platform there)."""
        result = self.selected()
        if result is None:
            return
        if result.sources and not result.resolved:
            why = "The index does not say which registry serves it. Pull from:"
            features(self.app).action_pull(result.sources[0], choices=result.sources, why=why)
            return
        features(self.app).action_pull(result.pull_reference)

    def action_focus_query(self) -> None:
        """Back to the query field."""
        self.query_one("#search-query", Input).focus()

    def action_transfers(self) -> None:
        """The transfers screen."""
        features(self.app).action_transfers()

    def action_back(self) -> None:
        """Back to the list."""
        self.app.pop_screen()


def _qualified(result: SearchResult, host: str) -> SearchResult:
    """A hit from another index, named so that a pull goes to that host."""
    if result.name.startswith(f"{host}/"):
        return result
    return replace(result, name=f"{host}/{result.name}")


def registry_hosts(images: Sequence[Image]) -> list[str]:
    """The registries named by local tags (``host:port/...``), in first-seen order."""
    hosts: list[str] = []
    for image in images:
        for tag in image.repo_tags:
            named = split_registry_term(tag)
            if named is not None and named[0] not in hosts and named[0] != "docker.io":
                hosts.append(named[0])
    return hosts


def _locate(
    service: ImageServiceAPI, results: list[SearchResult], index: str, term: str
) -> tuple[list[SearchResult], str]:
    """Hits of ``index`` (an index, not a registry) pointed at the registry that has each.

    The registries asked are the ones local tags name (the index's own host aside): their v2
    catalogs say which has each repository. A hit that exactly one of them has is pulled from
    it (its tags too); any other keeps a list of choices for the pull dialog, safest first:
    the registries that have it, then the index's own host, Docker Hub last (a public name
    there may be anyone's image).
    """
    try:
        hosts = [h for h in registry_hosts(service.list_images()) if h != index]
    except ImagedeckError:
        hosts = []
    catalogs: dict[str, dict[str, tuple[str, ...]]] = {}
    for host in hosts:
        try:
            listed = service.catalog(host, term)
        except ImagedeckError:
            continue  # not reachable or no catalog: it cannot be the one
        catalogs[host] = {r.name.removeprefix(f"{host}/"): r.tags for r in listed}
    located: list[SearchResult] = []
    found_in: set[str] = set()
    for result in results:
        bare = result.name.removeprefix(f"{index}/")
        having = [(h, c[bare]) for h, c in catalogs.items() if bare in c]
        refs = tuple(_with_tag(f"{h}/{bare}", tags) for h, tags in having)
        if len(having) == 1:
            host = having[0][0]
            found_in.add(host)
            located.append(
                replace(
                    result, name=f"{host}/{bare}", tags=having[0][1], sources=refs, resolved=True
                )
            )
        else:
            guesses = (f"{index}/{bare}", f"docker.io/{bare}")
            located.append(replace(result, sources=refs + guesses))
    if found_in:
        return located, f"{index} is an index; pulls come from {', '.join(sorted(found_in))}"
    return located, ""


def _with_tag(name: str, tags: tuple[str, ...]) -> str:
    """``name:tag`` with ``latest`` when the registry has it, else its first tag."""
    if not tags:
        return name
    return f"{name}:{'latest' if 'latest' in tags else tags[0]}"
