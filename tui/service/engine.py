"""Which engine a daemon is, and where its Docker-compatible API speaks differently.

No docker-py here (models and the early list use it before docker-py is loaded).

- The header names the engine and its image store truthfully: "Docker 26.1.5, containerd
  store", "Docker 20.10.24, overlay2", "Podman 4.3.1". The engine comes from ``/version``
  (``Components``: Docker's is named "Engine", Podman's "Podman Engine"; ``Platform.Name`` is
  "Docker Engine - Community" upstream, empty in Debian's build, a platform string in Podman's),
  the store from ``/info`` (``DriverStatus`` ``driver-type`` ``io.containerd.snapshotter.v1``
  is the containerd image store; otherwise ``Driver`` names the graph driver). A version's build
  metadata (Debian's ``+dfsg1``) is left out, as ``docker version`` users know the number.
- Podman 4.3 (``podman system service``): ``/system/df`` image IDs lack the ``sha256:`` prefix
  that ``/images/json`` has (``normalize_df`` adds it so both can be matched), its
  ``LayersSize`` is 0 and every image's ``SharedSize`` equals its ``Size`` (neither can be
  believed: sizes are worked out from the layers); names carry the registry that short names
  resolve to (``docker.io/demo/app:1.0``). imagedeck shows names the way the Docker CLI does
  (``familiar``: ``demo/app:1.0``, ``busybox:latest``), which is how they were typed and what
  ``docker images`` shows against the same daemon; ``podman images`` would show the long form.
  An image in use is refused with "image used by <container id>: image is in use by a
  container" (core.container_ids_in reads it), and a forced remove there removes the containers
  that use the image as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DOCKER_HUB = "docker.io/"
"""The registry short names resolve to; Podman writes it into every such name."""


@dataclass(frozen=True)
class EngineInfo:
    """What a daemon is: product, version and image store."""

    product: str
    """``Docker`` or ``Podman``."""
    version: str
    """The engine's version without build metadata (``26.1.5``)."""
    store: str
    """``containerd store`` or the storage driver (``overlay2``, ``vfs``, ``overlay``)."""
    platform: str = ""
    """The daemon's own platform (``linux/amd64``, from ``/version``); "" when not said."""

    @property
    def podman(self) -> bool:
        """True for Podman's Docker-compatible API."""
        return self.product == "Podman"

    @property
    def containerd(self) -> bool:
        """True for Docker's containerd image store."""
        return self.store == "containerd store"

    @property
    def label(self) -> str:
        """The header's words: "Docker 26.1.5, containerd store", "Podman 4.3.1"."""
        if self.podman:
            return f"Podman {self.version}"
        return (
            f"{self.product} {self.version}, {self.store}"
            if self.store
            else (f"{self.product} {self.version}")
        )


def _without_build_metadata(version: str) -> str:
    """``26.1.5+dfsg1`` -> ``26.1.5`` (semver build metadata is not part of the version)."""
    return version.split("+", 1)[0].strip() or version


def engine_from(version: Mapping[str, Any], info: Mapping[str, Any] | None) -> EngineInfo:
    """The EngineInfo from ``/version`` and (when there is one) ``/info``."""
    product = "Docker"
    number = str(version.get("Version") or "?")
    components = version.get("Components") or []
    for component in components if isinstance(components, list) else []:
        if not isinstance(component, Mapping):
            continue
        name = str(component.get("Name") or "")
        if "podman" in name.lower():
            product, number = "Podman", str(component.get("Version") or number)
            break
        if name == "Engine":
            number = str(component.get("Version") or number)
    platform = version.get("Platform") or {}
    if isinstance(platform, Mapping) and "podman" in str(platform.get("Name", "")).lower():
        product = "Podman"
    store = ""
    if info is not None:
        status = info.get("DriverStatus") or []
        pairs = [p for p in status if isinstance(p, list | tuple) and len(p) == 2]
        if any(str(k) == "driver-type" and "containerd.snapshotter" in str(v) for k, v in pairs):
            store = "containerd store"
        else:
            store = str(info.get("Driver") or "")
    own = ""
    if version.get("Os") and version.get("Arch"):
        own = f"{version['Os']}/{version['Arch']}"
    return EngineInfo(
        product=product, version=_without_build_metadata(number), store=store, platform=own
    )


def familiar(reference: str) -> str:
    """A name as the Docker CLI shows it: ``docker.io/library/busybox:1`` -> ``busybox:1``.

    Only Docker Hub's prefix goes (``docker.io/demo/app`` -> ``demo/app``); other registries'
    names (``127.0.0.1:5000/demo/app``, ``localhost/app``) stay as they are.
    """
    if not reference.startswith(DOCKER_HUB):
        return reference
    rest = reference[len(DOCKER_HUB) :]
    if rest.startswith("library/") and "/" not in rest[len("library/") :].split("@")[0]:
        rest = rest[len("library/") :]
    return rest


def full_image_id(image_id: str) -> str:
    """``sha256:<hex>`` whether or not the daemon wrote the algorithm (Podman's df does not).

    Only a bare 64-digit hex ID gets the prefix; anything else (a reference such as a pull
    event's ``busybox:latest``, an already full ID) is returned as it is.
    """
    if len(image_id) == 64 and all(c in "0123456789abcdef" for c in image_id):
        return f"sha256:{image_id}"
    return image_id


def normalize_df(df: Mapping[str, Any]) -> dict[str, Any]:
    """``/system/df`` with every image ID in ``/images/json``'s form (``sha256:`` prefixed)."""
    images = [
        {**item, "Id": full_image_id(str(item.get("Id") or ""))}
        if isinstance(item, Mapping)
        else item
        for item in df.get("Images") or []
    ]
    return {**df, "Images": images}


def event_in_dockers_words(
    kind: str, actor_id: str, attributes: Mapping[str, Any]
) -> tuple[str, dict[str, str]]:
    """An event's actor ID and attributes as Docker writes them.

    Podman's image events carry IDs without ``sha256:`` and names with ``docker.io/``; the
    image a container event names is written the same way.
    """
    fixed = {str(k): str(v) for k, v in attributes.items()}
    if kind == "image":
        actor_id = full_image_id(actor_id)
        if "name" in fixed:
            fixed["name"] = familiar(fixed["name"])
    elif kind == "container" and "image" in fixed:
        fixed["image"] = familiar(fixed["image"])
    return actor_id, fixed
