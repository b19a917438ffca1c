"""What the build screens keep for one app between visits: the form's values, the recent builds.

The App owns one (``ImagedeckApp.build_session``, made in its ``__init__``), so two apps in one
process (pilot tests) never share builds or form values. Read through ``build_session(app)``,
so no build module imports ``tui.app``. Imports nothing heavy: the App makes one at start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.app import App

    from tui.screens.build_run import BuildRun

RECENT_BUILDS = 20


@dataclass
class FormState:
    """What the form holds, kept between visits in the same session."""

    context: str = "."
    dockerfile: str = "Dockerfile"
    tags: str = ""
    buildargs: str = ""
    labels: str = ""
    target: str = ""
    platform: str = ""
    nocache: bool = False
    pull: bool = False


@dataclass
class BuildSession:
    """One app's build form values and its recent builds, newest first."""

    form: FormState = field(default_factory=FormState)
    runs: list[BuildRun] = field(default_factory=list)

    def add(self, run: BuildRun) -> None:
        """A build started: first in the list, which keeps the newest ``RECENT_BUILDS``."""
        self.runs.insert(0, run)
        del self.runs[RECENT_BUILDS:]


def build_session(app: App[Any]) -> BuildSession:
    """The app's build session (its ``build_session`` attribute)."""
    session = getattr(app, "build_session", None)
    if not isinstance(session, BuildSession):
        raise TypeError(f"{type(app).__name__} keeps no build_session")
    return session
