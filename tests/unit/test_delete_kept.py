"""Issue 14 item 14: the delete dialog's plan says which items the daemon will only untag
because child images are built on them (and names them), and leaves the others as they are."""

from __future__ import annotations

from datetime import datetime, timezone

from tui.modals.delete import plan_lines
from tui.service.cleanup import plan_delete
from tui.service.models import Image, image_rows


def image(ident: str, *tags: str) -> Image:
    return Image(
        id="sha256:" + ident * 64,
        repo_tags=tags,
        repo_digests=(),
        created=datetime(2026, 1, 1, tzinfo=timezone.utc),
        size=1,
    )


def test_an_image_with_children_is_drawn_as_an_untag_with_the_reason() -> None:
    parent, other = image("a", "demo/stopped:latest"), image("b", "demo/other:1")
    plan = plan_delete(image_rows(parent) + image_rows(other))
    assert plan.deletes == 2
    before = plan_lines(plan).plain
    assert "delete demo/stopped:latest" in before
    after = plan_lines(plan, {parent.id: ("demo/child:1",)}).plain
    assert "untag  demo/stopped:latest" in after
    assert "only untagged: 1 child image built on it (demo/child:1)" in after
    assert "delete demo/other:1" in after  # the image without children still goes
    assert "delete demo/stopped" not in after
