"""Every README flow, typed into the real program in a pty against the sandbox daemon.

Each test starts `imagedeck` as a person does, presses keys with a person's pauses and reads
the terminal's screen (pyte). Images that a flow changes are scratch tags of the base image
with unique names, removed afterwards; the seeded images are only read.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import BASE_IMAGE, DockerCli, Sandbox
from tests.e2e.conftest import Scratch, StartApp
from tests.e2e.harness import Terminal

pytestmark = pytest.mark.daemon


def test_list(start_app: StartApp, docker_cli: DockerCli) -> None:
    term = start_app(cols=120, rows=40)
    screen = term.wait_for_text("demo/app", "reclaimable")
    for column in ("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "UNIQUE", "CTR"):
        assert column in screen

    # Other tests add and remove images meanwhile: compare with the CLI as it is right now.
    def matches_cli(screen: str) -> bool:
        lines = docker_cli("images", "--format", "{{.ID}} {{.Repository}}", check=True)
        rows = [line.split() for line in lines.stdout.splitlines()]
        ids = {image_id for image_id, _ in rows}
        tags = sum(1 for _, repo in rows if repo != "<none>") + sum(
            1 for image_id in ids if all(repo == "<none>" for i, repo in rows if i == image_id)
        )
        return f"{len(ids)} images · {tags} tags" in screen

    term.wait_until(matches_cli, "the image and tag counts of `docker images`")
    assert "▸" in term.line_with("demo/running")
    assert "○" in term.line_with("(dangling)")


def test_filter(start_app: StartApp) -> None:
    term = start_app()
    term.press("/")
    term.type("demo/app")
    screen = term.wait_for_text("shown)")
    rows = [line for line in term.lines() if "latest" in line]
    assert not rows, term.dump()
    assert "10.0" in screen and "1.2" in screen
    term.press("enter", "escape")
    term.wait_gone("shown)")


def filter_to(term: Terminal, text: str) -> None:
    """`/`, type ``text``, Enter: back in the list with only matching rows."""
    term.press("/")
    term.type(text)
    term.wait_for_text("shown)")
    term.press("enter")


def open_on(
    start_app: StartApp, row: str, key: str, *texts: str, cols: int = 80, rows: int = 24
) -> tuple[Terminal, str]:
    """Start imagedeck, filter the list to ``row``, press ``key``, wait for ``texts``:
    the terminal and the screen that shows them."""
    term = start_app(cols=cols, rows=rows)
    filter_to(term, row)
    term.press(key)
    return term, term.wait_for_text(*texts)


def test_mark(start_app: StartApp, scratch: Scratch) -> None:
    first = scratch("e2e/mark")
    term, screen = open_on(start_app, first.split(":")[0], "space", "1 marked, frees")
    assert "●" in term.line_with(" v1 "), screen
    term.press("A")
    term.wait_gone("marked, frees")


def test_delete_untags_then_deletes(
    start_app: StartApp, scratch: Scratch, docker_cli: DockerCli
) -> None:
    reference = scratch("e2e/delete")
    term, _ = open_on(start_app, reference.split(":")[0], "d", "untag", reference, "Cancel")
    term.press("y")
    term.wait_for_text("(0 shown)")
    assert docker_cli("image", "inspect", reference).returncode != 0
    assert "imagedeck/busybox" in docker_cli("images", "--format", "{{.Repository}}").stdout


def test_conflict(start_app: StartApp) -> None:
    """The tutorial's conflict: a stopped container uses the image; Esc leaves everything."""
    term, _ = open_on(start_app, "demo/stopped", "d", "demo/stopped", "Cancel", cols=120, rows=40)
    term.press("y")
    # The way out is drawn once the dialog has looked the container up (a worker): wait for
    # it, rather than expect it in the first frame that names the container.
    term.wait_for_text("is in use", "ideck-stopped", "r removes the stopped container")
    term.press("escape")
    term.wait_gone("is in use")
    term.wait_for_text("demo/stopped")


def test_wizard_preview_lists_exactly_what_goes(start_app: StartApp, docker_cli: DockerCli) -> None:
    term = start_app(cols=120, rows=40)
    term.press("X")
    term.wait_for_text("Cleanup wizard", "Dangling images only")
    term.press("p")
    screen = term.wait_for_text("Remove (y)")
    dangling = docker_cli("images", "-q", "--filter", "dangling=true", check=True).stdout.split()
    for image_id in dangling[:3]:
        assert image_id[:12] in screen, term.dump()
    term.press("escape")
    term.wait_gone("Cleanup wizard")


def test_tag_selects_the_new_row(
    start_app: StartApp, scratch: Scratch, docker_cli: DockerCli
) -> None:
    source = scratch("e2e/tag")
    target = source.replace(":v1", ":v2")
    term, _ = open_on(start_app, source.split(":")[0], "t", "Tag ", "as…")
    term.press(*["backspace"] * 2)
    term.type("v2")
    term.wait_for_text("Valid")
    term.press("enter")
    term.wait_for_text("Tagged")
    try:
        term.wait_until(lambda s: "v2" in term.selected_row(), "the new tag selected")
    finally:
        docker_cli("rmi", target)


def test_inspect(start_app: StartApp) -> None:
    term, _ = open_on(
        start_app, "imagedeck/busybox", "i", "keys,", "bytes of JSON", cols=120, rows=40
    )
    term.press(".")
    term.type("Config.Cmd")
    term.wait_for_text(".Config.Cmd = ")
    term.press("escape", "escape")
    term.wait_gone("bytes of JSON")


def test_history(start_app: StartApp) -> None:
    term, _ = open_on(
        start_app, "demo/wasted", "h", "layers", "truncated", "● ", "○ empty", cols=120, rows=40
    )
    term.press("f")
    term.wait_for_text("full")
    term.press("escape")
    term.wait_gone("truncated", "full")


def test_layers(start_app: StartApp) -> None:
    term, screen = open_on(start_app, "demo/wasted", "l", "fficiency", cols=120, rows=40)
    assert "wasted" in screen.lower()
    term.press("escape")
    term.wait_for_text("reclaimable")


def test_pull_selects_the_new_image(
    start_app: StartApp, sandbox: Sandbox, docker_cli: DockerCli
) -> None:
    local = f"{sandbox.registry}/e2e/pull-{uuid.uuid4().hex[:6]}:v1"
    docker_cli("tag", BASE_IMAGE, local, check=True)
    docker_cli("push", local, check=True)
    docker_cli("rmi", local, check=True)
    term = start_app(cols=120, rows=40)
    try:
        term.press("p")
        term.wait_for_text("Pull an image")
        term.type(local)
        term.press("enter")
        term.wait_for_text("Pulled")
        term.press("escape")
        # A long repository keeps its last component (the unique name) when cut to fit.
        unique = local.rsplit(":", 1)[0].rsplit("/", 1)[1]
        term.wait_until(lambda s: unique in term.selected_row(), "the pulled image selected")
        assert docker_cli("image", "inspect", local).returncode == 0
    finally:
        docker_cli("rmi", local)


def test_push(start_app: StartApp, sandbox: Sandbox, docker_cli: DockerCli) -> None:
    local = f"{sandbox.registry}/e2e/push-{uuid.uuid4().hex[:6]}:v1"
    docker_cli("tag", BASE_IMAGE, local, check=True)
    term = start_app(cols=120, rows=40)
    try:
        filter_to(term, local.split(":")[-2].split("/")[-1])
        term.press("P")
        term.wait_for_text("ush")
        term.wait_for_text("100%")
        # The push's end (the daemon has recorded the registry's digest): the tag removed
        # before that left the digest behind, a `repo:<none>` row beside BASE_IMAGE's tag in
        # `docker images` that later tests counting rows saw (the fleet test, twice).
        term.wait_for_text(f"Pushed {local}")
    finally:
        docker_cli("rmi", local)
        repository = local.rsplit(":", 1)[0]
        digests = docker_cli("image", "inspect", "-f", "{{json .RepoDigests}}", BASE_IMAGE)
        for reference in json.loads(digests.stdout or "null") or []:
            if reference.startswith(f"{repository}@"):
                docker_cli("rmi", reference)
    # The repository's own tag list, not the catalog: the catalog answers 100 names per page,
    # and the shared sandbox's registry keeps every run's e2e repositories (a new name sorted
    # past the first page once there were more than 100 of them).
    name, tag = local.split("/", 1)[1].rsplit(":", 1)
    tags = urllib.request.urlopen(f"http://{sandbox.registry}/v2/{name}/tags/list").read()
    assert tag in json.loads(tags)["tags"], tags


def test_search(start_app: StartApp, sandbox: Sandbox) -> None:
    term = start_app(cols=120, rows=40)
    term.press("s")
    term.wait_for_text("Search a registry")
    term.type(f"{sandbox.search_index}/demo")
    term.press("enter")
    screen = term.wait_for_text("demo/")
    assert "result" in screen.lower()
    term.press("escape")
    term.wait_for_text("reclaimable")


def test_run(start_app: StartApp, scratch: Scratch) -> None:
    reference = scratch("e2e/run")
    term, _ = open_on(start_app, reference.split(":")[0], "r", "Run an interactive container")
    # Focus starts in the command, filled with the image's own once it has been read.
    term.press("end", *["backspace"] * 20)
    term.type("sh")
    term.press("enter")
    term.wait_for_text("#")
    term.type("echo hello-$((6*7))\r")
    term.wait_for_text("hello-42")
    term.type("exit\r")
    term.wait_for_text("Press Enter to return")
    term.press("enter")
    term.wait_for_text("reclaimable")


def test_build_selects_the_new_image(
    start_app: StartApp, tmp_path: Path, docker_cli: DockerCli
) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\nLABEL e2e=build\n")
    reference = f"e2e/build-{uuid.uuid4().hex[:6]}:v1"
    # Started in the directory that holds the Dockerfile: the context is ".", focus on Tags.
    term = start_app(cols=120, rows=40, cwd=context)
    try:
        term.press("b")
        term.wait_for_text("Build an image", "LABEL")
        term.type(reference)
        term.press("ctrl+s")
        term.wait_for_text("Successfully")
        term.press("escape")
        term.wait_until(lambda s: "e2e/build" in term.selected_row(), "the built image selected")
    finally:
        docker_cli("rmi", reference)


def test_contexts(start_app: StartApp, sandbox: Sandbox, home: Path) -> None:
    env = {"DOCKER_CONFIG": str(home / "docker")}
    subprocess.run(
        ["docker", "context", "create", "e2e-sandbox", "--docker", f"host={sandbox.docker_host}"],
        check=True,
        capture_output=True,
        env={**os.environ, **env},
    )
    term = start_app(cols=120, rows=40)
    term.press("C")
    screen = term.wait_for_text("Switch Docker context", "e2e-sandbox")
    assert "in use" in term.line_with("default  unix"), screen
    term.press("down", "enter")
    term.wait_for_text("(context e2e-sandbox)")
    term.wait_for_text("reclaimable")
    term.press("C")
    term.wait_for_text("Switch Docker context")
    assert "in use" in term.line_with("e2e-sandbox  unix"), term.dump()
    assert "in use" not in term.line_with("default  unix"), term.dump()


def test_config_remaps_a_key(start_app: StartApp) -> None:
    term = start_app(cols=120, rows=40, config='[keys]\n"images.delete" = "x"\n')
    screen = term.wait_for_text("x Delete")
    assert "d Delete" not in screen


def test_inspect_keys_work_at_once(start_app: StartApp) -> None:
    """Every key of the hint works from the first press: the tree has focus once loaded."""
    term = start_app(cols=120, rows=40)
    filter_to(term, "imagedeck/busybox")
    term.press("i")
    term.wait_for_text("bytes of JSON", "r raw JSON")
    term.press("r")
    term.wait_for_text('"Id": "sha256:')
    term.press("r")
    term.wait_gone('"Id": "sha256:')
    # One Esc leaves.
    term.press("escape")
    term.wait_gone("bytes of JSON")
    term.wait_for_text("reclaimable")


def test_wizard_preview_scrolls_at_once(start_app: StartApp, docker_cli: DockerCli) -> None:
    """The preview list has focus: ↓ scrolls it without pressing Tab first."""
    names = [f"e2e/prev-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    made = []
    try:
        for name in names:
            built = docker_cli(
                "build", "-q", "-t", f"{name}:x", "--label", f"e2e={name}", "tests/fixtures/app"
            )
            assert built.returncode == 0, built.stderr
            made.append(f"{name}:x")
        term = start_app(cols=80, rows=24)
        term.press("X")
        term.wait_for_text("Dangling images only")
        term.press("down", "space")  # "All images no container uses"
        term.press("p")
        term.wait_for_text("Remove (y)", "y removes exactly this list")
        before = term.text()
        term.press("pagedown", "pagedown")
        term.settle()
        assert term.text() != before, "the preview did not scroll"
        term.press("escape")
        term.wait_gone("y removes exactly this list")
    finally:
        for reference in made:
            docker_cli("rmi", reference)


def test_conflict_with_a_running_container_says_what_force_would_do(start_app: StartApp) -> None:
    """The daemon refuses the delete (nothing is removed); the dialog says what -f would do."""
    term = start_app(cols=120, rows=40)
    filter_to(term, "demo/running")
    term.press("d")
    term.wait_for_text("demo/running", "Cancel")
    term.press("y")
    term.wait_for_text("is in use", "ideck-running")
    term.wait_until(lambda s: "would only remove the tag" in term.flat(), "what force does")
    assert "even with force" not in term.flat()
    term.press("escape")
    term.wait_gone("is in use")


def test_headline_reclaimable_is_what_the_wizard_frees(start_app: StartApp) -> None:
    """The summary's "reclaimable" is the wizard's figure for "all images no container uses"."""
    import re

    figure = re.compile(r"reclaimable (about )?([\d.]+ [kMGT]?B)")
    term = start_app(cols=120, rows=40)
    term.wait_until(lambda s: figure.search(s) is not None, "the summary's reclaimable figure")
    term.settle(quiet=1.5)  # the exact sum follows once the layers are read
    found = figure.search(term.flat())
    assert found is not None, term.dump()
    headline = found.group(2)
    term.press("X")
    term.wait_for_text("Dangling images only", "All images no container uses")
    term.press("down", "space")  # "All images no container uses"
    term.press("p")
    screen = term.wait_for_text("reclaimed.")
    wizard = re.search(r"will be removed, (about )?([\d.]+ [kMGT]?B) reclaimed", term.flat())
    assert wizard is not None, term.dump()
    assert headline == wizard.group(2), (headline, wizard.group(2), screen)
    term.press("escape")
