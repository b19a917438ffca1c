r"""Who is in a fleet (``--host``/``--context``, config entries) and whose image is whose.

One job, pure (no docker, no Textual): ``parse_members`` (command line) and ``parse_entries``
(the config file's ``fleet`` list, each entry checked by ``entry_problem``) turn addresses
(``URL`` or ``NAME=URL``) and Docker context names into ``MemberSpec``\s with short, unique
names; ``scrub_url`` keeps URL passwords off the screen; ``tag_images`` marks each listed image
with the member that listed it (``FleetImage.daemon``, read back by ``daemon_of``).
``tui.service.fleet`` connects the members and re-exports these names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tui.service.models import Image

# The longest daemon name the fleet shows.
NAME_MAX = 16


# Passwords in URLs (``tcp://me:secret@h``) never reach the screen. connection.scrub_url does the
# same, but importing connection imports docker-py, which the list must not need to load.
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)([^:/@\s]*):([^@\s/]*)@")


def scrub_url(text: str) -> str:
    """``text`` with URL passwords hidden (``tcp://me:secret@h`` -> ``tcp://me:***@h``)."""
    return _USERINFO.sub(r"\1\2:***@", text)


@dataclass(frozen=True)
class MemberSpec:
    """One daemon of the fleet: its short name and how to reach it (a host or a context)."""

    name: str
    host: str | None = None
    context: str | None = None

    @property
    def address(self) -> str:
        """The address in words (a host never shows a password)."""
        return scrub_url(self.host) if self.host else f"context {self.context}"


_NAMED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]{0,31})=(.+)$")


def _short_name(host: str) -> str:
    """A short daemon name from an address: ``tcp://build1:2376`` -> ``build1``;
    ``unix:///run/peer/docker.sock`` -> ``peer`` (the socket's directory, else its file)."""
    text = scrub_url(host)
    scheme, _, rest = text.partition("://")
    if not rest:
        rest = scheme
    if scheme == "unix" or rest.startswith("/"):
        parts = [p for p in rest.split("/") if p]
        stem = parts[-1].removesuffix(".sock") if parts else "local"
        if stem == "docker" and len(parts) >= 2:
            stem = parts[-2]
        return stem[:NAME_MAX] or "local"
    rest = rest.split("@", 1)[-1]
    return rest.split(":", 1)[0].split("/", 1)[0][:NAME_MAX] or "daemon"


def parse_members(hosts: Sequence[str] = (), contexts: Sequence[str] = ()) -> list[MemberSpec]:
    """Fleet members from ``--host`` values (``URL`` or ``NAME=URL``) and context names.

    Names are unique: a second daemon that would get the same name gets ``-2``, ``-3``...
    """
    return _members([(True, h) for h in hosts] + [(False, c) for c in contexts])


# The schemes a Docker host address may have (docker-py's and the CLI's).
HOST_SCHEMES = ("unix", "tcp", "ssh", "http", "https", "npipe")
# A Docker context's name, as `docker context create` accepts it.
_CONTEXT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


def is_host_entry(text: str) -> bool:
    """True when a fleet entry is an address (``URL`` or ``NAME=URL``), not a context name."""
    return "://" in text or "=" in text


def entry_problem(text: object) -> str | None:
    """Why one fleet entry of the config file cannot be used, or None: an entry is a Docker
    context's name (``"build-1"``), a host address (``"tcp://build-2:2376"``) or ``NAME=URL``."""
    if not isinstance(text, str) or not text.strip():
        return f"{text!r} is not a context name or a host address"
    if not is_host_entry(text):
        if _CONTEXT_NAME.match(text):
            return None
        return f"{text!r} is not a Docker context name (letters, digits, _ . + -)"
    named = _NAMED.match(text)
    url = named.group(2) if named and "://" not in named.group(1) else text
    if "=" in text and not named:
        return f"{scrub_url(text)!r}: a name before '=' is letters, digits, _ . - (NAME=URL)"
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in HOST_SCHEMES or not rest:
        return (
            f"{scrub_url(text)!r} is not a host address "
            f"(schemes: {', '.join(s + '://' for s in HOST_SCHEMES)})"
        )
    return None


def parse_entries(entries: Sequence[str]) -> list[MemberSpec]:
    """Fleet members from the config file's ``fleet`` list, in its order: a context name, or a
    host (``URL`` or ``NAME=URL``); entries are checked first (``entry_problem``)."""
    return _members([(is_host_entry(e), e) for e in entries])


def _members(entries: Sequence[tuple[bool, str]]) -> list[MemberSpec]:
    """(is a host, text) pairs as members with unique names."""
    specs: list[MemberSpec] = []
    taken: set[str] = set()

    def unique(name: str) -> str:
        candidate, n = name, 1
        while candidate in taken:
            n += 1
            candidate = f"{name[: NAME_MAX - 3]}-{n}"
        taken.add(candidate)
        return candidate

    for is_host, text in entries:
        if not is_host:
            specs.append(MemberSpec(unique(text[:NAME_MAX]), context=text))
            continue
        named = _NAMED.match(text)
        if named and "://" not in named.group(1):
            name, host = named.group(1)[:NAME_MAX], named.group(2)
        else:
            name, host = _short_name(text), text
        specs.append(MemberSpec(unique(name), host=host))
    return specs


@dataclass(frozen=True)
class FleetImage(Image):
    """An image as one daemon of the fleet lists it: ``daemon`` is that daemon's name."""

    daemon: str = ""


def daemon_of(image: Image) -> str:
    """The fleet daemon an image was listed by ("" outside a fleet)."""
    return getattr(image, "daemon", "")


def tag_images(images: Iterable[Image], daemon: str) -> list[FleetImage]:
    """``images`` as ``daemon`` listed them (every field kept, the daemon name added)."""
    tagged: list[FleetImage] = []
    for image in images:
        values = {name: getattr(image, name) for name in Image.__dataclass_fields__}
        tagged.append(FleetImage(**values, daemon=daemon))
    return tagged
