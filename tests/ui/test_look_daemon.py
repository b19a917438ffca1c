"""End to end against the sandbox daemon: h, i and l on demo/wasted:latest, checked with the CLI."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from textual.widgets import DataTable, Static, Tree

from tests.ui.look_helpers import history_ready, inspect_ready, layers_ready, type_text
from tui.app import ImagedeckApp
from tui.widgets.json_tree import JsonTree

DockerCli = Callable[..., subprocess.CompletedProcess[str]]
WASTED = "demo/wasted:latest"


def _app(service: Any) -> ImagedeckApp:
    return ImagedeckApp(lambda: service, host_hint=service.host)


def _cli(docker_cli: DockerCli, *args: str) -> str:
    result = docker_cli(*args)
    assert result.returncode == 0, result.stderr
    return str(result.stdout).strip()


@pytest.mark.daemon
async def test_history_screen_matches_docker_history(service: Any, docker_cli: DockerCli) -> None:
    lines = _cli(docker_cli, "history", "--no-trunc", "--format", "{{json .}}", WASTED)
    expected = [(row["ID"], row["CreatedBy"]) for row in map(json.loads, lines.splitlines())]
    async with _app(service).run_test(size=(120, 40)) as pilot:
        screen = await history_ready(pilot, WASTED)
        await pilot.press("f")  # --no-trunc
        await pilot.pause()
        nodes = screen.query_one("#history-tree", Tree).root.children
        assert [n.data.entry.created_by for n in nodes] == [
            created_by for _, created_by in expected
        ]
        for node, (image_id, _) in zip(nodes, expected, strict=True):
            assert image_id in node.label.plain


@pytest.mark.daemon
async def test_inspect_query_matches_docker_inspect(service: Any, docker_cli: DockerCli) -> None:
    size = _cli(docker_cli, "inspect", "-f", "{{.Size}}", WASTED)
    env = _cli(docker_cli, "inspect", "-f", "{{json .Config.Env}}", WASTED)
    async with _app(service).run_test(size=(120, 40)) as pilot:
        screen = await inspect_ready(pilot, WASTED)
        result = screen.query_one("#inspect-result", Static)
        await pilot.press("full_stop")
        await type_text(pilot, "Size")
        await pilot.press("enter")
        await pilot.pause()
        assert str(result.render()) == f".Size = {size}"
        await pilot.press("colon")
        await type_text(pilot, "{{.Config.Env}}")
        await pilot.press("enter")
        await pilot.pause()
        assert str(result.render()) == f".Config.Env = {env}"
        assert screen.query_one(JsonTree).cursor_node.data.value == json.loads(env)


@pytest.mark.daemon
async def test_layers_screen_shows_the_wasted_files(service: Any) -> None:
    async with _app(service).run_test(size=(120, 40)) as pilot:
        screen = await layers_ready(pilot, WASTED)
        assert screen.analysis is not None
        assert screen.query_one("#layers-table", DataTable).row_count == 5
        offenders = screen.query_one("#layers-offenders", DataTable)
        rows = [offenders.get_row_at(i) for i in range(offenders.row_count)]
        assert [(str(r[1]), str(r[2])) for r in rows] == [
            ("2", "/data/blob.bin"),
            ("2", "/data/notes.bin"),
        ]
        assert screen.analysis.wasted_bytes == 307_200 * 2 + 204_800
