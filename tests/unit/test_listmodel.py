"""ImageListModel: filter, sort, marks, cursor and reloads on plain rows (no Textual)."""

from __future__ import annotations

from dataclasses import replace

from tests.ui.fake import make_image
from tui.listmodel import SORT_IDS, ImageListModel, row_key
from tui.service.models import Image


def _images() -> list[Image]:
    return [
        make_image(1, ("demo/app:1", "demo/app:10"), size=5_000, shared=1_000, age_days=5),
        make_image(2, ("demo/app:2",), size=9_000, shared=8_000, age_days=4),
        make_image(3, ("web/Front:latest",), size=1_000, shared=None, age_days=3),  # type: ignore[arg-type]
        make_image(4, (), size=7_000, shared=0, dangling=True, age_days=2),
        make_image(5, ("demo/zeta:1",), size=3_000, shared=3_000, age_days=1),
    ]


def _model(sort: str = "created") -> ImageListModel:
    model = ImageListModel(sort=sort)
    model.set_images(_images())
    return model


def _refs(model: ImageListModel) -> list[str]:
    return [f"{r.repository}:{r.tag}" for r in model.visible]


def test_one_row_per_tag_and_one_for_an_untagged_image() -> None:
    model = _model()
    assert len(model.rows) == 6
    assert "<none>:<none>" in _refs(model)


def test_filter_by_repository_tag_and_id_case_insensitive() -> None:
    model = _model()
    model.set_filter("DEMO/APP")
    assert sorted(_refs(model)) == ["demo/app:1", "demo/app:10", "demo/app:2"]
    model.set_filter(":10")
    assert _refs(model) == ["demo/app:10"]
    model.set_filter("  front  ")  # trimmed
    assert _refs(model) == ["web/Front:latest"]
    short_id = make_image(4, ()).short_id
    model.set_filter(short_id[:6])
    assert _refs(model) == ["<none>:<none>"]
    model.set_filter("sha256")  # the prefix is not part of the searched ID
    assert _refs(model) == []
    model.set_filter("")
    assert len(model.visible) == 6


def test_narrowing_and_widening_filter_match_a_fresh_filter() -> None:
    model = _model()
    for text in ("d", "de", "demo/a", "demo/app:1", "demo/app:10", "demo/app:1", "de", ""):
        model.set_filter(text)
        fresh = _model()
        fresh.set_filter(text)
        assert _refs(model) == _refs(fresh), text


def test_sort_columns_and_their_default_directions() -> None:
    model = _model(sort="size")
    # Largest first; ties (both tags of image 1) by repository:tag, numbers as numbers.
    assert _refs(model) == [
        "demo/app:2",
        "<none>:<none>",
        "demo/app:1",
        "demo/app:10",
        "demo/zeta:1",
        "web/Front:latest",
    ]
    model.next_sort()
    assert model.sort.id == "unique"
    # Unique = size - shared; unknown (no disk usage) sorts last.
    assert _refs(model)[0] == "<none>:<none>" and _refs(model)[-1] == "web/Front:latest"
    model.next_sort()
    assert model.sort.id == "created"
    assert _refs(model)[0] == "demo/zeta:1"  # newest first
    model.next_sort()
    assert model.sort.id == "repository"
    assert _refs(model) == [
        "<none>:<none>",
        "demo/app:1",
        "demo/app:2",
        "demo/app:10",
        "demo/zeta:1",
        "web/Front:latest",
    ]
    model.next_sort()
    assert model.sort.id == SORT_IDS[0]


def test_reverse_flips_the_column_but_ties_stay_ascending() -> None:
    model = _model(sort="size")
    model.toggle_reverse()
    assert model.reverse
    refs = _refs(model)
    assert refs[0] == "web/Front:latest" and refs[-1] == "demo/app:2"
    assert refs.index("demo/app:1") < refs.index("demo/app:10")  # the tie keeps its order
    model.next_sort()  # another column starts in its natural direction again
    assert not model.reverse


def test_repository_sort_reversed_orders_numbers_as_numbers() -> None:
    model = _model(sort="repository")
    model.toggle_reverse()
    app_tags = [r.tag for r in model.visible if r.repository == "demo/app"]
    assert app_tags == ["10", "2", "1"]


def test_cursor_follows_its_row_through_filter_and_sort() -> None:
    model = _model()
    assert model.select(row_key(next(r for r in model.rows if r.tag == "10")))
    model.set_filter("demo")
    assert model.current() is not None and model.current().tag == "10"  # type: ignore[union-attr]
    model.next_sort()
    model.toggle_reverse()
    assert model.current().tag == "10"  # type: ignore[union-attr]
    model.set_filter("zeta")  # the row is hidden: the cursor stays in range
    assert model.cursor == 0 and _refs(model) == ["demo/zeta:1"]


def test_move_and_move_to_clamp() -> None:
    model = _model()
    model.move(-5)
    assert model.cursor == 0
    model.move(100)
    assert model.cursor == len(model.visible) - 1
    model.move_to(0)
    assert model.cursor == 0
    model.move_to(-1)
    assert model.cursor == len(model.visible) - 1
    model.set_filter("nothing matches")
    model.move(1)
    assert model.current() is None and model.current_key() is None


def test_mark_toggle_mark_all_shown_and_clear() -> None:
    model = _model()
    model.toggle_mark()
    assert len(model.marks) == 1 and model.is_marked(model.visible[0])
    assert model.is_marked_at(0) and not model.is_marked_at(1)
    model.toggle_mark()
    assert not model.marks
    model.set_filter("demo/app")
    model.mark_all_visible()
    assert sorted(f"{r.repository}:{r.tag}" for r in model.marked_rows()) == [
        "demo/app:1",
        "demo/app:10",
        "demo/app:2",
    ]
    model.clear_marks()
    assert model.marked_rows() == []


def test_targets_are_marks_including_hidden_rows_else_the_current_row() -> None:
    model = _model()
    model.set_filter("zeta")
    assert [r.reference for r in model.targets()] == ["demo/zeta:1"]
    model.toggle_mark()
    model.set_filter("demo/app")
    # Marked rows count even while the filter hides them; the current row does not add.
    assert [r.reference for r in model.targets()] == ["demo/zeta:1"]
    model.set_filter("nothing")
    model.clear_marks()
    assert model.targets() == []


def test_reload_keeps_cursor_marks_and_filter_and_drops_marks_of_gone_rows() -> None:
    model = _model()
    model.set_filter("demo")
    model.select(row_key(next(r for r in model.rows if r.tag == "2")))
    model.toggle_mark()
    zeta = next(r for r in model.rows if r.repository == "demo/zeta")
    model.marks.add(row_key(zeta))
    images = [i for i in _images() if i.tags != ("demo/zeta:1",)]
    images = [replace(i, shared_size=0) for i in images]  # e.g. new disk usage figures
    model.set_images(images)
    assert model.filter_text == "demo"
    assert model.current().reference == "demo/app:2"  # type: ignore[union-attr]
    assert [r.reference for r in model.marked_rows()] == ["demo/app:2"]
    assert all(r.image.shared_size == 0 for r in model.rows)  # the new figures are used


def test_select_reference_by_name_or_id() -> None:
    model = _model()
    assert model.select_reference("demo/app:10")
    assert model.current().reference == "demo/app:10"  # type: ignore[union-attr]
    dangling = make_image(4, ())
    assert model.select_reference(dangling.id)
    assert model.current().image.id == dangling.id  # type: ignore[union-attr]
    assert not model.select_reference("not/there:1")
