"""Containers: list (with sizes), remove. Commit lives in ``tui/service/build.py``."""

from __future__ import annotations

from typing import Any

from tui.service.core import ServiceBase
from tui.service.engine import familiar, full_image_id
from tui.service.errors import Conflict, Holder
from tui.service.models import Container, from_timestamp


class ContainersMixin(ServiceBase):
    """Listing and removing containers (running and stopped)."""

    def list_containers(
        self, *, sizes: bool = True, image_id: str | None = None
    ) -> list[Container]:
        """Every container, running or stopped, newest first (as `docker ps -a --size`).

        ``sizes`` asks the daemon for the writable-layer sizes, which costs it a walk of each
        container's files; ``image_id`` keeps only the containers created from that image ID
        (one list request, never one request per container).
        """
        with self.translate("list containers"):
            raw = self.api.containers(all=True, size=sizes)
        found = [_container_from_api(item) for item in raw]
        if image_id is not None:
            found = [c for c in found if c.image_id == image_id]
        return found

    def remove_container(self, container_id: str, *, name: str = "") -> None:
        """Remove a stopped container (never forced: a running one raises Conflict).

        The daemon would kill a running container when forced; imagedeck never asks it to, so a
        running container is refused here with a sentence that says what to do instead.
        """
        label = name or container_id[:12]
        with self.translate(f"inspect container {label}"):
            state = (self.api.inspect_container(container_id).get("State") or {}).get("Status")
        if state in ("running", "paused", "restarting"):
            raise Conflict(
                f"Container {label} is {state}; stop it first (docker stop {label}). "
                "imagedeck does not remove running containers.",
                holders=(Holder(container_id, label, str(state), True),),
            )
        with self.translate(f"remove container {label}"):
            self.api.remove_container(container_id, v=False, force=False)


def _container_from_api(item: dict[str, Any]) -> Container:
    names = item.get("Names") or []
    # The API lists names with a leading '/', and linked names as '/other/alias': the first
    # plain one is what `docker ps` shows.
    plain = [n.lstrip("/") for n in names if n.count("/") == 1]
    name = plain[0] if plain else (names[0].lstrip("/") if names else str(item.get("Id", ""))[:12])
    return Container(
        id=str(item.get("Id", "")),
        name=name,
        # Podman writes the full name (docker.io/test/app:v1); `docker ps` shows test/app:v1,
        # as the image list does (models.image_from_api), so the same function shortens both.
        image=familiar(str(item.get("Image", ""))),
        image_id=full_image_id(str(item.get("ImageID", ""))),
        command=str(item.get("Command", "")),
        state=str(item.get("State", "")),
        status=str(item.get("Status", "")),
        created=from_timestamp(item.get("Created")),
        # The daemon leaves SizeRw out when it is 0 (omitempty); SizeRootFs says sizes were asked.
        size_rw=_size(item.get("SizeRw", 0 if "SizeRootFs" in item else None)),
        size_root_fs=_size(item.get("SizeRootFs")),
    )


def _size(value: Any) -> int | None:
    if value is None:
        return None
    return max(int(value), 0)
