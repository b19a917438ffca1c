"""The sandbox's peer daemon (scripts/sandbox): a second dockerd in the same namespace."""

from __future__ import annotations

import subprocess

from tests.conftest import BASE_IMAGE, DockerCli, Sandbox


def test_peer_is_another_daemon_holding_the_base_image(
    sandbox: Sandbox, peer_host: str, docker_cli: DockerCli, peer_cli: DockerCli
) -> None:
    """The peer answers on its own socket with its own data root, and holds the base image
    under the main daemon's ID; containers run on both (the main daemon's docker0 survived)."""
    assert peer_host != sandbox.docker_host
    main_root = docker_cli("info", "--format", "{{.DockerRootDir}}", check=True).stdout.strip()
    peer_root = peer_cli("info", "--format", "{{.DockerRootDir}}", check=True).stdout.strip()
    assert main_root != peer_root
    main_id = docker_cli("image", "inspect", "-f", "{{.Id}}", BASE_IMAGE, check=True).stdout
    peer_id = peer_cli("image", "inspect", "-f", "{{.Id}}", BASE_IMAGE, check=True).stdout
    assert main_id.strip() == peer_id.strip()
    for cli in (docker_cli, peer_cli):
        ran = cli("run", "--rm", BASE_IMAGE, "echo", "ran")
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.strip() == "ran"
    links = subprocess.run(
        ["ip", "-o", "link", "show"], capture_output=True, text=True, check=True
    ).stdout
    assert ": docker0:" in links
