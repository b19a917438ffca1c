"""A multi-platform image (an OCI index: linux/arm64 first, linux/amd64, and an attestation
manifest) pushed to the sandbox registry and pulled: only this machine's platform comes.

One row; its size is the present platform's (checked with `du -sb` of the data root around
the pull); the layer analysis reads the present platform although the index lists an absent
one first, and a chosen absent platform gets the right reason.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import DockerCli, Sandbox, current_engine, settled_du
from tui.analysis import LayerAnalysisError
from tui.service import ImageService

ENGINE = current_engine().id
SLACK = 64 * 1024


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class _Registry:
    def __init__(self, address: str, repo: str) -> None:
        self.base = f"http://{address}"
        self.repo = repo

    def blob(self, data: bytes) -> str:
        digest = _sha(data)
        start = urllib.request.Request(f"{self.base}/v2/{self.repo}/blobs/uploads/", method="POST")
        with urllib.request.urlopen(start, timeout=30) as answer:
            location = answer.headers["Location"]
        url = location if location.startswith("http") else self.base + location
        url += ("&" if "?" in url else "?") + f"digest={digest}"
        put = urllib.request.Request(url, data=data, method="PUT")
        put.add_header("Content-Type", "application/octet-stream")
        urllib.request.urlopen(put, timeout=30).close()
        return digest

    def manifest(self, ref: str, data: bytes, media_type: str) -> str:
        url = f"{self.base}/v2/{self.repo}/manifests/{ref}"
        put = urllib.request.Request(url, data=data, method="PUT")
        put.add_header("Content-Type", media_type)
        urllib.request.urlopen(put, timeout=30).close()
        return _sha(data)


MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def push_multiplatform(address: str, repo: str) -> None:
    """arm64 (listed first, never pulled here), amd64, and an attestation, as Hub images are."""
    registry = _Registry(address, repo)
    busybox = Path("/bin/busybox").read_bytes()
    entries = []
    for arch in ("arm64", "amd64"):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for name, data in (("bin/busybox", busybox), (f"{arch}.bin", os.urandom(2_000_000))):
                info = tarfile.TarInfo(name)
                info.size, info.mode = len(data), 0o755
                tar.addfile(info, io.BytesIO(data))
        raw = buffer.getvalue()
        layer = gzip.compress(raw, compresslevel=1)
        config = json.dumps(
            {
                "architecture": arch,
                "os": "linux",
                "config": {"Cmd": ["/bin/busybox", "true"]},
                "rootfs": {"type": "layers", "diff_ids": [_sha(raw)]},
                "history": [{"created_by": f"ADD {arch} rootfs"}],
            }
        ).encode()
        registry.blob(layer)
        registry.blob(config)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": MANIFEST,
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": _sha(config),
                    "size": len(config),
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": _sha(layer),
                        "size": len(layer),
                    }
                ],
            }
        ).encode()
        digest = registry.manifest(_sha(manifest), manifest, MANIFEST)
        entries.append(
            {
                "mediaType": MANIFEST,
                "digest": digest,
                "size": len(manifest),
                "platform": {"os": "linux", "architecture": arch},
            }
        )
    statement = json.dumps({"_type": "https://in-toto.io/Statement/v0.1"}).encode()
    registry.blob(statement)
    registry.blob(b"{}")
    attestation = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": _sha(b"{}"),
                "size": 2,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.in-toto+json",
                    "digest": _sha(statement),
                    "size": len(statement),
                }
            ],
        }
    ).encode()
    entries.append(
        {
            "mediaType": MANIFEST,
            "digest": registry.manifest(_sha(attestation), attestation, MANIFEST),
            "size": len(attestation),
            "platform": {"os": "unknown", "architecture": "unknown"},
            "annotations": {
                "vnd.docker.reference.type": "attestation-manifest",
                "vnd.docker.reference.digest": entries[1]["digest"],
            },
        }
    )
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": entries,
        }
    ).encode()
    registry.manifest("v1", index, "application/vnd.oci.image.index.v1+json")


@pytest.mark.parametrize("engine_id", [ENGINE])
def test_multiplatform_image_one_row_present_platform_sized_and_analysed(
    engine_id: str, sandbox: Sandbox, service: ImageService, docker_cli: DockerCli
) -> None:
    repo = f"test/multi-{uuid.uuid4().hex[:8]}"
    reference = f"{sandbox.registry}/{repo}:v1"
    push_multiplatform(sandbox.registry, repo)
    root = Path(docker_cli("info", "--format", "{{.DockerRootDir}}", check=True).stdout.strip())
    before = settled_du(root)
    try:
        docker_cli("pull", "-q", reference, check=True)
        grew = settled_du(root) - before
        rows = [i for i in service.list_images() if reference in i.tags]
        assert len(rows) == 1, engine_id  # one row for the index, not one per platform
        image = rows[0]
        # The size is the present platform's: what the pull added (the absent arm64 platform
        # would be 2 MB more; the bound above leaves room for a shared sandbox's other work).
        assert 0.95 * image.size - SLACK <= grew <= image.size + 1_000_000, (grew, image.size)
        inspect = service.inspect_image(reference)
        assert (inspect.get("Os"), inspect.get("Architecture")) == ("linux", "amd64")
        platforms = service.image_platforms(inspect)
        here = [p for p in platforms if p.present]
        assert [p.platform for p in here] == ["linux/amd64"], platforms
        if service.image_store().api >= (1, 47):  # it lists the index's other platforms
            assert [p.platform for p in platforms if not p.present] == ["linux/arm64"]
        if current_engine().containerd:
            # Its sizes are this platform's: content and snapshots add up to the row's SIZE.
            assert here[0].content == inspect["Size"] and here[0].unpacked
            total = here[0].content + here[0].unpacked
            assert abs(total - image.size) <= 0.03 * image.size, (here, image.size)
        analysis = service.analyze_layers(reference)
        assert {e.path for e in analysis.layers[0].entries} >= {"bin/busybox", "amd64.bin"}
        chosen = service.analyze_layers(reference, platform="linux/amd64")
        assert len(chosen.layers) == 1
        with pytest.raises(LayerAnalysisError, match="arm64"):
            service.analyze_layers(reference, platform="linux/arm64")
    finally:
        docker_cli("rmi", reference)
