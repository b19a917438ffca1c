"""The header says so whenever the daemon's TLS certificate is not verified.

The real app against the sandbox's TLS listener: ``DOCKER_TLS=1`` (TLS, no verification, as
the docker CLI does it) and a context made with ``skip-tls-verify`` show the warning;
``DOCKER_TLS_VERIFY=1`` does not.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.service.test_remote import Remote, remote  # noqa: F401 - the fixture
from tests.ui.test_contexts import choose, header
from tests.ui.test_images_screen import ready, refs, wait_for
from tui.app import ImagedeckApp
from tui.modals.contexts import context_label
from tui.service import ImageService
from tui.service.connection import list_contexts

pytestmark = pytest.mark.daemon
WARNING = "⚠ TLS NOT VERIFIED"


@pytest.mark.parametrize(
    ("variable", "warned"), [("DOCKER_TLS", True), ("DOCKER_TLS_VERIFY", False)]
)
async def test_header_warns_of_unverified_tls(
    remote: Remote,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    warned: bool,
) -> None:
    for name in ("DOCKER_TLS", "DOCKER_TLS_VERIFY", "DOCKER_CONTEXT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DOCKER_HOST", remote.tls_host)
    monkeypatch.setenv("DOCKER_CERT_PATH", str(remote.client_certs))
    monkeypatch.setenv(variable, "1")
    app = ImagedeckApp(lambda: ImageService.connect(timeout=20), host_hint=remote.tls_host)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        assert "demo/app:1.0" in refs(screen)
        # The header names the connected service (before that it shows the host asked for).
        await wait_for(pilot, lambda: app.service is not None, "the connection")
        await wait_for(pilot, lambda: "Docker " in header(app), "the connected header")
        assert "tcp://127.0.0.1:2376" in header(app)
        assert (WARNING in header(app)) is warned


async def test_switching_to_a_skip_verify_context_warns(
    remote: Remote,  # noqa: F811
    sandbox: object,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "docker-config"
    config.mkdir()
    c = remote.client_certs
    subprocess.run(
        [
            "docker", "context", "create", "lax", "--docker",
            f"host={remote.tls_host},ca={c}/ca.pem,cert={c}/cert.pem,key={c}/key.pem,"
            "skip-tls-verify=true",
        ],
        check=True,
        env={"DOCKER_CONFIG": str(config), "PATH": os.environ.get("PATH", "")},
        capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    # The switcher says it before the user picks it.
    labels = {info.name: context_label(info, False) for info in list_contexts()}
    assert "(TLS NOT VERIFIED)" in labels["lax"]
    host = os.environ["DOCKER_HOST"]
    app = ImagedeckApp(lambda: ImageService.connect(host), host_hint=host)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        assert WARNING not in header(app)
        await choose(pilot, "lax")
        # "(context lax)" shows while connecting; the connected service's header follows.
        await wait_for(
            pilot,
            lambda: app.service is not None and app.service.endpoint.context == "lax",
            "the connection to lax",
        )
        await wait_for(pilot, lambda: screen.loaded and "demo/app:1.0" in refs(screen), "rows")
        await wait_for(pilot, lambda: "Docker " in header(app), "the connected header")
        assert "(context lax)" in header(app)
        assert WARNING in header(app)
