"""A build whose daemon dies says so and offers to remove what it left (issue 11, point 7).

The classic builder runs through tests/daemon_proxy.py, which resets every connection and
refuses new ones once the third step prints its marker (``kill -9 dockerd`` as imagedeck sees
it; the shared daemon is never touched). The build ends with an error that names the step and
what may be left (the step container, the intermediate image of step 2); once the daemon is
back (the proxy listens again), removing the leftovers leaves none of them, as the docker CLI
confirms.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.conftest import BASE_IMAGE, DockerCli, Sandbox
from tests.daemon_proxy import DaemonProxy
from tui.service import ImageService
from tui.service.build import BuildError, BuildSucceeded
from tui.service.errors import DaemonUnreachable

pytestmark = pytest.mark.daemon


def test_a_build_whose_daemon_dies_names_its_leftovers_and_removes_them_later(
    sandbox: Sandbox, docker_cli: DockerCli, tmp_path: Path
) -> None:
    marker = f"marker-{uuid.uuid4().hex[:8]}"
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {BASE_IMAGE}\n"
        f"RUN echo {marker}-one > /one\n"  # unique, so never from the cache: a new image
        # The marker is cut on as the step's output: the step header shows "$M-now" unexpanded.
        f'RUN M={marker}; echo "$M-now" && sleep 20\n'
    )
    proxy = DaemonProxy(sandbox.socket_path, tmp_path / "docker.sock")
    proxy.cut_when(f"{marker}-now".encode())
    service = ImageService.connect(proxy.docker_host)
    try:
        events = list(service.build(context, tags=[f"test/{marker}:v1"]))
        assert not any(isinstance(e, BuildSucceeded) for e in events)
        error = events[-1]
        assert isinstance(error, BuildError), events[-3:]
        assert "broke at step 3/3" in error.message, error.message
        assert error.leftovers is not None and error.leftovers.images
        assert "intermediate image" in error.message
        left = error.leftovers
        for image in left.images:  # the intermediate image is really there
            assert docker_cli("image", "inspect", image).returncode == 0
        # While the daemon is still gone, removing them says so.
        with pytest.raises(DaemonUnreachable):
            service.remove_build_leftovers(left)
        proxy.restore()  # the daemon is back
        removed = service.remove_build_leftovers(left)
        assert any(image in item for item in removed for image in left.images), removed
        service.close()
        proxy.close()
        # The truth, from the daemon itself (not through the proxy): they are gone.
        for image in left.images:
            assert docker_cli("image", "inspect", image).returncode != 0, image
        if left.container:
            assert docker_cli("container", "inspect", left.container).returncode != 0
    finally:
        service.close()
        proxy.close()
        # Whatever a failed run of this test left on the shared daemon goes (after the checks).
        for line in docker_cli("images", "-q", "-f", "dangling=true").stdout.split():
            history = docker_cli("history", "--no-trunc", "--format", "{{.CreatedBy}}", line)
            if marker in history.stdout:
                docker_cli("rmi", line)
