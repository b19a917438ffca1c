"""Image references, parsed with the grammar of distribution/reference.

```
reference  := name [ ":" tag ] [ "@" digest ]
name       := [domain "/"] path-component ["/" path-component]*
domain     := host [":" port]
tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
```

The name and the tag are split at the last ``:`` that is not followed by a ``/``, so
``localhost:5000/team/app`` is a registry with a port and no tag. Only ASCII is accepted:
Python's ``\\w`` is Unicode, so the character classes are spelled out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tui.service.errors import InvalidReference

__all__ = [
    "DIGEST_LENGTHS",
    "InvalidReference",
    "Reference",
    "is_valid",
    "parse",
    "validate_digest",
    "validate_tag",
]

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = re.compile(rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*\Z", re.ASCII)
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_DOMAIN = re.compile(rf"{_HOST}(?::[0-9]+)?\Z", re.ASCII)
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z", re.ASCII)
_DIGEST = re.compile(
    r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}\Z", re.ASCII
)
# The algorithms the engine knows (opencontainers/go-digest) and their lowercase hex lengths.
DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
# A bare 64-hex name is an image ID, never a repository: the engine refuses it as a name
# ("cannot specify 64-byte hexadecimal strings"); with a tag or a domain it is a name.
_IDENTIFIER = re.compile(r"[a-f0-9]{64}\Z", re.ASCII)
_NAME_MAX = 255


@dataclass(frozen=True)
class Reference:
    """A parsed image reference.

    ``name`` is the repository as written, with its domain (``localhost:5000/team/app``);
    ``domain`` is ``""`` when there is none; ``tag`` and ``digest`` are ``None`` when absent.
    """

    name: str
    domain: str
    tag: str | None
    digest: str | None

    @property
    def path(self) -> str:
        """The repository path without its domain (``team/app``)."""
        return self.name[len(self.domain) + 1 :] if self.domain else self.name

    def with_tag(self, tag: str) -> Reference:
        """This repository with another tag (and no digest)."""
        validate_tag(tag)
        return Reference(self.name, self.domain, tag, None)

    @property
    def tag_or_latest(self) -> str:
        """The tag the daemon assumes: the explicit one, or ``latest``."""
        return self.tag or "latest"

    def __str__(self) -> str:
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


def validate_tag(tag: str) -> None:
    """Raise InvalidReference unless ``tag`` is a valid tag, saying what is wrong."""
    if not tag:
        raise InvalidReference("The tag is empty.")
    if len(tag) > 128:
        raise InvalidReference(f"The tag is {len(tag)} characters long; at most 128 are allowed.")
    if not _TAG.match(tag):
        if not tag.isascii():
            raise InvalidReference(f"The tag {tag!r} has non-ASCII characters.")
        if tag[0] in ".-":
            raise InvalidReference(
                f"The tag {tag!r} starts with {tag[0]!r}; a tag starts with a letter, digit or '_'."
            )
        raise InvalidReference(f"The tag {tag!r} may only hold letters, digits, '_', '.' and '-'.")


def validate_digest(digest: str) -> None:
    """Raise InvalidReference unless ``digest`` is ``algorithm:hex`` the engine accepts."""
    if not _DIGEST.match(digest):
        raise InvalidReference(
            f"{digest!r} is not a valid digest (expected algorithm:hex, e.g. sha256:...)."
        )
    algorithm, _, hex_part = digest.partition(":")
    length = DIGEST_LENGTHS.get(algorithm)
    if length is None:
        known = ", ".join(DIGEST_LENGTHS)
        raise InvalidReference(
            f"{algorithm!r} is not a digest algorithm the engine knows ({known})."
        )
    if len(hex_part) != length:
        raise InvalidReference(
            f"A {algorithm} digest has {length} hexadecimal digits; {digest!r} has {len(hex_part)}."
        )
    if hex_part != hex_part.lower():
        raise InvalidReference(f"The digest {digest!r} must be written in lowercase hexadecimal.")


def _looks_like_domain(first: str, uppercase_domains: bool = True) -> bool:
    # The same rule as Docker's splitDomain: a first component is a registry host when it has a
    # dot or a port, is "localhost", or (Docker 23 and later) has uppercase letters.
    if "." in first or ":" in first or first == "localhost":
        return True
    return uppercase_domains and first.lower() != first


def uppercase_domains_on(server_version: str) -> bool:
    """Whether an engine reads a first component with uppercase letters as a registry host.

    Docker 23 and later do (``XP/c`` is host ``XP``, path ``c``); Engine 20.10's reference
    library does not, and refuses ``XP/c`` ("repository name must be lowercase"). Unknown
    versions get the newer rule.
    """
    match = re.match(r"(\d+)\.", server_version.strip())
    return match is None or int(match.group(1)) >= 23


def _validate_path(path: str, text: str) -> None:
    for component in path.split("/"):
        if not component:
            raise InvalidReference(
                f"{text!r} has an empty path component (a doubled or trailing '/')."
            )
        if _PATH_COMPONENT.match(component):
            continue
        if not component.isascii():
            raise InvalidReference(f"{text!r} has non-ASCII characters.")
        if component.lower() != component:
            raise InvalidReference(
                f"{text!r}: repository names must be lowercase "
                f"({component!r} has uppercase letters)."
            )
        raise InvalidReference(
            f"{text!r}: {component!r} is not a valid repository name component "
            "(lowercase letters and digits, separated by '.', '_', '__' or '-')."
        )


def parse(text: str, *, uppercase_domains: bool = True) -> Reference:
    """Parse ``text`` as an image reference, raising InvalidReference with a readable reason.

    ``uppercase_domains``: the connected engine's rule for an uppercase first component (see
    ``uppercase_domains_on()``); False checks as Engine 20.10 does.
    """
    if not text or not text.strip():
        raise InvalidReference("The reference is empty.")
    if text != text.strip():
        raise InvalidReference(f"{text!r} has leading or trailing spaces.")
    if text.startswith("/"):
        raise InvalidReference(
            f"{text!r} starts with '/': a reference begins with a repository name or a "
            "registry host (e.g. team/app:1 or localhost:5000/team/app:1), not a path."
        )
    if any(c.isspace() for c in text):
        raise InvalidReference(f"{text!r} contains spaces.")
    if not text.isascii():
        raise InvalidReference(f"{text!r} has non-ASCII characters.")

    if _IDENTIFIER.match(text):
        raise InvalidReference(
            f"{text!r} is a 64-digit hexadecimal image ID, which cannot be a repository name."
        )

    rest = text
    digest: str | None = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        validate_digest(digest)
    tag: str | None = None
    colon = rest.rfind(":")
    if colon != -1 and "/" not in rest[colon + 1 :]:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not tag:
            raise InvalidReference(f"{text!r} ends with ':' but has no tag after it.")
        validate_tag(tag)
    name = rest
    if not name:
        raise InvalidReference(f"{text!r} has no repository name.")

    domain = ""
    path = name
    first, slash, remainder = name.partition("/")
    if slash and _looks_like_domain(first, uppercase_domains):
        if not _DOMAIN.match(first):
            raise InvalidReference(f"{first!r} is not a valid registry host[:port].")
        domain, path = first, remainder
    # The limit is on the path: a long registry host in front of it does not count.
    if len(path) > _NAME_MAX:
        raise InvalidReference(
            f"The repository path is {len(path)} characters long; at most {_NAME_MAX} are allowed."
        )
    _validate_path(path, text)
    return Reference(name=name, domain=domain, tag=tag, digest=digest)


def is_valid(text: str) -> bool:
    """True when ``text`` parses as a reference."""
    try:
        parse(text)
    except InvalidReference:
        return False
    return True
