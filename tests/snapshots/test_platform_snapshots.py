"""Snapshots of the image list with platform markers (issue 12, point 6), 80x24 and 120x40.

Three images beside the seeded-like set: an index with one of its two platforms here, an
image of a foreign platform only, and an index with two of five platforms and a long tag (the
compact marker at 80 columns). Images of the daemon's own platform alone show no marker.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tests.ui.fake import FakeService, demo_images, make_app, make_image
from tests.ui.test_images_screen import ready
from tui.service.models import ImagePlatforms

SIZES = [(80, 24), (120, 40)]
AMD64 = "linux/amd64"


def platform_images() -> FakeService:
    """The demo set plus three multi-platform or foreign images."""
    images = demo_images()
    images[0] = replace(images[0], platforms=ImagePlatforms((AMD64,), None, AMD64))
    images += [
        replace(
            make_image(20, ("hub/nginx:1.27",), size=72_000_000, shared=0, age_days=0.5),
            platforms=ImagePlatforms((AMD64,), 2, AMD64),
        ),
        replace(
            make_image(21, ("hub/tool:arm",), size=9_000_000, shared=0, age_days=0.4),
            platforms=ImagePlatforms(("linux/arm64",), None, AMD64),
        ),
        replace(
            make_image(22, ("hub/base:1.27.3-alpine",), size=8_000_000, shared=0, age_days=0.3),
            platforms=ImagePlatforms((AMD64, "linux/arm64/v8"), 5, AMD64),
        ),
    ]
    return FakeService(images)


@pytest.mark.parametrize("size", SIZES)
def test_image_list_platform_markers(snap_compare: Any, size: tuple[int, int]) -> None:
    async def loaded(pilot: Any) -> None:
        await ready(pilot)

    assert snap_compare(make_app(platform_images()), terminal_size=size, run_before=loaded)
