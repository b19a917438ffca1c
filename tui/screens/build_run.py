"""A build of this session: its request, its log model, the worker's buffer.

Shared by the build form (``tui/screens/build.py``), the log screen
(``tui/screens/build_log.py``) and the recent-builds dialog (``tui/modals/build_dialogs.py``).
``clock`` and ``wall_clock`` live here and are read at call time by all three, so a test
replaces them in one place and times in snapshots do not move.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from textual.message import Message

from tui.service.build import BuildEvent, BuildRequest
from tui.service.buildkit import BuilderInfo
from tui.widgets.build_log import BuildLogModel

# Replaced by tests with a fixed clock so times in snapshots do not move.
clock: Callable[[], float] = time.monotonic
wall_clock: Callable[[], datetime] = datetime.now


@dataclass(eq=False)
class BuildRun:
    """One build of this session: its request, its log model, and the worker's buffer."""

    request: BuildRequest
    model: BuildLogModel
    started_at: datetime
    cancel: threading.Event = field(default_factory=threading.Event)
    pending: list[tuple[float, BuildEvent]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    builder: BuilderInfo | None = None  # None: probed when the build starts

    @property
    def title(self) -> str:
        """The first tag, or the context directory's name."""
        if self.request.tag_texts:
            return self.request.tag_texts[0]
        return f"{self.request.context_dir.name or '/'} (untagged)"

    def push(self, at: float, event: BuildEvent) -> bool:
        """Queue an event (worker thread); True when the UI must be told (buffer was empty)."""
        with self.lock:
            was_empty = not self.pending
            self.pending.append((at, event))
        return was_empty

    def take(self) -> list[tuple[float, BuildEvent]]:
        """Everything queued so far (UI thread)."""
        with self.lock:
            taken, self.pending = self.pending, []
        return taken


class BuildPending(Message):
    """The worker queued events for ``run``; a newer one replaces a queued one."""

    def __init__(self, run: BuildRun) -> None:
        super().__init__()
        self.run = run

    def can_replace(self, message: Message) -> bool:
        """One pending notice per run is enough: the drain takes everything."""
        return isinstance(message, BuildPending) and message.run is self.run
