"""The delete conflict's words per engine: the same ways out, with what force does there."""

from __future__ import annotations

import pytest

from tui.modals.conflict import conflict_text, force_warning
from tui.service.cleanup import Outcome
from tui.service.errors import Holder

STOPPED = Holder(id="5709" * 16, name="web-1", status="exited", running=False)
RUNNING = Holder(id="7a11" * 16, name="api-1", status="running", running=True)


def outcome(*holders: Holder, podman: bool) -> Outcome:
    return Outcome(
        "demo/app:1.0", "failed", "demo/app:1.0 is in use", holders=holders, podman=podman
    )


@pytest.mark.parametrize("podman", [False, True], ids=["docker", "podman"])
def test_stopped_holder_ways_out_podman_force_takes_the_container(podman: bool) -> None:
    text = str(conflict_text(outcome(STOPPED, podman=podman)))
    warning = force_warning(outcome(STOPPED, podman=podman))
    assert "web-1" in text and "r removes the stopped container" in text
    assert "f force-removes the image" in text
    assert ("on Podman the stopped container above with it" in text) is podman
    assert ("leaves the container pointing at a bare image ID" in text) is not podman
    assert "web-1 (570957095709)" in warning
    assert ("is deleted, not left pointing at a bare image ID" in warning) is podman


@pytest.mark.parametrize("podman", [False, True], ids=["docker", "podman"])
def test_running_holder_reason_podman_force_would_stop_it(podman: bool) -> None:
    text = str(conflict_text(outcome(RUNNING, podman=podman)))
    assert "api-1 is running" in text and "docker stop api-1" in text
    assert ("Podman's force would stop and remove it" in text) is podman
    assert ("docker rmi -f" in text) is not podman  # Docker's force: only the tag goes
