"""UNIQUE and SHARED never look exact when they are estimates (issue 12, point 3).

On the containerd image store those two figures are worked out from image totals (API 1.45
does not give each compressed layer's size): every such cell leads with ``~`` and the help
says why. On the overlay2 store (Docker 20.10 and 26) they are exact: no ``~`` anywhere.
Checked on the real sandbox daemon, in the text the table draws.
"""

from __future__ import annotations

import humanize
import pytest
from textual.widgets import Static

from tests.conftest import Sandbox, current_engine
from tests.ui.pilot import ready, wait_for
from tui.app import ImagedeckApp
from tui.service import ImageService
from tui.widgets.image_table import ESTIMATE_WIDTH, ImageTable, _sized, layout

ENGINE = current_engine().id


@pytest.mark.daemon
@pytest.mark.parametrize("engine_id", [ENGINE])
async def test_unique_and_shared_lead_with_a_tilde_only_where_estimated(
    engine_id: str, sandbox: Sandbox
) -> None:
    host = sandbox.docker_host
    app = ImagedeckApp(lambda: ImageService.connect(host, timeout=30), host_hint=host)
    estimated = current_engine().containerd
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await wait_for(pilot, lambda: screen.usage is not None, "disk usage")
        assert screen.usage is not None
        assert bool(screen.usage.estimate) == estimated, (engine_id, screen.usage.estimate)
        table = screen.query_one(ImageTable)
        columns = layout(120, table.hidden)
        rows = [r for r in screen.model.visible if r.image.unique_size is not None]
        assert rows, engine_id
        for row in rows:
            text = table._cells(row, 120)
            start = 1  # _cells starts with the separator after the state cells
            cells = {}
            for column, width in columns:
                cells[column.id] = text[start : start + width].strip()
                start += width + 1
            for column_id in ("unique", "shared"):
                cell = cells[column_id]
                assert cell.startswith("~") == estimated, (engine_id, row.reference, cells)
                assert "…" not in cell, cells  # an estimate still fits its 8 cells
            assert "~" not in cells["size"], cells  # SIZE is the daemon's own figure
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HelpScreen", "help")
        body = str(app.screen.query_one("#help-body", Static).render())
        assert ("~ in UNIQUE/SHARED marks an estimate" in body) == estimated, engine_id


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (999, "~999 B"),
        (1_234_567, "~1.2 MB"),
        (99_949_999, "~99.9 MB"),
        (123_456_789, "~123 MB"),
        (999_000_000_000, "~999 GB"),
    ],
)
def test_an_estimate_fits_its_cell(value: int, shown: str) -> None:
    assert _sized(value, True) == shown
    assert len(shown) <= ESTIMATE_WIDTH
    # Exact figures are written as before, with their decimal.
    assert _sized(value, False) == (
        f"{value} B" if value < 1000 else humanize.naturalsize(value, format="%.1f")
    )
    assert _sized(None, True) == "…"
