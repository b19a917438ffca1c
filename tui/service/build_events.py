"""What a build is asked and what it reports, checked before anything is sent (pure).

The typed events the build stream becomes (``BuildStep``, ``BuildOutput``, ``VertexUpdate``,
``BuildError``... and the terminal three), the checked ``BuildRequest`` and the checks behind
it (context, Dockerfile, tags, build args, labels, platform, stages, ``commit --change``).
No docker-py here: the form checks as you type with these, and the service
(``tui/service/build.py``, ``buildkit.py``) runs what they let through.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tui.service.errors import BuildFailed, InvalidReference
from tui.service.reference import Reference, parse

_PLATFORM = re.compile(r"^[a-z0-9_]+(/[a-z0-9_]+(/[a-z0-9_.]+)?)?$")
_ARG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")

# Instructions `docker commit --change` accepts (the daemon refuses the others).
COMMIT_INSTRUCTIONS = frozenset(
    {"CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "USER", "VOLUME", "WORKDIR"}
)


# -- events ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildStep:
    """A step header: ``Step 3/7 : RUN make``."""

    number: int
    total: int
    instruction: str

    @property
    def text(self) -> str:
        """The header as the daemon wrote it."""
        return f"Step {self.number}/{self.total} : {self.instruction}"


@dataclass(frozen=True)
class BuildOutput:
    """Complete output lines of the current step, in order (one chunk of the stream)."""

    lines: tuple[str, ...]


@dataclass(frozen=True)
class BuildImageId:
    """The daemon reported the built image's ID (the ``aux`` message)."""

    image_id: str


@dataclass(frozen=True)
class BuildTagged:
    """A further tag was applied after the build (the daemon applies only the first)."""

    tag: str


@dataclass(frozen=True)
class BuildError:
    """The build failed; ``message`` is readable, ``detail`` is the daemon's own text.

    ``step`` is the step that failed (None when the build failed before its first step).
    """

    message: str
    detail: str = ""
    code: int | None = None
    step: BuildStep | None = None
    # BuildKit only: the failing vertex and the Dockerfile excerpt buildx printed for it.
    vertex: str = ""
    excerpt: tuple[str, ...] = ()
    #: What a build the daemon dropped mid-way may have left (see BuildLeftovers).
    leftovers: BuildLeftovers | None = None


@dataclass(frozen=True)
class BuildLeftovers:
    """What a build that lost its daemon may have left behind.

    A daemon that dies mid-build cannot clean up: the running step's container stays, and the
    step images this build committed stay as untagged intermediates. ``remove_build_leftovers``
    removes them once the daemon is back (only untagged images made after ``started``).
    """

    container: str | None
    images: tuple[str, ...]
    started: float

    def describe(self) -> str:
        """In words: "the step container 3f2a1b0c9d8e and 2 intermediate images"."""
        parts = []
        if self.container:
            parts.append(f"the step container {self.container[:12]}")
        if self.images:
            n = len(self.images)
            parts.append(f"{n} intermediate image{'s' if n != 1 else ''}")
        return " and ".join(parts) or "nothing"


@dataclass(frozen=True)
class VertexUpdate:
    """BuildKit: a vertex (one step of the build graph) appeared or changed state.

    ``state`` is ``waiting``, ``running``, ``cached``, ``done``, ``error`` or ``cancelled``;
    ``duration`` is the daemon's own measure once the vertex completed (None while it runs).
    """

    key: str
    name: str
    state: str
    duration: float | None = None
    error: str = ""


@dataclass(frozen=True)
class VertexLog:
    """BuildKit: complete output lines of one vertex (vertices run concurrently)."""

    key: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class BuildSucceeded:
    """The build finished and every requested tag is applied."""

    image_id: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class BuildCancelled:
    """The build was cancelled; ``removed`` lists what the cleanup removed."""

    removed: tuple[str, ...] = ()


BuildEvent = (
    BuildStep
    | BuildOutput
    | VertexUpdate
    | VertexLog
    | BuildImageId
    | BuildTagged
    | BuildError
    | BuildSucceeded
    | BuildCancelled
)
TERMINAL_EVENTS = (BuildError, BuildSucceeded, BuildCancelled)


@dataclass(frozen=True)
class BuildRequest:
    """A checked build request: every path exists and every tag parses."""

    context_dir: Path
    dockerfile: Path
    tags: tuple[Reference, ...]
    buildargs: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    target: str = ""
    nocache: bool = False
    pull: bool = False
    platform: str = ""

    @property
    def dockerfile_param(self) -> str:
        """What docker-py's ``dockerfile`` wants: relative inside the context, else absolute."""
        try:
            return self.dockerfile.relative_to(self.context_dir).as_posix()
        except ValueError:
            return str(self.dockerfile)

    @property
    def tag_texts(self) -> tuple[str, ...]:
        """The tags as ``name:tag`` (``latest`` filled in)."""
        return tuple(f"{t.name}:{t.tag_or_latest}" for t in self.tags)


# -- checking a request before anything is sent ----------------------------------------------


def check_build_request(
    context_dir: str | os.PathLike[str],
    dockerfile: str | os.PathLike[str] = "Dockerfile",
    tags: Sequence[str] = (),
    buildargs: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    target: str = "",
    nocache: bool = False,
    pull: bool = False,
    platform: str = "",
) -> BuildRequest:
    """Check everything the daemon would refuse, and raise a readable error for the first.

    Raises InvalidReference for a bad tag and BuildFailed for a missing context or Dockerfile,
    a malformed build arg or label, or a malformed platform.
    """
    context = Path(os.path.expanduser(str(context_dir))) if str(context_dir) else Path()
    if not str(context_dir).strip():
        raise BuildFailed("Choose a build context directory.")
    if not context.exists():
        raise BuildFailed(f"The build context {context} does not exist.")
    if not context.is_dir():
        raise BuildFailed(f"The build context {context} is not a directory.")
    context = context.resolve()
    name = str(dockerfile).strip() or "Dockerfile"
    path = Path(os.path.expanduser(name))
    path = path if path.is_absolute() else context / path
    if not path.exists():
        raise BuildFailed(f"There is no Dockerfile at {path}.")
    if not path.is_file():
        raise BuildFailed(f"The Dockerfile {path} is not a file.")
    refs = []
    for tag in tags:
        ref = parse(tag)
        if ref.digest:
            raise InvalidReference(f"{tag!r}: a build tag cannot have a digest.")
        refs.append(ref)
    for kind, mapping in (("build arg", buildargs or {}), ("label", labels or {})):
        for key in mapping:
            if not key or (kind == "build arg" and not _ARG_NAME.match(key)):
                raise BuildFailed(f"{key!r} is not a valid {kind} name.")
    check_platform(platform)
    return BuildRequest(
        context_dir=context,
        dockerfile=path.resolve(),
        tags=tuple(refs),
        buildargs=dict(buildargs or {}),
        labels=dict(labels or {}),
        target=target.strip(),
        nocache=nocache,
        pull=pull,
        platform=platform.strip(),
    )


def check_platform(platform: str) -> None:
    """Raise BuildFailed unless ``platform`` is empty or ``os[/arch[/variant]]``."""
    if platform and not _PLATFORM.match(platform):
        raise BuildFailed(f"{platform!r} is not a platform (expected os[/arch[/variant]]).")


def parse_assignments(
    text: str, kind: str, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Parse ``KEY=VALUE`` words (shell quoting allowed) into a dict.

    A bare ``KEY`` takes its value from ``environ`` (like ``docker build --build-arg KEY``);
    raises BuildFailed naming the word that is wrong.
    """
    import shlex

    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise BuildFailed(f"The {kind}s are not well quoted: {exc}.") from exc
    result: dict[str, str] = {}
    for word in words:
        key, eq, value = word.partition("=")
        if not key:
            raise BuildFailed(f"{word!r}: a {kind} needs a name before '='.")
        if not eq:
            env = os.environ if environ is None else environ
            if key not in env:
                raise BuildFailed(f"{key!r} has no '=VALUE' and is not set in the environment.")
            value = env[key]
        result[key] = value
    return result


def dockerfile_stages(text: str) -> list[str]:
    """The named stages of a Dockerfile (``FROM image AS name``), in order."""
    stages = []
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 4 and words[0].upper() == "FROM" and words[-2].upper() == "AS":
            stages.append(words[-1])
    return stages


def dockerfile_args(text: str) -> list[str]:
    """The ``ARG`` names a Dockerfile declares, in order."""
    names = []
    for line in text.splitlines():
        words = line.split(None, 1)
        if len(words) == 2 and words[0].upper() == "ARG":
            name = words[1].split("=", 1)[0].strip()
            if name and name not in names:
                names.append(name)
    return names


def check_changes(changes: Sequence[str]) -> list[str]:
    """Check `docker commit --change` instructions; return them stripped, blanks dropped."""
    result = []
    for change in changes:
        change = change.strip()
        if not change:
            continue
        keyword = change.split(None, 1)[0].upper()
        if keyword not in COMMIT_INSTRUCTIONS:
            allowed = ", ".join(sorted(COMMIT_INSTRUCTIONS))
            raise BuildFailed(f"{change!r}: a commit change must be one of {allowed}.")
        if len(change.split(None, 1)) < 2:
            raise BuildFailed(f"{change!r} needs an argument.")
        result.append(change)
    return result


# -- splitting a stream into lines -------------------------------------------------------


def pull_failure(image: str, text: str, *, network: Sequence[str], missing: Sequence[str]) -> str:
    """The sentence for a base (or frontend) image that could not be pulled: why, in words.

    ``network`` and ``missing`` are the (lower-case) words that mark an unreachable registry
    and an image that is not there; each builder's errors have their own.
    """
    lowered = text.lower()
    if any(s in lowered for s in network):
        reason = "the registry cannot be reached (no network, or a proxy is needed)"
    elif any(s in lowered for s in missing):
        reason = "it does not exist in the registry, or it needs a login"
    elif "unauthorized" in lowered or "denied" in lowered:
        reason = "the registry refused access (log in first)"
    else:
        reason = text
    return f"Cannot pull {image}: {reason}."


class LineSplitter:
    """Turns stream chunks into complete lines (a chunk may end mid-line); a line a progress
    bar redrew with ``\\r`` keeps what a terminal would show. Both builders' readers use it."""

    def __init__(self) -> None:
        self._partial = ""

    def feed(self, text: str) -> list[str]:
        """Complete lines in ``text`` plus what was pending; keeps an unfinished tail."""
        text = self._partial + text
        lines = text.split("\n")
        self._partial = lines.pop()
        return [_last_carriage_segment(line) for line in lines]

    def flush(self) -> list[str]:
        """The unfinished tail, if any (at the end of the stream)."""
        tail, self._partial = self._partial, ""
        return [_last_carriage_segment(tail)] if tail else []


def _last_carriage_segment(line: str) -> str:
    # A progress bar redraws its line with '\r'; a log keeps what the terminal would show.
    line = line.rstrip("\r")
    return line.rsplit("\r", 1)[-1] if "\r" in line else line
