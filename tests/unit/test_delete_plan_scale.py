"""Delete plans over many tags of one image (issue 15, 50,000 tags): linear, and the same plan.

Each untag item used to carry every tag that keeps the image (the rest of the chosen tags),
so marking 1,000 tags of one image built half a million names, and the summary's reclaimable
figure (a plan of every unused row, once per load) held 25 million at 50,000 tags: 290 MB
and 3 s on the UI thread. Now an item names the first KEEPS_SHOWN and counts the rest, and
the reclaimable figure asks only ``removed_ids``.
"""

from __future__ import annotations

import random
from datetime import datetime, timezone

from tui.modals.delete import plan_lines
from tui.service.cleanup import plan_delete, removed_ids, row_reference
from tui.service.cleanup_plan import KEEPS_SHOWN
from tui.service.models import Image, ImageRow, image_rows


def image(ident: str, tags: list[str]) -> Image:
    return Image(
        id="sha256:" + ident * 64,
        repo_tags=tuple(tags),
        repo_digests=(),
        created=datetime(2026, 1, 1, tzinfo=timezone.utc),
        size=1,
    )


def many() -> list[Image]:
    """Four images: 1,000 tags, 3 tags, 1 tag, untagged."""
    return [
        image("a", [f"bench/app:{n}" for n in range(1000)]),
        image("b", ["x/b:1", "x/b:2", "x/b:3"]),
        image("c", ["x/c:only"]),
        image("d", []),
    ]


def test_marking_every_tag_of_an_image_untags_all_but_the_last_naming_the_rest() -> None:
    big = many()[0]
    plan = plan_delete(image_rows(big))
    untags = [i for i in plan.items if i.action == "untag"]
    assert len(untags) == 999 and plan.deletes == 1 and plan.removed_ids == (big.id,)
    first = untags[0]
    assert first.reference == "bench/app:0"
    assert first.keeps == ("bench/app:1", "bench/app:2", "bench/app:3")
    assert first.more == 996
    assert first.keeps_words == "bench/app:1, bench/app:2, bench/app:3 and 996 more"
    # Near the end the names run out and nothing is counted beyond them.
    assert untags[-1].keeps == ("bench/app:999",) and untags[-1].more == 0
    assert untags[-1].keeps_words == "bench/app:999"
    # The plan holds at most KEEPS_SHOWN names per item, not the square of the tags.
    assert sum(len(i.keeps) for i in plan.items) <= KEEPS_SHOWN * len(plan.items)


def test_an_untag_that_leaves_tags_unmarked_names_them_in_order() -> None:
    b = many()[1]
    plan = plan_delete([image_rows(b)[1]])
    (item,) = plan.items
    assert item.action == "untag" and item.keeps == ("x/b:1", "x/b:3") and item.more == 0
    text = plan_lines(plan).plain
    assert "untag  x/b:2" in text and "image stays as x/b:1, x/b:3" in text
    big = many()[0]
    plan = plan_delete(image_rows(big)[:10])
    assert {i.more for i in plan.items} == {990 - KEEPS_SHOWN}
    assert "and 987 more" in plan_lines(plan).plain


def test_removed_ids_is_what_the_plan_removes_for_any_choice_of_rows() -> None:
    images = many()
    rows: list[ImageRow] = [r for i in images for r in image_rows(i)]
    pick = random.Random(15)
    for _ in range(200):
        chosen = [r for r in rows if pick.random() < pick.choice((0.1, 0.5, 0.95, 1.0))]
        pick.shuffle(chosen)
        chosen += chosen[: pick.randrange(3)]  # a row twice changes nothing
        assert removed_ids(chosen) == set(plan_delete(chosen).removed_ids), [
            row_reference(r) for r in chosen
        ]
    assert removed_ids(rows) == {i.id for i in images}
    assert removed_ids([]) == set()
