"""`docker run` for the run dialog: the image's default command and the argv of the CLI.

Not a transfer: the run dialog hands the terminal to the docker CLI (``docker run -it``) for
the same daemon imagedeck talks to. Importing this module does not import docker-py.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tui.service.reference import parse

if TYPE_CHECKING:
    from tui.service.connection import Endpoint


def default_command(inspect: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(entrypoint, cmd) of an image, from `docker inspect` Config."""
    config = inspect.get("Config") or {}
    entrypoint = [str(p) for p in config.get("Entrypoint") or []]
    cmd = [str(p) for p in config.get("Cmd") or []]
    return entrypoint, cmd


def command_text(argv: Sequence[str]) -> str:
    """A command as one line a shell would split back the same way."""
    return shlex.join(argv)


def docker_run_argv(
    endpoint: Endpoint,
    image: str,
    command: Sequence[str] = (),
    *,
    remove: bool = True,
    docker: str = "docker",
    tty: bool = True,
) -> list[str]:
    """The argv of `docker run -it [--rm] IMAGE [CMD...]` for the same daemon as ``endpoint``.

    A context is passed as ``--context``; any other address as ``-H``. TLS settings come from
    the environment (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), which the child inherits. The
    argv is never joined into a shell line.
    """
    parse(image)  # the grammar first; raises InvalidReference
    argv = [docker]
    if endpoint.context and endpoint.context != "default":
        argv += ["--context", endpoint.context]
    else:
        argv += ["-H", endpoint.host]
        if endpoint.tls is not None and getattr(endpoint.tls, "verify", False):
            argv.append("--tlsverify")
    argv += ["run", "-i"]
    if tty:
        argv.append("-t")
    if remove:
        argv.append("--rm")
    argv.append(image)
    argv += list(command)
    return argv
