"""History, inspect and layers screens against the fake service: keys, queries, search, cancel."""

from __future__ import annotations

import threading
from typing import Any

from textual.widgets import DataTable, Input, Static, Tree

from tests.ui.fake import FakeService, make_app
from tests.ui.look_helpers import (
    history_ready,
    inspect_ready,
    layers_ready,
    open_on,
    type_text,
    wait_for,
)
from tui.screens.images import ImagesScreen
from tui.widgets.json_tree import JsonTree


def _plain(node: Any) -> str:
    return str(node.label.plain)


# -- history -------------------------------------------------------------------------------------


async def test_h_shows_history_newest_first_and_esc_closes() -> None:
    fake = FakeService()
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        screen = await history_ready(pilot)
        tree = screen.query_one("#history-tree", Tree)
        rows = [_plain(n) for n in tree.root.children]
        assert len(rows) == 7
        assert "CMD [" in rows[0] and "○ empty" in rows[0]  # metadata-only, said in words
        assert "● 5 B" in rows[1] and "RUN rm /data/notes.bin" in rows[1]
        assert "LABEL org.imagedeck.seed=wasted" in rows[5] and "○ empty" in rows[5]
        assert "#(nop)" not in "".join(rows) and "/bin/sh -c" not in "".join(rows)
        header = str(screen.query_one("#history-header", Static).render())
        assert "demo/wasted:latest" in header and "5 layers" in header and "3.2 MB" in header
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ImagesScreen), "the list")


async def test_history_truncated_then_full_and_expanded_command_wraps() -> None:
    async with make_app(FakeService()).run_test(size=(80, 24)) as pilot:
        screen = await history_ready(pilot)
        tree = screen.query_one("#history-tree", Tree)
        long_row = tree.root.children[4]
        assert _plain(long_row).rstrip().endswith("…")  # truncated by default
        assert "sha256:" not in _plain(long_row)
        await pilot.press("f")
        await pilot.pause()
        long_row = tree.root.children[4]
        assert "full" in str(screen.query_one("#history-header", Static).render())
        # Full: every step open with its whole command wrapped at the pane's width (as
        # `docker history --no-trunc` gives it); at 80 columns the full ID goes under the row.
        assert long_row.is_expanded
        lines = [_plain(child) for child in long_row.children]
        command = [line for line in lines if not line.startswith("ID ")]
        assert len(command) > 1 and all(len(line) <= 80 for line in command)
        assert " ".join(command).split() == long_row.data.entry.instruction.split()
        assert "ID sha256:" + "0c" * 32 in lines
        # Back to truncated, then opening the step: the command wrapped, then the facts.
        await pilot.press("f")
        await pilot.pause()
        long_row = tree.root.children[4]
        assert not long_row.is_expanded
        tree.move_cursor(long_row)
        await pilot.press("space")
        await pilot.pause()
        lines = [_plain(child) for child in long_row.children]
        command = [line for line in lines if not line.startswith(("ID ", "Created ", "Size "))]
        assert len(command) > 1 and all(len(line) <= 80 for line in command)
        assert " ".join(command).split() == long_row.data.entry.instruction.split()
        assert any(line.startswith("Size     921600 bytes") for line in lines)


async def test_history_failure_is_said() -> None:
    fake = FakeService()
    async with make_app(fake).run_test(size=(80, 24)) as pilot:
        images = pilot.app.images_screen
        await wait_for(pilot, lambda: images.loaded, "the list")
        fake.down = True
        screen = await history_ready(pilot)
        assert screen.error is not None
        assert "Could not read the history" in _plain(screen.query_one(Tree).root.children[0])


# -- inspect -------------------------------------------------------------------------------------


async def test_i_and_enter_open_inspect_with_a_lazy_tree() -> None:
    async with make_app(FakeService()).run_test(size=(120, 40)) as pilot:
        screen = await inspect_ready(pilot)
        tree = screen.query_one(JsonTree)
        keys = [n.data.path[-1] for n in tree.root.children]
        assert keys == ["Id", "RepoTags", "Size", "Config", "RootFS"]
        config = tree.root.children[3]
        assert not config.children and not config.data.loaded  # made only when opened
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ImagesScreen), "the list")
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "InspectScreen", "enter")


async def test_path_query_jumps_and_shows_the_value() -> None:
    async with make_app(FakeService()).run_test(size=(120, 40)) as pilot:
        screen = await inspect_ready(pilot)
        tree = screen.query_one(JsonTree)
        result = screen.query_one("#inspect-result", Static)
        await pilot.press("full_stop")  # opens the query with '.'
        await type_text(pilot, "Size")
        await pilot.press("enter")
        await pilot.pause()
        assert str(result.render()) == ".Size = 3210000"
        assert tree.cursor_node.data.path == ("Size",)

        query = screen.query_one("#inspect-query", Input)
        query.value = ""
        await pilot.press("colon")
        await type_text(pilot, "{{.Config.Cmd}}")
        await pilot.press("enter")
        await pilot.pause()
        assert str(result.render()) == '.Config.Cmd = ["sh"]'
        assert tree.cursor_node.data.path == ("Config", "Cmd")

        screen.run_query(".RootFS.Layers[0]")
        await pilot.pause()
        assert tree.cursor_node.data.path == ("RootFS", "Layers", 0)

        query.value = ""
        await pilot.press("colon")
        await type_text(pilot, ".Config.Nope")
        await pilot.press("enter")
        await pilot.pause()
        assert "No such path" in str(result.render()) and "'Nope'" in str(result.render())
        assert result.has_class("error")
        await pilot.press("escape")  # leaves the query, then the screen
        assert tree.has_focus
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ImagesScreen), "the list")


async def test_search_steps_through_matches() -> None:
    async with make_app(FakeService()).run_test(size=(120, 40)) as pilot:
        screen = await inspect_ready(pilot)
        tree = screen.query_one(JsonTree)
        await pilot.press("slash")
        await type_text(pilot, "sha256")
        await pilot.press("enter")
        await pilot.pause()
        result = screen.query_one("#inspect-result", Static)
        assert str(result.render()).startswith("match 1/2 for 'sha256'")
        assert tree.cursor_node.data.path == ("Id",)
        await pilot.press("n")
        await pilot.pause()
        assert str(result.render()).startswith("match 2/2")
        assert tree.cursor_node.data.path == ("RootFS", "Layers", 0)
        await pilot.press("N")
        await pilot.pause()
        assert tree.cursor_node.data.path == ("Id",)
        await pilot.press("slash")
        screen.query_one("#inspect-search", Input).value = ""
        await type_text(pilot, "zzz")
        await pilot.press("enter")
        assert "No key or value contains 'zzz'" in str(result.render())


async def test_raw_view_and_copy() -> None:
    copied: list[str] = []
    async with make_app(FakeService()).run_test(size=(120, 40)) as pilot:
        pilot.app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
        screen = await inspect_ready(pilot)
        screen.run_query(".Config.Env")
        await pilot.pause()
        await pilot.press("y")
        await pilot.press("Y")
        assert copied == ['["PATH=/bin"]', ".Config.Env"]
        await pilot.press("r")
        await pilot.pause()
        assert screen.raw and screen.query_one("#inspect-raw").display
        assert not screen.query_one(JsonTree).display
        await pilot.press("r")
        assert not screen.raw and screen.query_one(JsonTree).display


# -- layers --------------------------------------------------------------------------------------


async def test_l_streams_with_progress_then_shows_layers_and_waste() -> None:
    fake = FakeService()
    fake.analyze_gate = threading.Event()  # type: ignore[attr-defined]
    async with make_app(fake).run_test(size=(120, 40)) as pilot:
        screen = await open_on(pilot, "demo/wasted:latest", "l")
        text = screen.query_one("#layers-progress-text", Static)
        await wait_for(pilot, lambda: "Streaming docker save" in str(text.render()), "progress")
        assert "Esc cancels" in str(text.render())
        assert not screen.query_one("#layers-body").display
        fake.analyze_gate.set()  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: screen.tree_root is not None, "the analysis")
        table = screen.query_one("#layers-table", DataTable)
        assert table.row_count == 5
        assert [str(c) for c in table.get_row_at(4)[2:5]] == ["1", "0", "1"]
        offenders = screen.query_one("#layers-offenders", DataTable)
        assert [str(offenders.get_row_at(i)[2]) for i in range(offenders.row_count)] == [
            "/data/blob.bin",
            "/data/notes.bin",
        ]
        score = str(screen.query_one("#layers-score", Static).render())
        assert "Efficiency 80.60 %" in score and "wasted 819.2 kB" in score

        # The cursor on layer 3 shows its change tree: /data/cache removed (marked "-").
        await pilot.press("down", "down", "down")
        await wait_for(
            pilot,
            lambda: (
                screen.layer_index == 3
                and screen.tree_root is not None
                and screen.tree_root.find("/data/cache") is not None
            ),
            "layer 3",
        )
        tree = screen.query_one("#layers-tree", Tree)
        await wait_for(pilot, lambda: any("- cache/" in _plain(n) for n in _walk(tree)), "tree")

        # Aggregated: everything up to layer 3, largest first; `s` sorts by name.
        await pilot.press("a")
        await wait_for(
            pilot,
            lambda: (
                screen.tree_root is not None and screen.tree_root.find("/bin/busybox") is not None
            ),
            "aggregated",
        )
        await pilot.pause()
        top = [_plain(n).split()[-1] for n in tree.root.children]
        assert top == ["bin/", "data/", "etc/"]
        await pilot.press("s")
        await pilot.pause()
        data = next(n for n in tree.root.children if _plain(n).endswith("data/"))
        tree.select_node(data)
        await pilot.pause()
        names = [_plain(n).split()[-1] for n in data.children]
        assert names == sorted(names)


def _walk(tree: Tree[Any]) -> list[Any]:
    out: list[Any] = []
    stack = list(tree.root.children)
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(node.children)
    return out


async def test_esc_cancels_the_stream() -> None:
    fake = FakeService()
    fake.analyze_gate = threading.Event()  # never opened: the stream hangs  # type: ignore[attr-defined]
    async with make_app(fake).run_test(size=(80, 24)) as pilot:
        screen = await open_on(pilot, "demo/wasted:latest", "l")
        text = screen.query_one("#layers-progress-text", Static)
        await wait_for(pilot, lambda: "Streaming" in str(text.render()), "progress")
        worker = next(w for w in pilot.app.workers if w.group == "layers")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ImagesScreen), "the list")
        assert worker.cancelled_event.is_set()  # what the service's stream watches
        await wait_for(pilot, lambda: worker.is_finished, "the worker to stop")
        assert screen.analysis is None


async def test_layers_failure_is_said() -> None:
    fake = FakeService()
    async with make_app(fake).run_test(size=(80, 24)) as pilot:
        images = pilot.app.images_screen
        await wait_for(pilot, lambda: images.loaded, "the list")
        fake.down = True
        screen = await layers_ready(pilot)
        text = str(screen.query_one("#layers-progress-text", Static).render())
        assert "Could not analyse demo/wasted:latest" in text and "connection refused" in text
