"""Layer analysis of a multi-platform OCI archive (what `docker save` writes on the containerd
image store): an index listing several platforms and an attestation, only one platform's
manifest and layers present. The present platform is analysed; the reasons name the platforms.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import pytest

from tests.tarfiles import tar_bytes
from tui.analysis import LayerAnalysisError, analyze_stream


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _layer(name: str, size: int) -> bytes:
    return tar_bytes([(name, b"x" * size)])


def _archive(present: set[str], order: list[str]) -> bytes:
    """An OCI archive whose index lists ``order`` platforms plus an attestation manifest;
    only the platforms in ``present`` have their manifest, config and layer in it."""
    files: list[tuple[str, bytes]] = []
    entries: list[dict[str, Any]] = []
    for platform in order:
        os_name, arch = platform.split("/")
        layer = _layer(f"{arch}.bin", 1000 + len(arch))
        config = json.dumps(
            {"architecture": arch, "os": os_name, "rootfs": {"diff_ids": [_sha(layer)]}}
        ).encode()
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "config": {"digest": _sha(config), "size": len(config)},
                "layers": [{"digest": _sha(layer), "size": len(layer)}],
            }
        ).encode()
        entries.append(
            {"digest": _sha(manifest), "platform": {"os": os_name, "architecture": arch}}
        )
        if platform in present:
            for blob in (layer, config, manifest):
                files.append((f"blobs/sha256/{_sha(blob)[7:]}", blob))
    attestation = {
        "digest": _sha(b"attestation"),
        "platform": {"os": "unknown", "architecture": "unknown"},
        "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
    }
    image_index = json.dumps({"schemaVersion": 2, "manifests": [*entries, attestation]}).encode()
    files.append((f"blobs/sha256/{_sha(image_index)[7:]}", image_index))
    outer = {
        "schemaVersion": 2,
        "manifests": [
            {
                "digest": _sha(image_index),
                "annotations": {"io.containerd.image.name": "docker.io/demo/multi:1"},
            }
        ],
    }
    files.append(("index.json", json.dumps(outer).encode()))
    return tar_bytes(files)


def test_the_present_platform_is_analysed_when_the_first_is_absent() -> None:
    data = _archive({"linux/amd64"}, ["linux/arm64", "linux/amd64"])
    analysis = analyze_stream(io.BytesIO(data))
    assert [layer.size_bytes for layer in analysis.layers] == [1000 + len("amd64")]
    assert [e.path for e in analysis.layers[0].entries] == ["amd64.bin"]
    assert analysis.image == "docker.io/demo/multi:1"


def test_a_chosen_platform_that_is_not_here_says_so() -> None:
    data = _archive({"linux/amd64"}, ["linux/arm64", "linux/amd64"])
    with pytest.raises(LayerAnalysisError, match="linux/arm64 platform of this image is not"):
        analyze_stream(io.BytesIO(data), platform="linux/arm64")
    with pytest.raises(LayerAnalysisError, match=r"no linux/s390x platform .*linux/arm64"):
        analyze_stream(io.BytesIO(data), platform="linux/s390x")
    chosen = analyze_stream(io.BytesIO(data), platform="linux/amd64")
    assert [e.path for e in chosen.layers[0].entries] == ["amd64.bin"]


def test_no_platform_present_names_the_platforms() -> None:
    data = _archive(set(), ["linux/arm64", "linux/amd64"])
    with pytest.raises(LayerAnalysisError, match=r"None of the image's platforms \(linux/arm64"):
        analyze_stream(io.BytesIO(data))
