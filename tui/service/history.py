"""Layer history (`docker history`) and layer contents (`docker save` through the engine)."""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tui.service.core import ServiceBase
from tui.service.errors import ImagedeckError
from tui.service.models import from_timestamp

if TYPE_CHECKING:
    from tui.analysis import ImageAnalysis

# tui.analysis (about 1 MB resident) loads when a layer analysis runs, not with the list.

# Dockerfile instructions that only change the image config: the classic builder records them
# as `/bin/sh -c #(nop) ...`, BuildKit as the bare instruction; either way they add no layer.
METADATA_INSTRUCTIONS = frozenset(
    {
        "ARG",
        "CMD",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    }
)
KNOWN_INSTRUCTIONS = METADATA_INSTRUCTIONS | {"ADD", "COPY", "FROM", "RUN"}

_NOP = "#(nop)"
_SHELL_PREFIXES = ("/bin/sh -c ", "|")
# BuildKit writes `RUN |2 A=1 B=2 /bin/sh -c ...` when build args are set.
_BUILDKIT_ARGS = re.compile(r"^\|\d+\s+(?:\S+=\S*\s+)*")

ProgressFn = Callable[[int, "int | None"], None]
"""Called with (bytes streamed so far, an estimate of the total or None)."""


@dataclass(frozen=True)
class HistoryEntry:
    """One line of `docker history`: an instruction of the build and the layer it made.

    ``id`` is "" where the daemon says ``<missing>`` (layers pulled from a registry have no
    local image ID); ``created_by`` is the daemon's raw text.
    """

    id: str
    created: datetime
    created_by: str
    size: int
    comment: str
    tags: tuple[str, ...] = ()

    @property
    def short_id(self) -> str:
        """The 12-hex-digit ID the truncated `docker history` shows ("" when missing)."""
        return self.id.removeprefix("sha256:")[:12]

    @property
    def instruction(self) -> str:
        """The Dockerfile instruction, with the ``/bin/sh -c #(nop)`` noise removed."""
        return clean_instruction(self.created_by)

    @property
    def keyword(self) -> str:
        """The instruction word (RUN, COPY, ENV, ...), or "" when there is none."""
        return split_instruction(self.instruction)[0]

    @property
    def arguments(self) -> str:
        """The instruction without its keyword."""
        return split_instruction(self.instruction)[1]

    @property
    def empty(self) -> bool:
        """True for metadata-only entries (ENV, LABEL, CMD, ...) that add no layer.

        A zero-byte RUN is not empty: its layer may hold whiteouts (a `rm -rf`).
        """
        return self.size == 0 and self.keyword in METADATA_INSTRUCTIONS


@dataclass(frozen=True)
class ImageHistory:
    """The history of one image, newest entry first (the order `docker history` prints)."""

    reference: str
    image_id: str
    size: int
    layers: int
    entries: tuple[HistoryEntry, ...]
    #: On the containerd image store ``size`` is the compressed content and the entries' sizes
    #: are the unpacked snapshots (4 kB blocks): their sum. None where both are one size.
    unpacked: int | None = None

    @property
    def empty_entries(self) -> int:
        """How many entries are metadata only."""
        return sum(1 for entry in self.entries if entry.empty)


def clean_instruction(created_by: str) -> str:
    """``/bin/sh -c #(nop)  CMD ["sh"]`` → ``CMD ["sh"]``; ``/bin/sh -c ls`` → ``RUN ls``."""
    text = created_by.strip().removesuffix("# buildkit").rstrip()
    if text.startswith("RUN /bin/sh -c "):  # BuildKit spells the shell form out
        text = text[len("RUN ") :]
    if text.startswith("/bin/sh -c "):
        rest = text[len("/bin/sh -c ") :].lstrip()
        if rest.startswith(_NOP):
            return rest[len(_NOP) :].strip()
        return "RUN " + rest
    if text.startswith(_NOP):
        return text[len(_NOP) :].strip()
    if text.startswith("|"):  # BuildKit RUN with build args: `|1 X=y /bin/sh -c cmd`
        rest = _BUILDKIT_ARGS.sub("", text)
        return clean_instruction(rest) if rest.startswith("/bin/sh -c ") else "RUN " + rest
    return text


def split_instruction(instruction: str) -> tuple[str, str]:
    """(keyword, arguments) when the text starts with a Dockerfile keyword, else ("", text)."""
    word, _, rest = instruction.partition(" ")
    if word.upper() in KNOWN_INSTRUCTIONS and word.isupper():
        return word, rest.strip()
    return "", instruction


def entry_from_api(item: dict[str, Any]) -> HistoryEntry:
    """A HistoryEntry from one element of the daemon's ``/images/{name}/history`` answer."""
    raw_id = str(item.get("Id") or "")
    return HistoryEntry(
        id="" if raw_id == "<missing>" else raw_id,
        created=from_timestamp(item.get("Created")),
        created_by=str(item.get("CreatedBy") or ""),
        size=int(item.get("Size") or 0),
        comment=str(item.get("Comment") or ""),
        tags=tuple(item.get("Tags") or ()),
    )


class HistoryMixin(ServiceBase):
    """Layer history and layer contents."""

    def history(self, reference: str) -> ImageHistory:
        """`docker history REF`: entries newest first, with the image's total size and layers."""
        with self.translate(f"read the history of {reference}", reference):
            raw = self.api.history(reference)
            inspect = self.api.inspect_image(reference)
        rootfs = inspect.get("RootFS") or {}
        entries = tuple(entry_from_api(item) for item in raw or ())
        return ImageHistory(
            reference=reference,
            image_id=str(inspect.get("Id", "")),
            size=int(inspect.get("Size") or 0),
            layers=len(rootfs.get("Layers") or ()),
            # The daemon already answers newest first, like the CLI prints.
            entries=entries,
            unpacked=sum(e.size for e in entries) if self._containerd_store() else None,
        )

    def _containerd_store(self) -> bool:
        """True on the containerd image store (where inspect and history sizes differ)."""
        try:
            return bool(self.image_store().containerd)
        except ImagedeckError:
            return False

    def analyze_layers(
        self,
        reference: str,
        *,
        progress: ProgressFn | None = None,
        cancel: threading.Event | None = None,
        platform: str | None = None,
    ) -> ImageAnalysis:
        """Stream `docker save REF` into the layer engine: files, sizes and dive's figures.

        ``platform`` (``linux/arm64``) picks one platform of a multi-platform image; by default
        the first one whose layers are on this machine.

        ``progress(bytes, estimate)`` is called as the archive streams; the estimate is the
        image's size (the archive is slightly larger: tar headers). Setting ``cancel`` stops
        at the next block with AnalysisCancelled. Nothing is kept on disk or whole in memory.

        A daemon on a local unix socket whose overlay2 storage this process may read gives
        the same analysis from its own layer metadata, without the archive
        (``tui.layers_source.storage_analysis``; any doubt, and the archive is streamed).
        """
        host = str(getattr(self.endpoint, "host", "") or "")
        if platform is None and host.startswith("unix://"):
            from tui.layers_source import storage_analysis

            found = storage_analysis(host, reference, progress=progress, cancel=cancel)
            if found is not None:
                return found
        with self.translate(f"inspect {reference}", reference):
            estimate = int(self.api.inspect_image(reference).get("Size") or 0) or None
        from tui.analysis import analyze_stream

        stream = self.save_stream(reference)
        try:
            with self.translate(f"save {reference}", reference):
                return analyze_stream(
                    stream,
                    name=reference,
                    total=estimate,
                    progress=progress,
                    cancel=cancel,
                    platform=platform,
                )
        finally:
            # On cancel this drops the HTTP stream; the daemon stops writing once it sees it.
            with contextlib.suppress(Exception):
                stream.close()
