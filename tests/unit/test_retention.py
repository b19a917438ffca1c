"""The retention planner (pure): each rule, their combination, and the exact freed figure."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from tui.service.cleanup import ImageLayers
from tui.service.lastused import LastUsedRecord
from tui.service.models import Image
from tui.service.policy import RetentionPolicy, parse_duration, parse_size, policy_from_text
from tui.service.retention import RetentionInputs, plan_retention

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)
BASE = "sha256:" + "b" * 64


def image(n: int, tags: tuple[str, ...], days: float, own: int = 1000, **kw: object) -> Image:
    """An image of the base layer plus one layer of ``own`` bytes, created ``days`` ago."""
    return Image(
        id=f"sha256:{n:064x}",
        repo_tags=tags,
        repo_digests=(),
        created=NOW - timedelta(days=days),
        size=10_000 + own,
        shared_size=10_000,
        containers=0,
        **kw,  # type: ignore[arg-type]
    )


def layers_of(images: list[Image]) -> dict[str, ImageLayers]:
    """Every image: the shared base (10,000 bytes), then its own layer."""
    return {
        i.id: ImageLayers(i.id, (BASE, f"sha256:own{i.id[-8:]}"), (10_000, i.size - 10_000))
        for i in images
    }


def inputs(
    images: list[Image],
    *,
    used: frozenset[str] = frozenset(),
    record: LastUsedRecord | None = None,
    parents: dict[str, str] | None = None,
) -> RetentionInputs:
    """Planner inputs with layer data for every image."""
    return RetentionInputs(tuple(images), used, parents or {}, layers_of(images), record, NOW)


def refs(plan: object) -> list[tuple[str, str]]:
    """(action, reference) of every daemon call the plan makes."""
    return [(i.action, i.reference) for i in plan.delete.items]  # type: ignore[attr-defined]


def test_keep_last_keeps_newest_with_natural_tag_order_as_tie_break() -> None:
    # 2.0 and 10.0 were created at the same moment: 10.0 is the newer tag (natural order).
    images = [
        image(1, ("app:1.0",), days=9),
        image(2, ("app:2.0",), days=5),
        image(3, ("app:10.0",), days=5),
        image(4, ("app:1.2",), days=7),
        image(5, ("other:x",), days=30),
    ]
    plan = plan_retention(RetentionPolicy(keep_last=2), inputs(images))
    assert sorted(refs(plan)) == [("delete", "app:1.0"), ("delete", "app:1.2")]
    # Two own layers of 1,000 bytes; the base stays (other images hold it).
    assert plan.freed.bytes == 2000 and plan.freed.exact
    plan = plan_retention(RetentionPolicy(keep_last=1), inputs(images))
    assert ("delete", "app:2.0") in refs(plan) and ("delete", "app:10.0") not in refs(plan)


def test_keep_last_untags_a_tag_whose_image_another_repository_keeps() -> None:
    images = [
        image(1, ("app:1", "mirror/app:1"), days=9),
        image(2, ("app:2",), days=1),
    ]
    plan = plan_retention(RetentionPolicy(keep_last=1), inputs(images))
    assert refs(plan) == [("untag", "app:1")]
    assert plan.freed.bytes == 0 and plan.removed_ids == ()


def test_keep_patterns_and_containers_protect() -> None:
    images = [
        image(1, ("app:1",), days=9),
        image(2, ("app:2",), days=8),
        image(3, ("app:3",), days=1),
        image(4, ("base/os:1",), days=20),
        image(5, ("base/os:2",), days=2),
    ]
    used = frozenset({images[0].id})
    policy = RetentionPolicy(keep_last=1, keep=("base/*",))
    plan = plan_retention(policy, inputs(images, used=used))
    assert refs(plan) == [("delete", "app:2")]
    assert [k.reason for k in plan.kept] == ["a container uses it"]
    # A pattern on repository:tag protects one tag only.
    plan = plan_retention(RetentionPolicy(keep_last=0, keep=("app:2",)), inputs(images))
    assert ("delete", "app:2") not in refs(plan) and ("delete", "app:1") in refs(plan)


def test_unused_for_uses_the_record_and_counts_unseen_images_from_its_start() -> None:
    images = [
        image(1, ("app:1",), days=90),
        image(2, ("app:2",), days=90),
        image(3, ("app:3",), days=90),
        image(4, ("app:4",), days=3),  # created after the record began: fresh
    ]
    record = LastUsedRecord("daemon", NOW - timedelta(days=60))
    record.mark(images[0].id, NOW - timedelta(days=40))
    record.mark(images[1].id, NOW - timedelta(days=2))
    plan = plan_retention(
        RetentionPolicy(unused_for=timedelta(days=30)), inputs(images, record=record)
    )
    # 1: last used 40 days ago; 3: never seen in use since the record began 60 days ago.
    assert sorted(refs(plan)) == [("delete", "app:1"), ("delete", "app:3")]
    # With a record begun yesterday nothing has been unused for 30 days.
    young = LastUsedRecord("daemon", NOW - timedelta(days=1))
    plan = plan_retention(
        RetentionPolicy(unused_for=timedelta(days=30)), inputs(images, record=young)
    )
    assert refs(plan) == []


def test_below_takes_least_recently_used_whole_images_until_the_target() -> None:
    images = [image(n, (f"app:{n}",), days=50, own=1000 * n) for n in range(1, 6)]
    record = LastUsedRecord("daemon", NOW - timedelta(days=100))
    # Used order, oldest first: 3, 1, 5, 2, 4
    for n, days in ((3, 40), (1, 30), (5, 20), (2, 10), (4, 5)):
        record.mark(images[n - 1].id, NOW - timedelta(days=days))
    total = 10_000 + sum(1000 * n for n in range(1, 6))  # the base once, every own layer
    # Free at least 3,500: image 3 (3,000) is not enough, 3 then 1 (4,000) is.
    plan = plan_retention(RetentionPolicy(below=total - 3500), inputs(images, record=record))
    assert plan.disk_before == total
    assert refs(plan) == [("delete", "app:3"), ("delete", "app:1")]
    assert plan.freed.bytes == 4000 and plan.disk_after == total - 4000
    # Already below: nothing.
    assert refs(plan_retention(RetentionPolicy(below=total), inputs(images, record=record))) == []
    # A target no rule can reach takes everything the rules allow (the base goes last: 10,000).
    plan = plan_retention(RetentionPolicy(below=1), inputs(images, record=record))
    assert plan.freed.bytes == total and len(refs(plan)) == 5


def test_below_combined_with_keep_last_only_evicts_what_keep_last_allows() -> None:
    images = [image(n, (f"app:{n}",), days=10 - n, own=1000) for n in range(1, 5)]
    plan = plan_retention(RetentionPolicy(keep_last=2, below=1), inputs(images))
    assert sorted(refs(plan)) == [("delete", "app:1"), ("delete", "app:2")]


def test_parents_of_kept_images_are_spared_and_evicted_after_children() -> None:
    parent = image(1, ("base:1",), days=50)
    child = image(2, ("app:1",), days=10)
    kept_child = image(3, ("keep/app:1",), days=10)
    parents = {child.id: parent.id, kept_child.id: parent.id}
    plan = plan_retention(
        RetentionPolicy(keep_last=0, keep=("keep/*",)),
        inputs([parent, child, kept_child], parents=parents),
    )
    assert refs(plan) == [("delete", "app:1")]
    assert [(k.label, k.reason) for k in plan.kept] == [("base:1", "other images are built on it")]
    # Without the kept child, the parent may go, but only after its child.
    plan = plan_retention(
        RetentionPolicy(below=1), inputs([parent, child], parents={child.id: parent.id})
    )
    assert refs(plan) == [("delete", "app:1"), ("delete", "base:1")]


def test_dangling_only_with_the_flag() -> None:
    dangling = replace(image(1, (), days=5), dangling=True)
    tagged = image(2, ("app:1",), days=5)
    assert refs(plan_retention(RetentionPolicy(keep_last=0), inputs([dangling, tagged]))) == [
        ("delete", "app:1")
    ]
    plan = plan_retention(RetentionPolicy(dangling=True), inputs([dangling, tagged]))
    assert refs(plan) == [("delete", dangling.short_id)]


def test_empty_policy_plans_nothing() -> None:
    plan = plan_retention(RetentionPolicy(), inputs([image(1, ("a:1",), days=1)]))
    assert refs(plan) == [] and plan.freed.bytes == 0


def test_parsing_and_words() -> None:
    assert parse_size("20GB") == 20_000_000_000
    assert parse_size("1.5GiB") == int(1.5 * 1024**3)
    assert parse_duration("30d") == timedelta(days=30)
    for bad in ("20 parsecs", "-3", ""):
        with pytest.raises(ValueError):
            parse_size(bad)
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("soon")
    with pytest.raises(ValueError, match="whole number"):
        policy_from_text(keep_last="three")
    policy = policy_from_text(keep_last="3", unused_for="30d", below="20GB", keep=["a/*"])
    assert policy.describe() == (
        "keep the newest 3 tags of each repository; not used for 30d; "
        "least recently used until below 20GB; never a/*"
    )
    merged = RetentionPolicy(keep_last=5, keep=("x",)).merged(RetentionPolicy(keep=("y",)))
    assert merged.keep_last == 5 and merged.keep == ("x", "y")
