"""BuildKit builds through buildx and the build cache, against the real sandbox daemon.

buildx is Debian 13's docker-buildx (0.13.1): the docker-26 sandboxes carry it in their
DOCKER_CONFIG; elsewhere ``scripts/sandbox buildx-plugin`` (run by ``make test``) has it in the
engines cache and a private DOCKER_CONFIG links it. Expectations that differ by engine say so by
name (Engine 20.10's BuildKit has no heredocs and prints no Dockerfile excerpt).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tui.service.build import (
    BuildCancelled,
    BuildError,
    BuildEvent,
    BuildSucceeded,
    VertexLog,
    VertexUpdate,
    check_build_request,
)
from tui.service.facade import ImageService

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
ENGINES_PLUGIN = "usr/libexec/docker/cli-plugins/docker-buildx"

DockerCli = Callable[..., subprocess.CompletedProcess[str]]


def _plugin_path() -> Path | None:
    config = os.environ.get("DOCKER_CONFIG")
    if config and os.access(Path(config) / "cli-plugins" / "docker-buildx", os.X_OK):
        return Path(config) / "cli-plugins" / "docker-buildx"
    cache = Path(os.environ.get("IMAGEDECK_ENGINES_DIR") or "/var/tmp/imagedeck-engines")
    plugin = cache / "trixie" / "root" / ENGINES_PLUGIN
    return plugin if os.access(plugin, os.X_OK) else None


@pytest.fixture(scope="session")
def buildx_config(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A DOCKER_CONFIG whose cli-plugins hold docker-buildx (fails when there is none)."""
    plugin = _plugin_path()
    if plugin is None:
        message = (
            "no docker-buildx plugin: run `scripts/sandbox buildx-plugin` (outside the netns; "
            "`make test` does) to fetch Debian 13's into the engines cache"
        )
        # make test fetches it; a run without it cannot test BuildKit, and says so by failing.
        pytest.fail(message)
    config = tmp_path_factory.mktemp("buildx-config")
    (config / "cli-plugins").mkdir()
    (config / "cli-plugins" / "docker-buildx").symlink_to(plugin)
    (config / "config.json").write_text("{}")
    return str(config)


@pytest.fixture
def bk(sandbox: Any, buildx_config: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ImageService]:
    """A service whose builds go through BuildKit (buildx with the docker driver)."""
    monkeypatch.setenv("DOCKER_CONFIG", buildx_config)
    monkeypatch.delenv("IMAGEDECK_BUILDER", raising=False)
    service = ImageService.connect(sandbox.docker_host)
    info = service.builder_info(refresh=True)
    assert info.buildkit, info.reason
    assert info.driver == "docker"
    yield service
    service.close()


@pytest.fixture
def bx(sandbox: Any, buildx_config: str) -> DockerCli:
    """The docker CLI with buildx, against the sandbox daemon."""
    env = {**os.environ, "DOCKER_HOST": sandbox.docker_host, "DOCKER_CONFIG": buildx_config}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", *args], capture_output=True, text=True, env=env, timeout=300, check=False
        )

    return run


@pytest.fixture
def repo(docker_cli: DockerCli) -> Iterator[str]:
    """A unique repository name; every tag of it is removed afterwards."""
    name = f"test/bk-{uuid.uuid4().hex[:8]}"
    yield name
    listing = docker_cli("images", name, "--format", "{{.Repository}}:{{.Tag}}").stdout
    for reference in listing.split():
        docker_cli("rmi", reference)


def build(service: ImageService, context: Path, **kwargs: Any) -> list[BuildEvent]:
    cancel = kwargs.pop("cancel", None) or threading.Event()
    request = check_build_request(context, **kwargs)
    return list(service.build_buildkit(request, cancel))


def steps(events: list[BuildEvent]) -> dict[str, VertexUpdate]:
    """The last state of every vertex, by name."""
    return {e.name: e for e in events if isinstance(e, VertexUpdate)}


def lines_of(events: list[BuildEvent], name_part: str) -> list[str]:
    keys = {e.key for e in events if isinstance(e, VertexUpdate) and name_part in e.name}
    return [line for e in events if isinstance(e, VertexLog) and e.key in keys for line in e.lines]


def image_id(docker_cli: DockerCli, reference: str) -> str:
    return docker_cli("image", "inspect", "-f", "{{.Id}}", reference).stdout.strip()


def test_cache_mount_and_target_with_several_tags_labels_and_args(
    bk: ImageService, docker_cli: DockerCli, repo: str
) -> None:
    nonce = uuid.uuid4().hex[:12]
    events = build(
        bk,
        FIXTURES / "buildkit-cache-mount",
        tags=[f"{repo}:one", f"{repo}:two", f"{repo}:three"],
        buildargs={"NONCE": nonce},
        labels={"org.imagedeck.test": nonce},
        target="final",
        platform="linux/amd64",
    )
    done = events[-1]
    assert isinstance(done, BuildSucceeded), events[-3:]
    # Every tag names the one image buildx wrote, and the label is on it.
    for tag in ("one", "two", "three"):
        assert image_id(docker_cli, f"{repo}:{tag}") == done.image_id
    labels = docker_cli("image", "inspect", "-f", "{{json .Config.Labels}}", done.image_id).stdout
    assert json.loads(labels)["org.imagedeck.test"] == nonce
    platform = docker_cli("image", "inspect", "-f", "{{.Os}}/{{.Architecture}}", done.image_id)
    assert platform.stdout.strip() == "linux/amd64"
    # The cache-mount step ran (the build arg reached it) and printed under its own step.
    by_name = steps(events)
    mount = [n for n in by_name if "--mount=type=cache" in n]
    assert mount and by_name[mount[0]].state == "done"
    assert f"nonce {nonce}" in lines_of(events, "--mount=type=cache")
    # The target's stage ran; the stage it does not need did not.
    assert any(n.startswith("[final") for n in by_name)
    assert not any("skipped" in n for n in by_name)
    assert all(u.state in ("done", "cached") for u in by_name.values())
    out = docker_cli("run", "--rm", f"{repo}:one").stdout
    assert out.strip() == "hello from the cache-mount fixture"


def test_a_second_build_is_cached(bk: ImageService, repo: str, engine: Any) -> None:
    context = FIXTURES / "buildkit-cache-mount"
    nonce = uuid.uuid4().hex[:12]
    first = build(bk, context, tags=[f"{repo}:a"], buildargs={"NONCE": nonce}, target="final")
    again = build(bk, context, tags=[f"{repo}:a"], buildargs={"NONCE": nonce}, target="final")
    assert isinstance(first[-1], BuildSucceeded) and isinstance(again[-1], BuildSucceeded)
    if not engine.containerd:
        # containerd store: the ID is the index digest, and its attestation manifest carries
        # the build's time, so every build has a new ID even when every step is cached.
        assert first[-1].image_id == again[-1].image_id
    assert steps(again)[next(n for n in steps(again) if "--mount" in n)].state == "cached"


def test_modern_dockerfile(bk: ImageService, docker_cli: DockerCli, repo: str, engine: Any) -> None:
    events = build(
        bk, FIXTURES / "buildkit-modern", tags=[f"{repo}:modern"], target="final", nocache=True
    )
    if engine.name == "docker-20.10":
        # Engine 20.10's built-in Dockerfile frontend predates heredocs: a reason, not the raw
        # parse error alone.
        error = events[-1]
        assert isinstance(error, BuildError)
        assert "heredoc" in error.message and "Engine 23" in error.message
        assert "unknown instruction" in error.detail
        return
    assert isinstance(events[-1], BuildSucceeded), events[-3:]
    assert lines_of(events, "RUN cat /heredoc")[:2] == ["heredoc line one", "heredoc line two"]
    out = docker_cli("run", "--rm", f"{repo}:modern").stdout
    assert out.splitlines() == ["heredoc line one", "heredoc line two"]


def test_failing_step(bk: ImageService, repo: str, engine: Any) -> None:
    events = build(bk, FIXTURES / "build-fail", tags=[f"{repo}:fail"])
    error = events[-1]
    assert isinstance(error, BuildError)
    assert error.message.startswith('[3/4] RUN echo "about to fail" && exit 3')
    assert error.code == 3
    failed = [e for e in events if isinstance(e, VertexUpdate) and e.key == error.vertex]
    assert failed[-1].state == "error"
    assert lines_of(events, "[3/4]") == ["about to fail"]
    assert not any(e.name.startswith("[4/4]") and e.state != "waiting" for e in failed)
    if engine.name == "docker-20.10":
        assert error.excerpt == ()  # Engine 20.10's BuildKit sends no source map
    else:
        assert error.excerpt[0] == "Dockerfile:4"
        assert '   4 | >>> RUN echo "about to fail" && exit 3' in error.excerpt


def _cache_records(bx: DockerCli) -> dict[str, str]:
    """ID -> description of every build cache record, as `docker buildx du --verbose` says."""
    out = bx("buildx", "du", "--verbose").stdout
    records: dict[str, str] = {}
    ident = ""
    for line in out.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "ID":
            ident = value.strip()
            records[ident] = ""
        elif key.strip() == "Description" and ident:
            records[ident] = value.strip()
    return records


def test_cancel_leaves_nothing_behind(
    bk: ImageService, docker_cli: DockerCli, bx: DockerCli, repo: str
) -> None:
    nonce = uuid.uuid4().hex
    containers_before = set(docker_cli("ps", "-aq", "--no-trunc").stdout.split())
    images_before = set(docker_cli("images", "-aq", "--no-trunc").stdout.split())
    records_before = _cache_records(bx)
    cancel = threading.Event()
    request = check_build_request(
        FIXTURES / "build-cancel",
        tags=[f"{repo}:x", f"{repo}:y"],
        buildargs={"NONCE": nonce},
        labels={"org.imagedeck.test": nonce},
    )
    events: list[BuildEvent] = []
    for event in bk.build_buildkit(request, cancel):
        events.append(event)
        if isinstance(event, VertexLog) and "sleeping" in event.lines:
            cancel.set()
    assert isinstance(events[-1], BuildCancelled)
    # The nonce step finished before the cancel, so it had written a cache record: removed,
    # with every other record the build wrote.
    assert any(r.startswith("cache ") for r in events[-1].removed)
    assert set(_cache_records(bx)) <= set(records_before)
    # No image (tagged or not) and no container of this build.
    assert docker_cli("images", "-q", repo).stdout.strip() == ""
    new_images = set(docker_cli("images", "-aq", "--no-trunc").stdout.split()) - images_before
    for image in new_images:
        labels = docker_cli("image", "inspect", "-f", "{{json .Config.Labels}}", image).stdout
        assert nonce not in labels
    new_containers = set(docker_cli("ps", "-aq", "--no-trunc").stdout.split()) - containers_before
    for container in new_containers:
        detail = docker_cli("container", "inspect", container).stdout
        assert nonce not in detail


def test_without_buildx_the_legacy_builder_explains_a_buildkit_dockerfile(
    sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, repo: str
) -> None:
    (tmp_path / "config.json").write_text("{}")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))  # no cli-plugins: no buildx
    monkeypatch.delenv("IMAGEDECK_BUILDER", raising=False)
    service = ImageService.connect(sandbox.docker_host)
    try:
        info = service.builder_info(refresh=True)
        assert not info.buildkit and info.reason == "no docker buildx plugin"
        request = check_build_request(FIXTURES / "buildkit-cache-mount", tags=[f"{repo}:legacy"])
        events = list(service.build_with(request, threading.Event()))
    finally:
        service.close()
    error = events[-1]
    assert isinstance(error, BuildError)
    assert error.message.startswith("This Dockerfile needs BuildKit (RUN --mount (line 5))")
    assert "no docker buildx plugin" in error.message and "docker-buildx" in error.message
    assert "--mount" in error.detail  # the daemon's own words are kept as the detail


# -- the build cache ----------------------------------------------------------------------------


def go_human_size(size: float) -> str:
    """go-units' HumanSize, which `docker system df` prints ("%.4g" and decimal units)."""
    units = ["B", "kB", "MB", "GB", "TB", "PB"]
    i = 0
    while size >= 1000 and i < len(units) - 1:
        size /= 1000
        i += 1
    return f"{size:.4g}{units[i]}"


def df_build_cache(docker_cli: DockerCli) -> dict[str, str]:
    for line in docker_cli("system", "df", "--format", "{{json .}}").stdout.splitlines():
        row = json.loads(line)
        if row.get("Type") == "Build Cache":
            return {str(k): str(v) for k, v in row.items()}
    raise AssertionError("docker system df has no Build Cache line")


def test_build_cache_figure_and_exact_prune(
    bk: ImageService, docker_cli: DockerCli, bx: DockerCli, repo: str
) -> None:
    # Something in the cache for sure: a build with a fresh nonce.
    nonce = uuid.uuid4().hex
    before = {r.id for r in bk.build_cache().records}
    events = build(bk, FIXTURES / "buildkit-cache-mount", buildargs={"NONCE": nonce})
    assert isinstance(events[-1], BuildSucceeded)
    docker_cli("rmi", events[-1].image_id)
    usage = bk.build_cache()
    row = df_build_cache(docker_cli)
    assert go_human_size(usage.size) == re.sub(r"\s+", "", row["Size"])
    assert int(row["TotalCount"]) == len(usage.records)
    assert bk.disk_usage().build_cache == usage.size  # the summary line's figure
    assert {r.id for r in usage.records} - before, "the build wrote no cache record"
    plan = bk.plan_cache_prune()
    planned = {r.id for r in plan.records}
    assert planned, "nothing unused to prune"
    result = bk.prune_cache(plan)
    # Preview equals result: exactly the planned records went, nothing else.
    assert set(result.deleted) == planned
    assert result.failed == () and result.extra == ()
    assert not (planned & set(_cache_records(bx)))
    after = bk.build_cache()
    row_after = df_build_cache(docker_cli)
    assert go_human_size(after.size) == re.sub(r"\s+", "", row_after["Size"])
    assert int(row_after["TotalCount"]) == len(after.records)
    assert after.size == usage.size - plan.freed


def test_the_connection_is_passed_on_tcp_with_tls(
    sandbox: Any,
    buildx_config: str,
    monkeypatch: pytest.MonkeyPatch,
    docker_cli: DockerCli,
    repo: str,
) -> None:
    """imagedeck on a TLS endpoint: buildx gets --host and the certificates (DOCKER_HOST is
    dropped from its environment, so nothing else could lead it there)."""
    state = Path(os.environ.get("IMAGEDECK_SANDBOX_STATE", ""))
    endpoints = state / "remote" / "endpoints.json"
    if not endpoints.is_file():
        # scripts/sandbox start brings them up; without them this cannot be tested.
        pytest.fail(f"no remote endpoints at {endpoints} (scripts/sandbox start makes them)")
    tls = json.loads(endpoints.read_text())["tls"]
    monkeypatch.setenv("DOCKER_CONFIG", buildx_config)
    monkeypatch.setenv("DOCKER_HOST", tls["host"])
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", tls["client"])
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    monkeypatch.delenv("IMAGEDECK_BUILDER", raising=False)
    service = ImageService.connect()
    try:
        flags, env = service.cli_connection()
        assert flags[:3] == ["--host", tls["host"], "--tlsverify"]
        assert "--tlscert" in flags and "DOCKER_HOST" not in env
        assert service.builder_info(refresh=True).buildkit
        events = build(service, FIXTURES / "buildkit-cache-mount", tags=[f"{repo}:tls"])
    finally:
        service.close()
    done = events[-1]
    assert isinstance(done, BuildSucceeded), events[-3:]
    # The image is in the sandbox daemon (seen through its unix socket).
    assert image_id(docker_cli, f"{repo}:tls") == done.image_id


def test_pull_resolves_the_base_image_in_the_registry(
    bk: ImageService, docker_cli: DockerCli, repo: str, tmp_path: Path, engine: Any
) -> None:
    registry = os.environ.get("IMAGEDECK_REGISTRY", "127.0.0.1:5000")
    base = f"{registry}/demo/app:1.0"  # seeded and pushed by scripts/sandbox
    (tmp_path / "Dockerfile").write_text(f"FROM {base}\nLABEL pulled=yes\n")
    kept = build(bk, tmp_path, tags=[f"{repo}:kept"])
    pulled = build(bk, tmp_path, tags=[f"{repo}:pulled"], pull=True)
    assert isinstance(kept[-1], BuildSucceeded) and isinstance(pulled[-1], BuildSucceeded)
    # Without --pull the local image is used as it is; with it, BuildKit asks the registry and
    # builds on the digest it answers (the one `docker push` recorded).
    if not engine.containerd:
        # containerd store: the local image already carries its digest, so the step names it
        # with or without --pull.
        assert f"[1/1] FROM {base}" in steps(kept)
    from_pulled = [n for n in steps(pulled) if n.startswith(f"[1/1] FROM {base}@sha256:")]
    assert from_pulled
    digest = from_pulled[0].rsplit("@", 1)[1]
    repo_digests = docker_cli("image", "inspect", "-f", "{{json .RepoDigests}}", base).stdout
    assert f"{base.rsplit(':', 1)[0]}@{digest}" in json.loads(repo_digests)
