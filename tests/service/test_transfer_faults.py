"""Nothing reported done that was not done (issue 11, point 7): the daemon dies mid-transfer.

imagedeck talks to the sandbox daemon through tests/daemon_proxy.py; the proxy resets every
connection and refuses new ones the moment the daemon's answer shows a given progress message,
as ``kill -9 dockerd`` would (the shared daemon itself is never touched). A pull or push whose
connection breaks is a failure that says how far it got, never "done"; the registry is asked
directly whether a push left its tag. Through an intact proxy the same transfers succeed and
are confirmed (the image is there; the registry has the tag).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DockerCli, Sandbox, current_engine
from tests.daemon_proxy import DaemonProxy
from tests.service.test_transfers import (
    build_unique_image,
    delete_from_registry,
    local_has,
    push_and_forget,
    registry_tags,
)
from tui.service import ImageService
from tui.service.errors import DaemonUnreachable
from tui.service.transfer_progress import TransferEvent

pytestmark = pytest.mark.daemon


@pytest.fixture
def proxy(sandbox: Sandbox, tmp_path: Path) -> Iterator[DaemonProxy]:
    """A proxy in front of the sandbox daemon."""
    found = DaemonProxy(sandbox.socket_path, tmp_path / "docker.sock")
    yield found
    found.close()


@pytest.fixture
def proxied(proxy: DaemonProxy) -> Iterator[ImageService]:
    """An ImageService that talks to the daemon through ``proxy``."""
    service = ImageService.connect(proxy.docker_host, timeout=20)
    yield service
    service.close()


@pytest.fixture
def remote_only(sandbox: Sandbox, docker_cli: DockerCli) -> Iterator[str]:
    """A unique image in the registry, not in the daemon."""
    name = build_unique_image(docker_cli, 4.0)
    push_and_forget(docker_cli, name)
    yield name
    docker_cli("rmi", "-f", name)
    delete_from_registry(name)


@pytest.fixture
def local_only(sandbox: Sandbox, docker_cli: DockerCli) -> Iterator[str]:
    """A unique image in the daemon, not in the registry."""
    name = build_unique_image(docker_cli, 4.0)
    yield name
    docker_cli("rmi", "-f", name)
    delete_from_registry(name)


def repo_and_tag(name: str) -> tuple[str, str]:
    """``127.0.0.1:5000/test/x:v1`` -> (``test/x``, ``v1``)."""
    path = name.split("/", 1)[1]
    repo, tag = path.rsplit(":", 1)
    return repo, tag


def drain(stream: Iterator[TransferEvent]) -> list[TransferEvent]:
    """Every event of a transfer."""
    return list(stream)


def test_a_pull_whose_daemon_dies_fails_and_says_at_which_layer(
    proxy: DaemonProxy, proxied: ImageService, remote_only: str
) -> None:
    # The daemon dies as it starts on the layers ("Pulling fs layer" always comes; a fast
    # download may skip its "Downloading" progress).
    proxy.cut_when(b'"Pulling fs layer"')
    seen: list[TransferEvent] = []
    with pytest.raises(DaemonUnreachable) as failure:
        for event in proxied.pull(remote_only):
            seen.append(event)
    assert proxy.cuts == 1
    text = str(failure.value)
    assert "broke at layer" in text and "did not finish" in text, text
    # No event ever claimed the pull was complete.
    assert not seen or seen[-1].overall.layers_done < seen[-1].overall.layers


# Where the daemon dies in a push: as it starts on the layers. The graph-driver store sends
# "Preparing" for each layer first. The containerd store sends no per-layer message until a
# layer is "Pushed" (seen on Docker 26.1: the repository line, then "Pushed" per layer, then the
# digest), so waiting for "Preparing" there never cut and the push really finished; it dies
# right after the repository line instead, before any layer is in the registry.
PUSH_CUT = b"The push refers to repository" if current_engine().containerd else b'"Preparing"'


@pytest.mark.parametrize("engine_id", [current_engine().id])
def test_a_push_whose_daemon_dies_fails_and_the_registry_has_no_tag(
    engine_id: str, proxy: DaemonProxy, proxied: ImageService, local_only: str
) -> None:
    repo, tag = repo_and_tag(local_only)
    proxy.cut_when(PUSH_CUT)
    with pytest.raises(DaemonUnreachable) as failure:
        drain(proxied.push(local_only))
    assert proxy.cuts == 1, engine_id
    assert "did not finish" in str(failure.value)
    # The truth, from the registry itself: no such tag.
    assert tag not in registry_tags(repo)


def test_intact_transfers_are_done_and_confirmed(
    proxy: DaemonProxy, proxied: ImageService, docker_cli: DockerCli, remote_only: str
) -> None:
    events = drain(proxied.pull(remote_only))
    assert events and events[-1].overall.layers_done == events[-1].overall.layers
    assert local_has(docker_cli, remote_only)
    # Push it back under a new tag: the registry has it, with the digest the service reports.
    repo, _ = repo_and_tag(remote_only)
    again = remote_only.rsplit(":", 1)[0] + ":again"
    docker_cli("tag", remote_only, again, check=True)
    try:
        pushed = drain(proxied.push(again))
        assert "again" in registry_tags(repo)
        assert pushed[-1].digest and pushed[-1].digest.startswith("sha256:")
    finally:
        docker_cli("rmi", again)
        delete_from_registry(again)
    assert proxy.cuts == 0


def test_a_daemon_that_is_gone_before_the_pull_is_a_readable_refusal(
    proxy: DaemonProxy, proxied: ImageService, remote_only: str
) -> None:
    proxy.cut()
    with pytest.raises(DaemonUnreachable) as failure:
        drain(proxied.pull(remote_only))
    assert "may require TLS" not in str(failure.value)
    proxy.restore()
    # Back: the same service works again.
    events: list[Any] = drain(proxied.pull(remote_only))
    assert events


async def test_the_transfers_screen_shows_a_broken_pull_as_failed(
    proxy: DaemonProxy, remote_only: str
) -> None:
    """What the user sees: the pull ends failed with the reason, never "✔ Pulled"."""
    from tests.ui.pilot import ready, wait_for
    from tui.app import ImagedeckApp
    from tui.screens.transfers import TransfersScreen
    from tui.widgets.progress import DONE, FAILED

    app = ImagedeckApp(lambda: ImageService.connect(proxy.docker_host), host_hint=proxy.docker_host)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        proxy.cut_when(b'"Pulling fs layer"')
        await pilot.press("p")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "PullDialog", "the dialog")
        app.screen.query_one("#pull-reference").value = remote_only
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TransfersScreen), "transfers")
        screen = app.screen
        await wait_for(
            pilot,
            lambda: any(not t.running for t in screen.transfers.values()),
            "the pull to end",
        )
        transfer = next(iter(screen.transfers.values()))
        assert transfer.state == FAILED and transfer.state != DONE
        assert "broke" in transfer.error and "did not finish" in transfer.error
        assert not any("Pulled" in str(n.message) for n in app._notifications)
