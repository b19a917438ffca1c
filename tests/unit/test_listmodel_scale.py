"""ImageListModel at 10,000 rows: filtering, sorting, marking and reloads stay right.

Correctness only (speed is measured in benchmarks/): the cached orders, the narrowing filter and
the per-image reuse on reload must give exactly what a fresh model gives.
"""

from __future__ import annotations

from dataclasses import replace

from tests.ui.fake import make_image
from tui.listmodel import ImageListModel, row_key
from tui.service.models import Image

IMAGES = 50
TAGS_PER_IMAGE = 200  # 10,000 rows


def many_images(images: int = IMAGES, tags: int = TAGS_PER_IMAGE) -> list[Image]:
    """``images`` images with ``tags`` numeric tags each (1 ... tags), sizes and ages varied."""
    return [
        make_image(
            n + 1,
            tuple(f"bench/app{n:02d}:{t}" for t in range(1, tags + 1)),
            size=10_000 + 37 * ((n * 7) % IMAGES),
            shared=5_000 + n,
            age_days=1 + (n * 3) % IMAGES,
        )
        for n in range(images)
    ]


def _loaded(sort: str = "created") -> ImageListModel:
    model = ImageListModel(sort=sort)
    model.set_images(many_images())
    return model


def _refs(model: ImageListModel) -> list[str]:
    return [r.reference for r in model.visible]


def test_ten_thousand_rows() -> None:
    model = _loaded()
    assert len(model.rows) == len(model.visible) == IMAGES * TAGS_PER_IMAGE == 10_000


def test_filter_as_typed_matches_a_fresh_model_at_each_keystroke() -> None:
    model = _loaded()
    typed = "bench/app1"
    steps = [typed[: i + 1] for i in range(len(typed))] + [":1", ":12", ":1", ""]
    steps += [typed[:i] for i in range(len(typed), -1, -1)]
    for text in steps:
        model.set_filter(text)
        fresh = _loaded()
        fresh.set_filter(text)
        assert _refs(model) == _refs(fresh), text
    model.set_filter("bench/app1")
    assert len(model.visible) == 10 * TAGS_PER_IMAGE  # app10 ... app19
    model.set_filter(":12")
    expected = {f"bench/app{n:02d}:{t}" for n in range(IMAGES) for t in (12, 120, 121, 122)}
    expected |= {f"bench/app{n:02d}:{t}" for n in range(IMAGES) for t in range(123, 130)}
    assert set(_refs(model)) == expected


def test_repository_sort_orders_tags_as_numbers() -> None:
    model = _loaded(sort="repository")
    first = [r.tag for r in model.visible[:TAGS_PER_IMAGE]]
    assert first == [str(t) for t in range(1, TAGS_PER_IMAGE + 1)]  # 1, 2, ... 10, ... 200
    assert model.visible[0].reference == "bench/app00:1"
    assert model.visible[-1].reference == f"bench/app{IMAGES - 1:02d}:{TAGS_PER_IMAGE}"
    model.toggle_reverse()
    assert model.visible[0].reference == f"bench/app{IMAGES - 1:02d}:{TAGS_PER_IMAGE}"
    assert [r.tag for r in model.visible[:3]] == ["200", "199", "198"]


def test_every_sort_keeps_the_cursor_row_and_all_rows() -> None:
    model = _loaded()
    model.select(row_key(next(r for r in model.rows if r.reference == "bench/app33:77")))
    everything = set(_refs(model))
    for _ in range(8):  # every column, both directions
        model.next_sort()
        assert model.current().reference == "bench/app33:77"  # type: ignore[union-attr]
        assert set(_refs(model)) == everything
        model.toggle_reverse()
        assert model.current().reference == "bench/app33:77"  # type: ignore[union-attr]
    sizes = [r.image.size for r in _loaded(sort="size").visible]
    assert sizes == sorted(sizes, reverse=True)


def test_mark_all_shown_then_filter_and_reload_keep_marks_cursor_and_filter() -> None:
    model = _loaded()
    model.set_filter("app07:")
    model.mark_all_visible()
    assert len(model.marks) == TAGS_PER_IMAGE
    model.select(row_key(next(r for r in model.visible if r.tag == "150")))
    model.set_filter("app07:1")  # narrower: the cursor row still shows
    assert model.current().reference == "bench/app07:150"  # type: ignore[union-attr]

    # A daemon event reload: usage figures change, one image loses its tags, one is new.
    images = [replace(i, shared_size=1) for i in many_images() if "bench/app03:1" not in i.tags]
    images.append(make_image(999, ("bench/new:1", "bench/app07:1x")))
    model.set_images(images)

    assert model.filter_text == "app07:1"
    assert model.current().reference == "bench/app07:150"  # type: ignore[union-attr]
    assert len(model.marks) == TAGS_PER_IMAGE  # all of app07 survived; the new row is unmarked
    assert "bench/app07:1x" in _refs(model)
    assert not model.is_marked(next(r for r in model.visible if r.tag == "1x"))
    assert {r.reference for r in model.targets()} == {
        f"bench/app07:{t}" for t in range(1, TAGS_PER_IMAGE + 1)
    }
    assert len(model.rows) == 10_000 - TAGS_PER_IMAGE + 2
    assert all(r.image.shared_size == 1 for r in model.rows if r.image.id != images[-1].id)


def test_reload_that_removes_the_cursor_row_keeps_the_cursor_in_range() -> None:
    model = _loaded()
    model.move_to(-1)
    gone = model.current().image.id  # type: ignore[union-attr]
    model.set_images([i for i in many_images() if i.id != gone])
    assert len(model.visible) == 10_000 - TAGS_PER_IMAGE
    assert model.cursor == len(model.visible) - 1
