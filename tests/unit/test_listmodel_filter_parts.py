"""The filter with a row's search text held in two parts (its name per row, its image's ID and
fleet daemon per image): it must show exactly the rows whose whole text ``repo:tag ID daemon``
contains the needle, as the one string per row did, and say when the rows shown changed."""

from __future__ import annotations

import pytest

from tests.ui.fake import make_image
from tui.listmodel import ImageListModel, ShownRows
from tui.service.fleet_members import tag_images
from tui.service.models import Image, image_rows


def _images() -> list[Image]:
    return [
        make_image(1, ("demo/app:1", "demo/app:10", "demo/App2:Latest")),
        make_image(2, ("demo/app:2", "web/front:latest")),
        make_image(0xABCD, ("web/abcd:1",)),
        make_image(4, (), dangling=True),
    ]


def _fleet() -> list[Image]:
    return [*tag_images(_images()[:2], "alpha"), *tag_images(_images()[1:], "beta")]


def _expected(images: list[Image], needle: str) -> set[tuple[str, str, str, str]]:
    """The rows the old single search string per row matched."""
    found = set()
    for image in images:
        daemon = getattr(image, "daemon", "")
        where = f" {daemon}".lower() if daemon else ""
        for row in image_rows(image):
            text = f"{row.repository}:{row.tag} {image.id.removeprefix('sha256:')}{where}".lower()
            if needle.strip().lower() in text:
                found.add((daemon, image.id, row.repository, row.tag))
    return found


NEEDLES = [
    "demo", "app:1", "latest", "LATEST", "0001", "00010001", "abcd", "web/abcd:1 abcd",
    "1 0001", "latest 0002", ":latest 00020002", "front:latest 0002", "alpha", "0002 beta",
    "0001 alpha", "beta", "zzz", "<none>", "none> 0004", " app ", "a",
]  # fmt: skip


@pytest.mark.parametrize("fleet", [False, True], ids=["one daemon", "fleet"])
@pytest.mark.parametrize("needle", NEEDLES)
def test_the_rows_shown_are_those_whose_whole_text_holds_the_needle(
    needle: str, fleet: bool
) -> None:
    images = _fleet() if fleet else _images()
    model = ImageListModel()
    model.set_images(images)
    model.set_filter(needle)
    shown = {
        (getattr(r.image, "daemon", ""), r.image.id, r.repository, r.tag) for r in model.visible
    }
    assert shown == _expected(images, needle)


def test_typing_on_narrows_and_backspace_widens_exactly() -> None:
    images = _images()
    model = ImageListModel()
    model.set_images(images)
    for needle in ["0", "00", "000", "0001", "00010", "0001", "000", "0", ""]:
        model.set_filter(needle)
        shown = {(r.image.id, r.repository, r.tag) for r in model.visible}
        assert shown == {key[1:] for key in _expected(images, needle)}, needle


def test_set_filter_says_whether_the_rows_shown_changed() -> None:
    model = ImageListModel()
    model.set_images(_images())
    assert model.set_filter("d") is True  # the dangling image's <none> row goes
    assert model.set_filter("de") is True  # web/... go
    assert model.set_filter("dem") is False  # every demo/ row still shown, nothing else
    assert model.set_filter("dem ") is False  # the same needle once stripped
    assert model.set_filter("demo/app:1") is True
    assert model.set_filter("") is True


def test_the_shown_rows_read_like_a_list() -> None:
    model = ImageListModel()
    model.set_images(_images())
    model.set_filter("demo")
    visible = model.visible
    assert isinstance(visible, ShownRows)
    as_list = list(visible)
    assert len(visible) == len(as_list) == 4  # demo/app:1, :10, :2, demo/App2:Latest
    assert [visible[i] for i in range(len(visible))] == as_list
    assert visible[-1] is as_list[-1]
    assert visible[1:] == as_list[1:]
    assert visible[:0] == []
    with pytest.raises(IndexError):
        visible[4]
