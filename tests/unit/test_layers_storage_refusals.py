"""The storage source's checks, on an overlay2 data root made here and a fake daemon.

A small fake daemon answers /info, /version and inspect for an image whose storage is laid
out in a temporary data root exactly as Docker lays it out (imagedb config, layerdb entries
with diff, parent, cache-id and tar-split, overlay2/<cache id>/diff). The control test reads
it and gets the figures ``analyze_stream`` gives for the `docker save` archive of the same
layers; every other test changes one thing (a planted symlink, a symlinked root, a foreign
directory, a containerd store, a ``..`` root, a layer list that is not the image's, a
tampered config, an unreadable root) and the storage must be refused, falling back (None).
The real daemons' side (every sandbox image, JSON byte for byte, dive) is
tests/service/test_layers_storage.py.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import tarfile
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tui.analysis import analyze_stream
from tui.layers_source import storage_analysis
from tui.layers_storage import StorageRefused, read_storage_image

REF = "fake/storage:latest"


def _tar(members: list[tuple[str, bytes | None, str | None]]) -> bytes:
    """A layer tar: (name, contents or None for a directory, hard link target)."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content, link in members:
            info = tarfile.TarInfo(name)
            info.mtime = 1700000000
            if link is not None:
                info.type = tarfile.LNKTYPE
                info.linkname = link
                tar.addfile(info)
            elif content is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return data.getvalue()


def tar_split(layer: bytes, spaced: bool = False) -> bytes:
    """tar-split's JSON lines for ``layer``: raw segments and file sizes, gzip-compressed."""
    lines: list[dict[str, Any]] = []
    pos = 0
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        for member in tar.getmembers():
            if member.isreg() and member.size:
                lines.append({"type": 2, "payload": layer[pos : member.offset_data]})
                lines.append({"type": 1, "name": member.name, "size": member.size})
                pos = member.offset_data + member.size
            elif member.isreg():
                lines.append({"type": 2, "payload": layer[pos : member.offset_data]})
                lines.append({"type": 1, "name": member.name})  # Go omits a zero size
                pos = member.offset_data
    lines.append({"type": 2, "payload": layer[pos:]})
    text = []
    for n, line in enumerate(lines):
        if "payload" in line:
            line["payload"] = base64.b64encode(line["payload"]).decode()
        line["position"] = n
        separators = (", ", ": ") if spaced else (",", ":")
        text.append(json.dumps(line, separators=separators))
    return gzip.compress("\n".join(text).encode() + b"\n")


LAYERS = [
    _tar(
        [
            ("etc/", None, None),
            ("etc/one", b"1" * 3000, None),
            ("etc/two", b"2" * 10, None),
            ("etc/empty", b"", None),
            ("etc/hard", None, "etc/one"),
        ]
    ),
    _tar([]),
    _tar([("etc/", None, None), ("etc/one", b"one again", None), ("etc/.wh.two", b"", None)]),
    _tar([("etc/", None, None), ("etc/.wh..wh..opq", b"", None), ("etc/three", b"3" * 99, None)]),
]


@dataclass
class FakeImage:
    """A data root holding one image, and the daemon's answers about it."""

    root: Path
    answers: dict[str, Any]
    archive: bytes  # the `docker save` archive (OCI layout) of the same image


def make_storage(root: Path) -> FakeImage:
    """Lay the image out under ``root`` as Docker 26's overlay2 store does."""
    diff_ids = [f"sha256:{hashlib.sha256(layer).hexdigest()}" for layer in LAYERS]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["sh"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created_by": f"step {n}"} for n in range(len(LAYERS))],
        }
    ).encode()
    image_hex = hashlib.sha256(config).hexdigest()
    content = root / "image/overlay2/imagedb/content/sha256"
    content.mkdir(parents=True)
    (content / image_hex).write_bytes(config)
    chain = ""
    uppers: list[str] = []
    for n, (layer, diff_id) in enumerate(zip(LAYERS, diff_ids, strict=True)):
        parent = chain
        chain = (
            diff_id
            if not chain
            else "sha256:" + hashlib.sha256(f"{chain} {diff_id}".encode()).hexdigest()
        )
        entry = root / "image/overlay2/layerdb/sha256" / chain.removeprefix("sha256:")
        entry.mkdir(parents=True)
        (entry / "diff").write_text(diff_id)
        if parent:
            (entry / "parent").write_text(parent)
        cache_id = hashlib.sha256(f"cache {n}".encode()).hexdigest()
        (entry / "cache-id").write_text(cache_id)
        (entry / "tar-split.json.gz").write_bytes(tar_split(layer, spaced=n == 2))
        (root / "overlay2" / cache_id / "diff").mkdir(parents=True)
        uppers.insert(0, f"{root}/overlay2/{cache_id}/diff")
    answers = {
        "/info": {"Driver": "overlay2", "DockerRootDir": str(root), "DriverStatus": []},
        "/version": {"Version": "26.1.4", "ApiVersion": "1.45"},
        f"/images/{REF}/json": {
            "Id": f"sha256:{image_hex}",
            "Size": sum(len(layer) for layer in LAYERS),
            "GraphDriver": {
                "Name": "overlay2",
                "Data": {"UpperDir": uppers[0], "LowerDir": ":".join(uppers[1:])},
            },
            "RootFS": {"Type": "layers", "Layers": diff_ids},
        },
    }
    blobs = {
        f"blobs/sha256/{d.removeprefix('sha256:')}": layer
        for d, layer in zip(diff_ids, LAYERS, strict=True)
    }
    blobs[f"blobs/sha256/{image_hex}"] = config
    manifest = [
        {
            "Config": f"blobs/sha256/{image_hex}",
            "RepoTags": [REF],
            "Layers": [f"blobs/sha256/{d.removeprefix('sha256:')}" for d in diff_ids],
        }
    ]
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for name, data in [*blobs.items(), ("manifest.json", json.dumps(manifest).encode())]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return FakeImage(root, answers, archive.getvalue())


class FakeDaemon:
    """Answers GET requests from ``answers`` (by the URL's end); 404 otherwise."""

    def __init__(self, path: Path, answers: dict[str, Any]) -> None:
        self.path = str(path)
        self.answers = answers
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        os.chmod(self.path, 0o777)
        self._listener.listen(8)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with conn:
                request = conn.recv(65536).split(b" ", 2)
                url = request[1].decode() if len(request) > 2 else ""
                key = next((k for k in self.answers if url.endswith(k)), None)
                if key is None:
                    conn.sendall(b'HTTP/1.0 404 Not Found\r\n\r\n{"message":"no"}')
                    continue
                body = json.dumps(self.answers[key]).encode()
                conn.sendall(
                    f"HTTP/1.0 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
                )

    def close(self) -> None:
        self._listener.close()


Alter = Callable[[FakeImage], None]


@pytest.fixture
def fake() -> Iterator[Callable[[Alter], str]]:
    """``fake(alter)``: the socket of a fake daemon for a fresh image ``alter`` changed."""
    # World-reachable (pytest's tmp_path is root's alone): the unreadable-root test asks as
    # nobody.
    work = Path(tempfile.mkdtemp(prefix="ideck-storage-"))
    work.chmod(0o755)
    daemons: list[FakeDaemon] = []

    def make(alter: Alter) -> str:
        image = make_storage(work / f"root{len(daemons)}")
        alter(image)
        daemon = FakeDaemon(work / f"d{len(daemons)}.sock", image.answers)
        daemons.append(daemon)
        return daemon.path

    yield make
    for daemon in daemons:
        daemon.close()
    shutil.rmtree(work, ignore_errors=True)


def test_the_control_reads_what_the_archive_says(fake: Callable[[Alter], str]) -> None:
    kept: list[FakeImage] = []
    path = fake(kept.append)
    image = read_storage_image(path, REF)
    assert [layer.diff_id for layer in image.layers] == kept[0].answers[f"/images/{REF}/json"][
        "RootFS"
    ]["Layers"]
    found = storage_analysis(f"unix://{path}", REF)
    assert found is not None
    expected = analyze_stream(io.BytesIO(kept[0].archive), name=REF)
    assert found.to_dict() == expected.to_dict()
    assert [layer.removed for layer in found.layers] == [0, 0, 1, 3]  # whiteout, opaque dir
    assert found.layers[1].size_bytes == 0  # the empty layer


def _refused(path: str, why: str) -> None:
    with pytest.raises(StorageRefused, match=why):
        read_storage_image(path, REF)
    assert storage_analysis(f"unix://{path}", REF) is None
    with pytest.raises(Exception, match="storage cannot be read"):
        storage_analysis(f"unix://{path}", REF, required=True)


def _move_root(image: FakeImage, new_root: Path) -> None:
    old = str(image.root)
    image.answers["/info"]["DockerRootDir"] = str(new_root)
    data = image.answers[f"/images/{REF}/json"]["GraphDriver"]["Data"]
    for key in ("UpperDir", "LowerDir"):
        data[key] = data[key].replace(old, str(new_root))


def test_refuses_a_planted_symlink(fake: Callable[[Alter], str]) -> None:
    def alter(image: FakeImage) -> None:
        planted = image.root.parent / f"{image.root.name}-planted"
        planted.mkdir()
        (planted / "image").symlink_to(image.root / "image")
        (planted / "overlay2").symlink_to(image.root / "overlay2")
        _move_root(image, planted)

    _refused(fake(alter), "cannot open directory image")


def test_refuses_a_symlink_deep_inside(fake: Callable[[Alter], str]) -> None:
    def alter(image: FakeImage) -> None:
        layerdb = image.root / "image/overlay2/layerdb"
        layerdb.rename(image.root / "elsewhere")
        layerdb.symlink_to(image.root / "elsewhere")

    _refused(fake(alter), "cannot open directory layerdb")


def test_refuses_a_symlinked_tar_split(fake: Callable[[Alter], str]) -> None:
    def alter(image: FakeImage) -> None:
        entry = next((image.root / "image/overlay2/layerdb/sha256").iterdir())
        (entry / "tar-split.json.gz").rename(image.root / "ts.gz")
        (entry / "tar-split.json.gz").symlink_to(image.root / "ts.gz")

    _refused(fake(alter), "cannot open tar-split")


def test_refuses_a_symlinked_data_root(fake: Callable[[Alter], str]) -> None:
    def alter(image: FakeImage) -> None:
        link = image.root.parent / f"{image.root.name}-link"
        link.symlink_to(image.root)
        _move_root(image, link)

    _refused(fake(alter), "cannot open the data root")


def test_refuses_a_foreign_layer_directory(fake: Callable[[Alter], str]) -> None:
    def alter(image: FakeImage) -> None:
        foreign = image.root.parent / "foreign" / "overlay2" / ("0" * 64) / "diff"
        foreign.mkdir(parents=True)
        image.answers[f"/images/{REF}/json"]["GraphDriver"]["Data"]["UpperDir"] = str(foreign)

    _refused(fake(alter), "GraphDriver directories")


def test_refuses_a_layer_directory_that_is_a_symlink(fake: Callable[[Alter], str]) -> None:
    def alter(image: FakeImage) -> None:
        upper = Path(image.answers[f"/images/{REF}/json"]["GraphDriver"]["Data"]["UpperDir"])
        upper.rmdir()
        upper.symlink_to("/etc")

    _refused(fake(alter), "cannot open directory diff")


def test_refuses_a_dotdot_data_root(fake: Callable[[Alter], str]) -> None:
    def alter(image: FakeImage) -> None:
        _move_root(image, Path(f"{image.root}/../{image.root.name}"))

    _refused(fake(alter), "data root")


def test_refuses_the_containerd_store(fake: Callable[[Alter], str]) -> None:
    def alter(image: FakeImage) -> None:
        image.answers["/info"]["Driver"] = "overlayfs"
        image.answers["/info"]["DriverStatus"] = [["driver-type", "io.containerd.snapshotter.v1"]]

    _refused(fake(alter), "not overlay2")


def test_refuses_another_graph_driver(fake: Callable[[Alter], str]) -> None:
    def alter(image: FakeImage) -> None:
        image.answers[f"/images/{REF}/json"]["GraphDriver"]["Name"] = "vfs"

    _refused(fake(alter), "graph driver")


def test_refuses_a_layer_list_that_is_not_the_images(fake: Callable[[Alter], str]) -> None:
    def alter(image: FakeImage) -> None:
        image.answers[f"/images/{REF}/json"]["RootFS"]["Layers"].pop()

    _refused(fake(alter), "diff ids differ")


def test_refuses_a_config_that_is_not_the_images(fake: Callable[[Alter], str]) -> None:
    def alter(image: FakeImage) -> None:
        content = next((image.root / "image/overlay2/imagedb/content/sha256").iterdir())
        content.write_bytes(content.read_bytes().replace(b"step 0", b"step X"))

    _refused(fake(alter), "does not hash to the image id")


def test_refuses_a_layerdb_entry_of_another_layer(fake: Callable[[Alter], str]) -> None:
    def alter(image: FakeImage) -> None:
        entry = next((image.root / "image/overlay2/layerdb/sha256").iterdir())
        (entry / "diff").write_text("sha256:" + "1" * 64)

    _refused(fake(alter), "diff differs")


def test_refuses_a_bad_cache_id(fake: Callable[[Alter], str]) -> None:
    def alter(image: FakeImage) -> None:
        for entry in (image.root / "image/overlay2/layerdb/sha256").iterdir():
            (entry / "cache-id").write_text("../../etc")

    _refused(fake(alter), "cache-id")


def test_refuses_an_unreadable_data_root(fake: Callable[[Alter], str]) -> None:
    """A user who may talk to the daemon but not read its data root (the docker group)."""
    import urllib.parse  # noqa: F401  (imported before the child drops its rights)

    def alter(image: FakeImage) -> None:
        image.root.chmod(0o710)  # as dockerd makes its data root

    path = fake(alter)
    assert read_storage_image(path, REF).layers  # root itself may read it
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: nobody, asking the same daemon
        try:
            os.close(read_end)
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            try:
                read_storage_image(path, REF)
                said = "read"
            except StorageRefused as exc:
                said = f"refused: {exc}"
            said += f"; analysis: {storage_analysis('unix://' + path, REF)}"
            os.write(write_end, said.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        said = pipe.read().decode()
    os.waitpid(pid, 0)
    assert said == "refused: cannot open the data root: Permission denied; analysis: None"


def test_refuses_a_legacy_daemon_off_utc(fake: Callable[[Alter], str]) -> None:
    """Engine 20.10's layer IDs encode the epoch in the daemon's zone: not UTC, not read."""

    def alter(image: FakeImage) -> None:
        image.answers["/version"]["Version"] = "20.10.24"
        image.answers["/info"]["SystemTime"] = "2026-12-04T07:00:00.5+01:00"

    _refused(fake(alter), "not on UTC")


def test_a_legacy_daemon_on_utc_names_layers_by_v1_id(fake: Callable[[Alter], str]) -> None:
    def alter(image: FakeImage) -> None:
        image.answers["/version"]["Version"] = "20.10.24"
        image.answers["/info"]["SystemTime"] = "2026-12-04T06:00:00.5Z"

    paths = [layer.tar_path for layer in read_storage_image(fake(alter), REF).layers]
    assert len(set(paths)) == len(LAYERS)
    assert all(len(p) == len("0" * 64 + "/layer.tar") and p.endswith("/layer.tar") for p in paths)
