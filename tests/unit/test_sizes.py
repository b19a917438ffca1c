"""The size model's arithmetic on hand-made layer chains (the daemon tests check it with du)."""

from __future__ import annotations

from tui.service.cleanup import ImageLayers, freed_space
from tui.service.models import Image, from_timestamp
from tui.service.sizes import (
    layer_costs,
    platforms_from_manifests,
    store_from_info,
    usage_from_layers,
)


def _image(image_id: str, size: int) -> Image:
    return Image(image_id, (f"{image_id}:1",), (), from_timestamp(0), size)


def test_store_from_info_tells_the_containerd_store_and_the_df_rule() -> None:
    containerd = store_from_info(
        {"Driver": "overlayfs", "DriverStatus": [["driver-type", "io.containerd.snapshotter.v1"]]},
        "1.45",
    )
    assert containerd.containerd and not containerd.df_shared_trusted
    assert containerd.estimates
    old = store_from_info(
        {"Driver": "overlay2", "DriverStatus": [["Backing Filesystem", "extfs"]]}, "1.41"
    )
    assert not old.containerd and old.df_shared_trusted and not old.estimates
    new = store_from_info({"Driver": "overlay2"}, "1.45")
    assert not new.containerd and not new.df_shared_trusted


def test_overlay2_costs_are_the_layer_sizes() -> None:
    base = ImageLayers("base", ("L1",), (100,))
    child = ImageLayers("child", ("L1", "L2"), (100, 50))
    assert layer_costs([base, child]) == {"L1": 100, "L2": 50}


def test_containerd_costs_add_each_layers_share_of_the_content_totals() -> None:
    # base: one layer, 40 bytes of content; child adds two layers and 30 bytes of content,
    # split between them by their unpacked sizes (20 and 10).
    base = ImageLayers("base", ("L1",), (100,), content=40)
    child = ImageLayers("child", ("L1", "L2", "L3"), (100, 20, 10), content=70)
    costs = layer_costs([base, child])
    assert costs == {"L1": 140, "L2": 40, "L3": 20}
    # The parts of a segment add up to the difference of the totals exactly.
    assert costs["L2"] + costs["L3"] - 30 == 30


def test_freed_space_on_the_containerd_store_is_an_estimate_with_a_reason() -> None:
    images = [_image("base", 140), _image("child", 200)]
    layers = {
        "base": ImageLayers("base", ("L1",), (100,), content=40),
        "child": ImageLayers("child", ("L1", "L2", "L3"), (100, 20, 10), content=70),
    }
    freed = freed_space(["child"], images, layers)
    assert freed.bytes == 60 and not freed.exact and "compressed" in freed.why
    assert freed_space(["child", "base"], images, layers).bytes == 200


def test_usage_from_layers_does_not_count_untagged_parents_as_sharers() -> None:
    # Only listed images count: the child's intermediate parents are not listed, so the
    # child's own layers are unique although df (API 1.44+) says they are shared.
    layers = {
        "base": ImageLayers("base", ("L1",), (100,)),
        "child": ImageLayers("child", ("L1", "L2", "L3"), (100, 20, 10)),
    }
    usage = usage_from_layers(["base", "child"], {"base": 100, "child": 130}, layers, ["base"])
    assert usage.shared == {"base": 100, "child": 100}
    assert usage.on_disk == 130
    assert usage.reclaimable == 30


def test_platforms_from_a_1_47_manifests_list() -> None:
    # The shape of API 1.47's ImageManifestSummary (moby's api/swagger.yaml).
    entry = {
        "Id": "sha256:index",
        "Manifests": [
            {
                "ID": "sha256:amd",
                "Available": True,
                "Kind": "image",
                "Size": {"Total": 5000, "Content": 2000},
                "ImageData": {
                    "Platform": {"os": "linux", "architecture": "amd64"},
                    "Size": {"Unpacked": 3000},
                },
            },
            {
                "ID": "sha256:arm",
                "Available": False,
                "Kind": "image",
                "Size": {"Total": 0, "Content": 0},
                "ImageData": {
                    "Platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
                    "Size": {"Unpacked": 0},
                },
            },
            {"ID": "sha256:att", "Available": True, "Kind": "attestation", "Size": {}},
        ],
    }
    found = platforms_from_manifests(entry)
    assert [(p.platform, p.present, p.content, p.unpacked) for p in found] == [
        ("linux/amd64", True, 2000, 3000),
        ("linux/arm64/v8", False, None, None),
    ]
    assert found[1].describe(str) == "linux/arm64/v8 (not here)"
    assert platforms_from_manifests({"Id": "x"}) == []
