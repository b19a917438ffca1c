"""End to end against the sandbox daemon, registry and index, pressing keys.

Pull (and see the new row selected), cancel with Esc, search the index and pull from a
registry catalog result, push with P, and run a container in a real terminal (tmux) and
come back to the list.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from typing import Any

import pytest

from tests.conftest import current_engine
from tests.service.test_transfers import (
    ThrottleProxy,
    build_unique_image,
    delete_from_registry,
    local_has,
    registry_address,
    registry_tags,
)
from tests.service.test_transfers import big_remote_image as big_remote_image  # fixture
from tests.service.test_transfers import remote_image as remote_image  # fixture
from tests.service.test_transfers import throttle as throttle  # fixture
from tests.ui.pilot import ready, settle, wait_for
from tests.ui.test_transfers import pull_with_dialog
from tui.app import ImagedeckApp
from tui.modals.pull import PullDialog
from tui.modals.run import run_and_wait
from tui.screens.search import SearchScreen
from tui.service.run import docker_run_argv
from tui.widgets.progress import CANCELLED, DONE

pytestmark = pytest.mark.daemon
SLOW = 2500  # pauses of 0.02 s: 50 s for real network work


def real_app(service: Any) -> ImagedeckApp:
    """The app on the sandbox service."""
    return ImagedeckApp(lambda: service, host_hint=service.host)


async def test_pull_by_keys_selects_the_new_row(
    service: Any, docker_cli: Any, remote_image: str
) -> None:
    async with real_app(service).run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pull_with_dialog(pilot, remote_image)
        screen = pilot.app.transfers_screen()
        await wait_for(pilot, lambda: bool(screen.transfers), "transfer started")
        (transfer,) = screen.transfers.values()
        await settle(pilot)  # the transfer's worker ends; its end is handled
        assert not transfer.running
        assert transfer.state == DONE, transfer.error
        statuses = {layer.status for layer in transfer.layers.values()}
        if current_engine().containerd:
            # Engine-dependent: the containerd store ends every layer at "Download complete"
            # (no "Pull complete", no "Already exists"); a stream that ends well completes them.
            assert statuses == {"Complete"}
        else:
            assert {"Already exists", "Pull complete"} <= statuses
        await pilot.press("T")
        images = pilot.app.images_screen
        await wait_for(
            pilot,
            lambda: (row := images.current_row()) is not None and row.reference == remote_image,
            "new row selected",
            SLOW,
        )
    assert local_has(docker_cli, remote_image)


async def test_pull_of_a_missing_reference_ends_with_a_reason(service: Any) -> None:
    missing = f"{registry_address()}/test/{uuid.uuid4().hex[:8]}:nope"
    async with real_app(service).run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pull_with_dialog(pilot, missing)
        screen = pilot.app.transfers_screen()
        await wait_for(pilot, lambda: bool(screen.transfers), "transfer started")
        (transfer,) = screen.transfers.values()
        await settle(pilot)  # the transfer's worker ends; its end is handled
        assert not transfer.running
        assert "not found in the registry" in transfer.error


async def test_esc_cancels_a_pull_mid_way(
    service: Any, docker_cli: Any, big_remote_image: str, throttle: ThrottleProxy
) -> None:
    slow = big_remote_image.replace(registry_address(), throttle.address, 1)
    async with real_app(service).run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pull_with_dialog(pilot, slow)
        screen = pilot.app.transfers_screen()
        await wait_for(pilot, lambda: bool(screen.transfers), "transfer started")
        (transfer,) = screen.transfers.values()
        await wait_for(
            pilot,
            lambda: transfer.event is not None and transfer.event.overall.bytes_done > 500_000,
            "bytes moving",
            SLOW,
        )
        await pilot.press("escape")
        await settle(pilot)  # the cancelled transfer's worker ends; its end is handled
        assert transfer.state == CANCELLED
        assert transfer.event is not None and transfer.event.overall.fraction < 1.0
    assert not local_has(docker_cli, slow)


async def test_search_index_then_pull_a_catalog_result(
    service: Any, docker_cli: Any, remote_image: str
) -> None:
    repo = remote_image.split("/", 1)[1].rsplit(":", 1)[0]
    index = os.environ.get("IMAGEDECK_SEARCH_INDEX", "127.0.0.1:5001")
    async with real_app(service).run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SearchScreen), "search")
        search = pilot.app.screen
        await pilot.press(*f"{index}/demo", "enter")
        await wait_for(pilot, lambda: bool(search.results), "index results", SLOW)
        # The index is not a registry: a result the sandbox registry serves is named after it.
        served = f"{registry_address()}/demo/app"
        assert served in [r.name for r in search.results]
        app_hit = next(r for r in search.results if r.name == served)
        assert app_hit.stars == 42
        field = search.query_one("#search-query")
        field.value = f"{registry_address()}/{repo}"
        field.focus()
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: [r.name for r in search.results] == [f"{registry_address()}/{repo}"],
            "catalog result",
            SLOW,
        )
        assert search.results[0].tags == ("v1",)
        await pilot.press("enter")  # the highlighted result
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PullDialog), "pull dialog")
        assert pilot.app.screen.query_one("#pull-reference").value == remote_image
        await pilot.press("enter")
        screen = pilot.app.transfers_screen()
        await wait_for(pilot, lambda: bool(screen.transfers), "transfer started")
        (transfer,) = screen.transfers.values()
        await settle(pilot)  # the transfer's worker ends; its end is handled
        assert not transfer.running
        assert transfer.state == DONE, transfer.error
    assert local_has(docker_cli, remote_image)


async def test_shift_p_pushes_to_the_registry(service: Any, docker_cli: Any) -> None:
    name = build_unique_image(docker_cli, 1.0)
    repo = name.split("/", 1)[1].rsplit(":", 1)[0]
    try:
        async with real_app(service).run_test(size=(120, 40)) as pilot:
            images = await ready(pilot)
            images.select_after_load(name)
            await wait_for(
                pilot,
                lambda: (row := images.current_row()) is not None and row.reference == name,
                "row selected",
            )
            await pilot.press("P")
            screen = pilot.app.transfers_screen()
            await wait_for(pilot, lambda: bool(screen.transfers), "transfer started")
            (transfer,) = screen.transfers.values()
            await settle(pilot)  # the transfer's worker ends; its end is handled
            assert not transfer.running
            assert transfer.state == DONE, transfer.error
            assert transfer.kind == "push"
        assert "v1" in registry_tags(repo)
    finally:
        docker_cli("rmi", "-f", name)
        delete_from_registry(name)


# --- run: a real terminal ---------------------------------------------------------------------


def test_run_argv_really_runs(service: Any, capfd: pytest.CaptureFixture[str]) -> None:
    # The same argv the UI hands the terminal to, without -t (pytest has no terminal).
    argv = docker_run_argv(
        service.endpoint, "imagedeck/busybox:latest", ["echo", "hi from run"], tty=False
    )
    assert run_and_wait(argv) == 0
    out = capfd.readouterr().out
    assert "hi from run" in out and "exited with code 0" in out


def _pane(server: str) -> str:
    return subprocess.run(
        ["tmux", "-L", server, "capture-pane", "-p", "-t", "ideck"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout


def _wait_pane(server: str, needle: str, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    text = ""
    while time.monotonic() < deadline:
        text = _pane(server)
        if needle in text:
            return text
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} never showed; the pane was:\n{text}")


def test_r_runs_a_container_in_a_real_terminal_and_comes_back(service: Any) -> None:
    tmux = shutil.which("tmux")
    assert tmux, "tmux is needed for the real-terminal run test"
    # The console script next to this interpreter (the virtualenv's).
    imagedeck = os.path.join(os.path.dirname(sys.executable), "imagedeck")
    server = f"ideck-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "TERM": "xterm-256color"}
    subprocess.run(
        [tmux, "-L", server, "new-session", "-d", "-s", "ideck", "-x", "120", "-y", "40",
         imagedeck, "--host", service.endpoint.host],
        check=True, env=env,
    )  # fmt: skip

    def send(*keys: str, literal: bool = False) -> None:
        # One key group per call, with a beat between: keys typed faster than the app can
        # move focus would land in the previous widget.
        flags = ["-l"] if literal else []
        subprocess.run([tmux, "-L", server, "send-keys", "-t", "ideck", *flags, *keys], check=True)
        time.sleep(0.4)

    try:
        _wait_pane(server, "imagedeck/busybox")
        send("/")
        send("imagedeck/busybox", literal=True)
        _wait_pane(server, "(1 shown)")  # the filter took the text (not the list's keys)
        send("Enter")
        send("r")
        _wait_pane(server, "Run an interactive container")
        _wait_pane(server, "  sh ")  # the image's own command filled in
        send("C-u")
        send("echo hi-from-imagedeck-run", literal=True)
        send("Enter")
        text = _wait_pane(server, "Press Enter to return", 60)  # docker run: slow under load
        assert "hi-from-imagedeck-run" in text
        assert "docker -H" in text and "run -i -t --rm imagedeck/busybox:latest" in text
        send("Enter")
        back = _wait_pane(server, "Container exited with code 0", 60)
        assert "imagedeck/busybox" in back  # the list is drawn again
        send("q")
    finally:
        subprocess.run([tmux, "-L", server, "kill-server"], check=False)
