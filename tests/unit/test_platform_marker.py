"""The list row's platform marker (issue 12, point 6): what it says, and where it is cut."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tui.format import ellipsize_path
from tui.service.models import Image, ImagePlatforms, image_rows
from tui.service.sizes import platforms_of_entry
from tui.widgets.image_table import repository_cell

AMD64 = "linux/amd64"


@pytest.mark.parametrize(
    ("platforms", "full", "compact"),
    [
        (ImagePlatforms((AMD64,), None, AMD64), "", ""),  # the daemon's own and only: quiet
        (ImagePlatforms((AMD64,), 1, AMD64), "", ""),
        (ImagePlatforms(("linux/arm64",), None, AMD64), "[arm64]", "[arm64]"),
        (ImagePlatforms((AMD64,), 2, AMD64), "[amd64 1/2]", "[1/2]"),
        (ImagePlatforms((AMD64, "linux/arm/v7"), 5, AMD64), "[amd64+arm/v7 2/5]", "[2/5]"),
        (ImagePlatforms(("windows/amd64",), None, AMD64), "[windows/amd64]", "[windows/amd64]"),
    ],
)
def test_marker_says_a_partial_index_or_a_foreign_platform(
    platforms: ImagePlatforms, full: str, compact: str
) -> None:
    assert platforms.marker() == full
    assert platforms.marker(compact=True) == compact


def _image(repository: str, platforms: ImagePlatforms | None, dangling: bool = False) -> Image:
    return Image(
        id="sha256:" + "ab" * 32,
        repo_tags=(f"{repository}:v1",) if repository else (),
        repo_digests=(),
        created=datetime(2026, 1, 1, tzinfo=timezone.utc),
        size=1,
        dangling=dangling,
        platforms=platforms,
    )


TWO_OF_FIVE = ImagePlatforms((AMD64, "linux/arm64"), 5, AMD64)


@pytest.mark.parametrize(
    ("repository", "width", "cell"),
    [
        ("hub/nginx", 30, "hub/nginx [amd64+arm64 2/5]"),  # fits whole
        ("hub/nginx", 17, "hub/nginx [2/5]"),  # the compact marker keeps the name whole
        # Cut in the middle (host and last component stay), never the marker.
        ("127.0.0.1:5000/team/nginx", 20, "127.0.0…/nginx [2/5]"),
        ("hub/nginx", 12, "hub/nginx"),  # no room for both: the name, without the marker
        ("", 17, "(dangling) [2/5]"),  # a dangling row keeps its word
    ],
)
def test_repository_cell_keeps_the_marker_whole_and_cuts_the_name(
    repository: str, width: int, cell: str
) -> None:
    image = _image(repository, TWO_OF_FIVE, dangling=not repository)
    (row,) = image_rows(image)
    assert repository_cell(row, width) == cell
    assert len(cell) <= width


def test_repository_cell_without_a_marker_is_the_name() -> None:
    for platforms in (None, ImagePlatforms((AMD64,), None, AMD64)):
        (row,) = image_rows(_image("127.0.0.1:5000/team/nginx", platforms))
        assert repository_cell(row, 17) == ellipsize_path("127.0.0.1:5000/team/nginx", 17)


def test_platforms_of_an_api_147_list_entry() -> None:
    """`/images/json?manifests=1` (Engine API 1.47+): image manifests count, attestations do
    not; Available says which are here."""
    entry = {
        "Id": "sha256:" + "cd" * 32,
        "Manifests": [
            {
                "Kind": "image",
                "Available": False,
                "Size": {"Total": 0, "Content": 0},
                "ImageData": {"Platform": {"os": "linux", "architecture": "arm64"}},
            },
            {
                "Kind": "image",
                "Available": True,
                "Size": {"Total": 5_000, "Content": 2_000},
                "ImageData": {
                    "Platform": {"os": "linux", "architecture": "amd64"},
                    "Size": {"Unpacked": 3_000},
                },
            },
            {"Kind": "attestation", "Available": True, "Size": {"Content": 10}},
        ],
    }
    found = platforms_of_entry(entry, AMD64)
    assert found == ImagePlatforms((AMD64,), 2, AMD64)
    assert found is not None and found.marker() == "[amd64 1/2]"
    assert platforms_of_entry({"Id": "x"}, AMD64) is None  # no manifests listed
