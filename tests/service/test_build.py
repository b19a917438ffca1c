"""Builds and commits against the sandbox daemon (fixtures in tests/fixtures/build-*/).

Other engineers run tests on the same daemon at the same time, so every check looks only at
what this test's build made: its own unique tags, and containers created from its own images.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tui.service import BuildFailed, InvalidReference
from tui.service.build import (
    BuildCancelled,
    BuildError,
    BuildEvent,
    BuildImageId,
    BuildOutput,
    BuildStep,
    BuildSucceeded,
    BuildTagged,
)

pytestmark = pytest.mark.daemon

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DockerCli = Callable[..., subprocess.CompletedProcess[str]]


def unique(prefix: str = "build") -> str:
    """A repository nobody else uses."""
    return f"test/{prefix}-{uuid.uuid4().hex[:8]}"


def images_of(docker_cli: DockerCli, repository: str) -> set[str]:
    """Tags of ``repository`` (``repo:tag``) the daemon has."""
    out = docker_cli("images", "--format", "{{.Repository}}:{{.Tag}}", repository).stdout
    return {line for line in out.split() if line}


def step_images(events: list[BuildEvent]) -> list[str]:
    """The ``---> <id>`` images a build reported (to clean up cache it left)."""
    found = []
    for event in events:
        if isinstance(event, BuildOutput):
            for line in event.lines:
                if line.startswith(" ---> ") and " " not in line[6:]:
                    found.append(line[6:])
    return found


@pytest.fixture
def cleanup(docker_cli: DockerCli) -> Iterator[list[str]]:
    """References and image IDs to remove after the test (never seeded ones)."""
    names: list[str] = []
    yield names
    for name in names:
        with contextlib.suppress(Exception):
            docker_cli("rmi", name)


def test_multi_step_build_streams_steps_in_order_and_applies_tags_and_args(
    service: Any, docker_cli: DockerCli, cleanup: list[str]
) -> None:
    repo = unique()
    tags = [f"{repo}:a", f"{repo}:b", f"{repo}:c"]
    cleanup.extend(tags)
    events = list(
        service.build(
            FIXTURES / "build-multi",
            tags=tags,
            buildargs={"GREETING": "bonjour"},
            labels={"org.imagedeck.test": "multi"},
            nocache=True,
        )
    )
    steps = [e for e in events if isinstance(e, BuildStep)]
    assert [s.number for s in steps] == list(range(1, len(steps) + 1))
    assert all(s.total == len(steps) for s in steps)
    assert steps[0].instruction == "FROM imagedeck/busybox:latest AS base"
    assert steps[3].instruction.startswith("COPY message.txt")
    assert isinstance(events[-1], BuildSucceeded)
    assert [e.tag for e in events if isinstance(e, BuildTagged)] == tags[1:]
    assert any(isinstance(e, BuildImageId) for e in events)
    output = [line for e in events if isinstance(e, BuildOutput) for line in e.lines]
    assert "greeting=bonjour" in output
    assert images_of(docker_cli, repo) == set(tags)

    inspect = json.loads(docker_cli("image", "inspect", tags[0]).stdout)[0]
    assert inspect["Id"] == events[-1].image_id
    assert "GREETING=bonjour" in inspect["Config"]["Env"]
    assert inspect["Config"]["Labels"]["org.imagedeck.test"] == "multi"
    assert inspect["Config"]["Labels"]["org.imagedeck.fixture"] == "build-multi"
    ran = docker_cli("run", "--rm", tags[2])
    assert ran.stdout.strip() == "greeting=bonjour"


def test_target_stage_stops_at_that_stage(
    service: Any, docker_cli: DockerCli, cleanup: list[str]
) -> None:
    tag = f"{unique()}:base"
    cleanup.append(tag)
    events = list(service.build(FIXTURES / "build-multi", tags=[tag], target="base"))
    assert isinstance(events[-1], BuildSucceeded)
    instructions = [e.instruction for e in events if isinstance(e, BuildStep)]
    assert not any(i.startswith("LABEL") for i in instructions)
    inspect = json.loads(docker_cli("image", "inspect", tag).stdout)[0]
    assert "org.imagedeck.fixture" not in (inspect["Config"]["Labels"] or {})


def test_failing_run_reports_the_step_and_the_error(
    service: Any, docker_cli: DockerCli, cleanup: list[str]
) -> None:
    repo = unique()
    events = list(service.build(FIXTURES / "build-fail", tags=[f"{repo}:x"], nocache=True))
    cleanup.extend(reversed(step_images(events)[1:]))  # its cache, not the base image
    error = events[-1]
    assert isinstance(error, BuildError)
    assert error.step is not None and error.step.number == 3
    assert error.step.instruction.startswith('RUN echo "about to fail"')
    assert error.code == 3
    assert "returned a non-zero code: 3" in error.detail
    assert "Step 3/4 failed" in error.message
    output = [line for e in events if isinstance(e, BuildOutput) for line in e.lines]
    assert "about to fail" in output
    assert not any(isinstance(e, BuildSucceeded) for e in events)
    assert images_of(docker_cli, repo) == set()


def test_cancel_mid_build_leaves_no_containers_images_or_tags(
    service: Any, docker_cli: DockerCli
) -> None:
    repo = unique()
    nonce = uuid.uuid4().hex
    before = set(docker_cli("images", "-a", "-q", "--no-trunc").stdout.split())
    cancel = threading.Event()
    events: list[BuildEvent] = []
    running: list[str] = []
    for event in service.build(
        FIXTURES / "build-cancel",
        tags=[f"{repo}:x", f"{repo}:y"],
        buildargs={"NONCE": nonce},
        cancel=cancel,
    ):
        events.append(event)
        if isinstance(event, BuildOutput):
            for line in event.lines:
                if line.startswith(" ---> Running in "):
                    running.append(line.split()[-1])
            if "sleeping" in event.lines:
                cancel.set()  # from this thread: the watcher thread shuts the socket
    assert isinstance(events[-1], BuildCancelled)
    assert [e.number for e in events if isinstance(e, BuildStep)] == [1, 2, 3, 4]
    # The sleeping step's container and every step container are gone.
    assert running
    for container in running:
        assert docker_cli("container", "inspect", container).returncode != 0
    # Containers created from this build's step images: none.
    made = step_images(events)[1:]
    listing = docker_cli("ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Image}}").stdout
    assert not [line for line in listing.splitlines() if any(m in line for m in made)]
    # No tags, and none of the step images it made are left in the image list.
    assert images_of(docker_cli, repo) == set()
    after = set(docker_cli("images", "-a", "-q", "--no-trunc").stdout.split())
    for image in made:
        assert not any(i.removeprefix("sha256:").startswith(image) for i in after - before)
        # A step answered from the cache names an image that was there before the build
        # (another build left it): only what this build created must be gone.
        if not any(i.removeprefix("sha256:").startswith(image) for i in before):
            assert docker_cli("image", "inspect", image).returncode != 0


def test_tutorial_dockerfile_fails_cleanly_without_network(service: Any) -> None:
    events = list(service.build(FIXTURES / "tutorial", tags=[f"{unique()}:tutorial"]))
    steps = [e for e in events if isinstance(e, BuildStep)]
    assert steps and steps[0].instruction.split() == ["FROM", "centos:6.7"]
    error = events[-1]
    assert isinstance(error, BuildError)
    assert error.message.startswith("Cannot pull centos:6.7:")
    assert error.step is not None and error.step.number == 1


def test_problems_are_reported_before_anything_is_sent(service: Any, tmp_path: Path) -> None:
    with pytest.raises(BuildFailed, match="does not exist"):
        service.build(tmp_path / "missing")
    with pytest.raises(BuildFailed, match="no Dockerfile"):
        service.build(tmp_path)
    (tmp_path / "Dockerfile").write_text("FROM imagedeck/busybox:latest\n")
    with pytest.raises(InvalidReference, match="lowercase"):
        service.build(tmp_path, tags=["Test/Upper:x"])
    with pytest.raises(BuildFailed, match="platform"):
        service.build(tmp_path, platform="Linux AMD64")
    with pytest.raises(BuildFailed, match="build arg"):
        service.build(tmp_path, buildargs={"": "x"})


def test_dockerfile_outside_the_context_and_a_parse_error(
    service: Any, tmp_path: Path, cleanup: list[str]
) -> None:
    broken = tmp_path / "Broken.dockerfile"
    broken.write_text("FROM imagedeck/busybox:latest\nFROOM nothing\n")
    events = list(service.build(FIXTURES / "build-multi", dockerfile=broken))
    assert isinstance(events[-1], BuildError)
    assert "unknown instruction" in events[-1].message.lower()


def test_commit_applies_message_author_and_changes(
    service: Any, docker_cli: DockerCli, cleanup: list[str]
) -> None:
    name = f"ideck-commit-{uuid.uuid4().hex[:8]}"
    created = docker_cli(
        "create", "--name", name, "imagedeck/busybox:latest", "sh", "-c", "echo hi > /hi"
    )
    assert created.returncode == 0, created.stderr
    try:
        docker_cli("start", "-a", name)
        target = f"{unique('commit')}:v2"
        cleanup.append(target)
        image_id = service.commit(
            name,
            target,
            message="has update",
            author="runoob",
            changes=['CMD ["cat", "/hi"]', "ENV STAGE=committed", "EXPOSE 8080"],
        )
        inspect = json.loads(docker_cli("image", "inspect", target).stdout)[0]
        assert inspect["Id"] == image_id
        assert inspect["Comment"] == "has update"
        assert inspect["Author"] == "runoob"
        assert inspect["Config"]["Cmd"] == ["cat", "/hi"]
        assert "STAGE=committed" in inspect["Config"]["Env"]
        assert "8080/tcp" in inspect["Config"]["ExposedPorts"]
        assert docker_cli("run", "--rm", target).stdout.strip() == "hi"
    finally:
        docker_cli("rm", "-f", name)


def test_commit_checks_before_sending(service: Any) -> None:
    with pytest.raises(InvalidReference):
        service.commit("ideck-stopped", "Bad Ref:x")
    with pytest.raises(BuildFailed, match="must be one of"):
        service.commit("ideck-stopped", "test/never:x", changes=["RUN rm -rf /"])
