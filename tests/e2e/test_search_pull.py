"""Issue 14 item 13: a hit of a search index is pulled from the registry that has it.

The sandbox's index (127.0.0.1:5001) only answers ``/v1/search``; it is not a registry. A hit
prefilled as ``127.0.0.1:5001/demo/multi`` could never be pulled. The search screen asks the
registries local tags name (here 127.0.0.1:5000) which has the repository and prefills that one.
"""

from __future__ import annotations

import re
import time
import uuid

import pytest

from tests.conftest import BASE_IMAGE, DockerCli, Sandbox
from tests.e2e.conftest import StartApp

pytestmark = pytest.mark.daemon


def test_search_in_an_index_then_pull_comes_from_the_registry(
    start_app: StartApp, sandbox: Sandbox, docker_cli: DockerCli
) -> None:
    # The index lists demo/multi; the registry gets a scratch tag of it, pushed here. The tag
    # sorts before every older one (the registry lists tags in order), so it is the one offered.
    tag = f"0-{10**10 - int(time.time()):010d}-{uuid.uuid4().hex[:6]}"
    local = f"{sandbox.registry}/demo/multi:{tag}"
    docker_cli("tag", BASE_IMAGE, local, check=True)
    docker_cli("push", local, check=True)
    docker_cli("rmi", local, check=True)
    term = start_app(cols=120, rows=40)
    try:
        term.press("s")
        term.wait_for_text("Search a registry")
        term.type(f"{sandbox.search_index}/demo/multi")
        term.press("enter")
        term.wait_for_text("Enter or p pulls")
        assert f"{sandbox.registry}/demo/multi" in term.text()
        assert f"pulls come from {sandbox.registry}" in term.flat()
        term.press("p")
        term.wait_for_text("Pull an image")

        def prefilled() -> str | None:
            # The reference field's text, the first /demo/multi after the title. The dialog can
            # be caught half drawn (title painted, field not yet: the search results behind it
            # then match), so this waits for the field to show it rather than reading one capture.
            after = term.text().partition("Pull an image")[2]
            found = re.search(r"\S+/demo/multi\S*", after.partition("All tags")[0])
            return found.group(0) if found else None

        term.wait_until(lambda s: prefilled() == local, f"the reference field showing {local}")
        term.press("enter")
        term.wait_for_text("Pulled")
        term.press("escape")  # the transfers screen, back to the search
        term.wait_for_text("Search a registry")
        term.press("escape")
        term.wait_until(
            lambda s: f"{sandbox.registry}/demo/multi " in term.selected_row(),
            "the pulled image selected",
        )
        assert docker_cli("image", "inspect", local).returncode == 0
    finally:
        docker_cli("rmi", local)
