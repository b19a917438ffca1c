"""Rows, usage merging and the summary: pure logic behind the list."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tui import format as fmt
from tui.service.images import summarize, with_usage
from tui.service.models import DiskUsage, Image, image_rows, split_repo_tag

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def img(n: int, tags: tuple[str, ...], size: int = 100, digests: tuple[str, ...] = ()) -> Image:
    return Image(f"sha256:{n:064x}", tags, digests, T0, size)


def test_split_at_last_colon_not_followed_by_slash() -> None:
    assert split_repo_tag("localhost:5000/team/app") == ("localhost:5000/team/app", "<none>")
    assert split_repo_tag("localhost:5000/team/app:v1") == ("localhost:5000/team/app", "v1")
    assert split_repo_tag("ubuntu:15.10") == ("ubuntu", "15.10")


def test_one_row_per_tag_and_none_rows() -> None:
    rows = image_rows(img(1, ("a:1", "b:2")))
    assert [(r.repository, r.tag, r.reference) for r in rows] == [
        ("a", "1", "a:1"),
        ("b", "2", "b:2"),
    ]
    untagged = image_rows(img(2, ("<none>:<none>",)))
    assert [(r.repository, r.tag) for r in untagged] == [("<none>", "<none>")]
    assert untagged[0].reference == untagged[0].image.short_id == "0" * 12
    by_digest = image_rows(img(3, (), digests=("repo@sha256:" + "a" * 64,)))
    assert by_digest[0].repository == "repo"
    assert by_digest[0].reference == "repo@sha256:" + "a" * 64


def test_usage_merge_and_summary() -> None:
    images = [img(1, ("a:1",), size=1000), img(2, ("b:1", "b:2"), size=3000)]
    usage = DiskUsage(
        layers_size=3500,
        images={images[0].id: (900, 0), images[1].id: (900, 2)},
    )
    merged = with_usage(images, usage)
    assert [i.unique_size for i in merged] == [100, 2100]
    assert [i.containers for i in merged] == [0, 2]
    summary = summarize(merged, usage)
    assert summary.count == 2 and summary.tags == 3
    assert summary.logical_size == 4000
    assert summary.disk_size == 3500
    # The in-use image's unique layers are not reclaimable.
    assert summary.reclaimable == 3500 - 2100
    assert summarize(images, None).disk_size is None


def test_formatting() -> None:
    assert fmt.size(None) == "…"
    assert fmt.size(999) == "999 B"
    assert fmt.size(1_983_000) == "2.0 MB"
    assert fmt.age(T0 - timedelta(days=5), now=T0) == "5 days ago"
    tags = ["10", "2", "1", "1.10", "1.9"]
    assert sorted(tags, key=fmt.natural_key) == ["1", "1.9", "1.10", "2", "10"]
    assert fmt.ellipsize("abcdef", 4) == "abc…"


def test_old_daemons_none_digest_is_not_a_reference() -> None:
    from tui.service.models import image_from_api

    image = image_from_api(
        {"Id": "sha256:" + "c" * 64, "RepoTags": None, "RepoDigests": ["<none>@<none>"]},
        dangling=True,
    )
    assert image.repo_digests == ()
    rows = image_rows(image)
    assert rows[0].reference == "c" * 12
    assert not rows[0].tagged


def test_short_ages_fit_the_created_column() -> None:
    saved = fmt.clock
    fmt.clock = lambda: T0
    try:
        for delta, expected in [
            (timedelta(days=5), "5 days ago"),
            (timedelta(minutes=50), "50 min ago"),
            (timedelta(hours=23), "23 hours ago"),
            (timedelta(days=700), "a year ago"),
            (timedelta(days=1100), "3 years ago"),
        ]:
            assert fmt.age_short(T0 - delta) == expected
            assert len(fmt.age_short(T0 - delta)) <= 13
    finally:
        fmt.clock = saved
