"""The archive check (tui/service/archives.py) on archives made here, and safefs.private_output."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import stat
from pathlib import Path

import pytest

from tests.tarfiles import tar_bytes
from tui.safefs import private_output
from tui.service.archive_check import check_archive, parse_load_stream
from tui.service.errors import ArchiveError


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def layer_tar() -> bytes:
    return tar_bytes([("hello.txt", b"hello\n")])


def pack(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    return tar_bytes([*members.items(), *(links or {}).items()])


def legacy_archive(layer: bytes, *, diff_id: str | None = None) -> bytes:
    """`docker save` of Engine 20.10: <config>.json, <id>/layer.tar, manifest.json."""
    config = json.dumps(
        {"rootfs": {"type": "layers", "diff_ids": [diff_id or f"sha256:{sha(layer)}"]}}
    )
    config_name = f"{sha(config.encode())}.json"
    manifest = [{"Config": config_name, "RepoTags": ["t/legacy:1"], "Layers": ["abc/layer.tar"]}]
    return pack(
        {
            config_name: config.encode(),
            "abc/layer.tar": layer,
            "manifest.json": json.dumps(manifest).encode(),
        }
    )


def oci_archive(
    layer: bytes, *, drop_layer: bool = False, layer_digest: str | None = None
) -> bytes:
    """An OCI layout with index.json only (no manifest.json)."""
    config = json.dumps(
        {"rootfs": {"type": "layers", "diff_ids": [f"sha256:{sha(layer)}"]}}
    ).encode()
    digest = layer_digest or sha(layer)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": f"sha256:{sha(config)}",
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": f"sha256:{digest}",
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": f"sha256:{sha(manifest)}",
                "size": len(manifest),
                "annotations": {"io.containerd.image.name": "docker.io/t/oci:1"},
            }
        ],
    }
    members = {
        "oci-layout": b'{"imageLayoutVersion":"1.0.0"}',
        f"blobs/sha256/{sha(config)}": config,
        f"blobs/sha256/{sha(manifest)}": manifest,
        "index.json": json.dumps(index).encode(),
    }
    if not drop_layer:
        members[f"blobs/sha256/{sha(layer)}"] = layer
    return pack(members)


def check(data: bytes) -> object:
    return check_archive(io.BytesIO(data), len(data))


def test_a_legacy_archive_and_its_gzip_pass() -> None:
    data = legacy_archive(layer_tar())
    for archive in (data, gzip.compress(data)):
        contents = check(archive)
        assert contents.layout == "docker"  # type: ignore[attr-defined]
        assert [i.names for i in contents.images] == [("t/legacy:1",)]  # type: ignore[attr-defined]


def test_a_legacy_layer_that_does_not_match_its_diff_id_is_damaged() -> None:
    with pytest.raises(ArchiveError, match="does not match its digest"):
        check(legacy_archive(layer_tar(), diff_id="sha256:" + "0" * 64))


def test_an_oci_layout_is_checked_through_its_index() -> None:
    contents = check(oci_archive(layer_tar()))
    assert contents.layout == "oci"  # type: ignore[attr-defined]
    assert [i.names for i in contents.images] == [("docker.io/t/oci:1",)]  # type: ignore[attr-defined]
    with pytest.raises(ArchiveError, match="not in the archive"):
        check(oci_archive(layer_tar(), drop_layer=True))


def test_a_tar_that_is_not_an_image_archive_says_import() -> None:
    with pytest.raises(ArchiveError, match="root filesystem tarball is imported"):
        check(layer_tar())


def test_load_stream_lines() -> None:
    log = parse_load_stream(
        iter(
            [
                {"status": "Loading layer", "progressDetail": {"current": 1, "total": 2}},
                {
                    "stream": "The image a:1 already exists, renaming the old one with ID "
                    "sha256:x to empty string\n"
                },
                {"stream": "Loaded image: a:1\n"},
                {"stream": "Loaded image ID: sha256:" + "f" * 64 + "\n"},
            ]
        )
    )
    assert log.names == ["a:1"] and log.ids == ["sha256:" + "f" * 64] and not log.error
    assert log.notes[0].startswith("The image a:1 already exists")
    failed = parse_load_stream(
        iter([{"errorDetail": {"message": "unexpected EOF"}, "error": "unexpected EOF"}])
    )
    assert failed.error == "unexpected EOF"


def test_private_output_is_all_or_nothing_and_never_follows_a_link(tmp_path: Path) -> None:
    target = tmp_path / "out.tar"
    with pytest.raises(RuntimeError), private_output(target) as out:
        out.write(b"half")
        raise RuntimeError("the daemon went away")
    assert list(tmp_path.iterdir()) == []

    os.umask(0o022)
    with private_output(target) as out:
        out.write(b"whole")
    assert target.read_bytes() == b"whole" and stat.S_IMODE(target.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError), private_output(target) as out:
        out.write(b"again")
    assert target.read_bytes() == b"whole"

    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("theirs")
    link = tmp_path / "link.tar"
    link.symlink_to(elsewhere)
    with pytest.raises(FileExistsError), private_output(link) as out:
        out.write(b"x")
    with private_output(link, overwrite=True) as out:
        out.write(b"mine")
    assert not link.is_symlink() and link.read_bytes() == b"mine"
    assert elsewhere.read_text() == "theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere", "link.tar", "out.tar"]
