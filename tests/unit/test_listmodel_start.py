"""The list model's first load is part of the start (issue 15: the list usable soon): rows,
row keys, search texts and every sort order must be what the plain per-row definitions give,
however the model makes them quickly (tie-break ranks, one key per image)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import pytest

from tests.ui.fake import make_image
from tui.format import natural_key
from tui.listmodel import SORT_IDS, ImageListModel, row_key
from tui.service.fleet_members import tag_images
from tui.service.models import Image, image_rows

# Names whose natural keys collide (App/app, 01/1), numbers as numbers, a registry port and a
# name without a tag, upper case, untagged images with and without a digest.
REPOSITORIES = ("demo/app", "demo/App", "web", "a", "a1", "a01", "a10", "localhost:5000/x")
TAGS = ("1", "01", "2", "10", "latest", "Latest", "v1.2", "v1.10")


def _images(seed: int, count: int = 40) -> list[Image]:
    rnd = random.Random(seed)
    images = []
    for n in range(count):
        kind = rnd.random()
        if kind < 0.1:
            tags: tuple[str, ...] = ()
        elif kind < 0.15:
            tags = ("localhost:5000/team/app",)  # no tag: shown as <none>
        else:
            refs = {f"{rnd.choice(REPOSITORIES)}:{rnd.choice(TAGS)}" for _ in range(5)}
            tags = tuple(sorted(refs))
        image = make_image(
            n + 1,
            tags,
            size=rnd.choice((10, 20, 20, 30)),
            shared=rnd.choice((-1, 5, 10)),
            age_days=rnd.choice((1.0, 1.0, 2.0, 3.5)),
            dangling=not tags,
        )
        if not tags and kind < 0.05:
            image = replace(image, repo_digests=(f"demo/gone@sha256:{n:064x}",))
        images.append(image)
    return images


def _reference(images: list[Image], sort: str, descending: bool) -> list[tuple[str, str, str]]:
    """Every row in the list's order by the plain definitions: the column's key, ties by
    (natural repository, natural tag, daemon), Python's stable sort."""
    rows = [row for image in images for row in image_rows(image)]
    ties = sorted(
        rows,
        key=lambda r: (
            natural_key(r.repository),
            natural_key(r.tag),
            getattr(r.image, "daemon", ""),
        ),
    )
    keys = {
        "size": lambda r: r.image.size,
        "unique": lambda r: -1 if r.image.unique_size is None else r.image.unique_size,
        "created": lambda r: r.image.created.timestamp(),
    }
    if sort != "repository":
        ties = sorted(ties, key=keys[sort], reverse=descending)
    elif descending:
        ties = ties[::-1]
    return [(getattr(r.image, "daemon", ""), r.repository, r.tag) for r in ties]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("fleet", [False, True])
def test_every_order_is_the_plain_definitions(seed: int, fleet: bool) -> None:
    images = _images(seed)
    if fleet:
        images = [*tag_images(images[:25], "beta"), *tag_images(images[15:], "alpha")]
    model = ImageListModel()
    model.set_images(images)
    for sort in SORT_IDS:
        model.sort_index = SORT_IDS.index(sort)
        for reverse in (False, True):
            model.reverse = reverse
            model._rebuild(keep=None, narrow=False)
            shown = [(getattr(r.image, "daemon", ""), r.repository, r.tag) for r in model.visible]
            assert shown == _reference(images, sort, model.descending), (sort, reverse)


@pytest.mark.parametrize("seed", range(6))
def test_keys_and_search_texts_are_the_plain_definitions(seed: int) -> None:
    images = [*_images(seed), *tag_images(_images(seed + 10, 10), "beta")]
    model = ImageListModel()
    model.set_images(images)
    rows = [row for image in images for row in image_rows(image)]
    assert [(r.image.id, r.repository, r.tag) for r in model.rows] == [
        (r.image.id, r.repository, r.tag) for r in rows
    ]
    assert model._keys == [row_key(r) for r in rows]
    assert model._search == [f"{r.repository}:{r.tag}".lower() for r in rows]
    # A reload of the same names, and one with a new image ahead, give the same again.
    newer = make_image(999, ("demo/app:new",), age_days=0.5)
    for again in (list(images), [newer, *images]):
        model.set_images(again)
        rows = [row for image in again for row in image_rows(image)]
        assert model._keys == [row_key(r) for r in rows]
        assert model._search == [f"{r.repository}:{r.tag}".lower() for r in rows]


def test_images_created_in_the_same_second_sort_by_name() -> None:
    same = make_image(1, ("b:1", "a:10", "a:9"))
    other = replace(make_image(2, ("a:1",)), created=same.created)
    older = replace(make_image(3, ("z:1",)), created=same.created - timedelta(seconds=1))
    model = ImageListModel()
    model.set_images([older, same, other])
    assert [f"{r.repository}:{r.tag}" for r in model.visible] == [
        "a:1",
        "a:9",
        "a:10",
        "b:1",
        "z:1",
    ]
