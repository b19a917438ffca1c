"""The list model's per-row memory (issue 15, resident memory): a row's search text is the
image's own ``repo:tag`` string when that already is lower case (not an equal copy per row),
and the tie-break keys are made for the sort and let go, with the same order as before."""

from __future__ import annotations

from tests.ui.fake import make_image
from tui.listmodel import ImageListModel, natural_key
from tui.service.fleet_members import tag_images
from tui.service.models import Image, image_rows


def _images() -> list[Image]:
    return [
        make_image(1, ("demo/app:1", "demo/app:10", "demo/app:2", "demo/app:Latest")),
        make_image(2, ("demo/app:9", "web/front:latest")),
        make_image(3, (), dangling=True),
    ]


def test_search_text_is_the_image_own_string_when_lower_case() -> None:
    model = ImageListModel()
    model.set_images(_images())
    by_name = {f"{row.repository}:{row.tag}": n for n, row in enumerate(model.rows)}
    for image in _images()[:2]:
        for ref in image.repo_tags:
            text = model._search[by_name[ref]]
            assert text == ref.lower()
    assert len(model.rows) == 7
    for n, row in enumerate(model.rows):
        ref = f"{row.repository}:{row.tag}"
        if ref in row.image.repo_tags and ref == ref.lower():
            # The very string the image holds, not a copy.
            assert any(model._search[n] is held for held in row.image.repo_tags)
    # An upper-case tag gets a lower-case search text of its own, and the filter finds it.
    assert model._search[by_name["demo/app:Latest"]] == "demo/app:latest"
    model.set_filter("app:lat")
    assert [f"{r.repository}:{r.tag}" for r in model.visible] == ["demo/app:Latest"]


def _old_tie_order(images: list[Image]) -> list[tuple[str, str, str]]:
    """The tie-break order as the per-row key tuples gave it."""
    rows = [
        (natural_key(row.repository), natural_key(row.tag), getattr(image, "daemon", ""), row)
        for image in images
        for row in image_rows(image)
    ]
    rows.sort(key=lambda r: r[:3])
    return [(r[2], r[3].repository, r[3].tag) for r in rows]


def test_repository_order_is_the_tie_break_order_as_before() -> None:
    for images in (_images(), [*tag_images(_images(), "beta"), *tag_images(_images(), "alpha")]):
        model = ImageListModel(sort="repository")
        model.set_images(images)
        shown = [(getattr(r.image, "daemon", ""), r.repository, r.tag) for r in model.visible]
        assert shown == _old_tie_order(images)
        # A reload (the same names again) keeps it.
        model.set_images(list(images))
        again = [(getattr(r.image, "daemon", ""), r.repository, r.tag) for r in model.visible]
        assert again == shown
