"""The image table's cells never carry a control character from the daemon (issue 11).

Docker's own reference grammar refuses such names, but another engine, a hostile endpoint or a
member of a fleet answers what it likes: the cells show ``^[`` instead of writing ESC.
"""

from __future__ import annotations

from datetime import datetime, timezone

from tui.safe_text import DANGEROUS
from tui.service.models import Image, ImagePlatforms, image_rows
from tui.widgets.image_table import cell_text, repository_cell

HOSTILE_REPO = "evil\x1b]52;c;aGk=\x07/x\u202e"
HOSTILE_TAG = "t\x1b[2J\x9b"


def test_repository_tag_and_platform_cells_show_control_characters() -> None:
    image = Image(
        id="sha256:" + "cd" * 32,
        repo_tags=(f"{HOSTILE_REPO}:{HOSTILE_TAG}",),
        repo_digests=(),
        created=datetime(2026, 1, 1, tzinfo=timezone.utc),
        size=1,
        platforms=ImagePlatforms(("linux/\x1b[31marm64",), 3, "linux/amd64"),
    )
    (row,) = image_rows(image)
    assert row.repository == HOSTILE_REPO  # the model keeps the name as it is (filter, delete)
    repository = cell_text(row, "repository")
    tag = cell_text(row, "tag")
    cell = repository_cell(row, 80)
    for shown in (repository, tag, cell):
        assert not DANGEROUS.search(shown), repr(shown)
    assert repository.startswith("evil^[]52;c;aGk=^G/x<U+202E>")
    assert tag == "t^[[2J\\x9b"
    assert "^[[31marm64" in cell
