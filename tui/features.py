"""Every feature opens through one kind of entry: an action on the App.

``ImagedeckApp`` derives from ``FeatureActions``. Each ``action_*`` here opens one feature (a
dialog, a screen, a transfer), so a binding can name it (``app.transfers``) and a screen calls
it typed, without importing the App: ``features(self.app).action_build()``, where
``tui/screens/base.py`` declares the ``Features`` Protocol these methods satisfy (tui/app.py
has mypy check it). A screen's own key handler picks what the feature needs from the screen
(the selected row, the container) and calls the entry; the entry knows nothing of the screen
it came from. Feature modules are imported inside each action, so start-up stays fast and no
UI module imports this one.

What a feature makes is announced with a message the App routes to the list
(``ImageArrived``, tui/messages.py); no feature reaches into the list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.app import App

if TYPE_CHECKING:
    from tui.screens.build_run import BuildRun
    from tui.screens.build_session import BuildSession
    from tui.screens.transfers import OnDone, TransfersScreen


class FeatureActions(App[None]):
    """The App's feature entries (one ``action_*`` per feature; see the module docstring)."""

    #: The build form's values and the session's builds (set by ImagedeckApp.__init__).
    build_session: BuildSession

    def action_help(self, extra: str = "") -> None:
        """`?`: the current screen's live bindings in the help dialog (``extra``: more lines)."""
        from tui.screens.help import HelpScreen, live_binding_rows

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(live_binding_rows(self.screen), extra))

    def action_open_commit(self, container_id: str, container_name: str = "") -> None:
        """The commit dialog for a container; the new image announces itself to the list."""
        from tui.modals.commit import CommitDialog

        self.push_screen(CommitDialog(container_id, container_name))

    def action_build(self, context: str | None = None) -> None:
        """The build form (``context``: the build context to start from)."""
        from tui.screens.build import BuildScreen

        self.push_screen(BuildScreen(context))

    def action_recent_builds(self) -> None:
        """The session's builds; choosing one reopens its log."""
        from tui.modals.build_dialogs import RecentBuilds

        runs = self.build_session.runs
        if not runs:
            self.notify("No builds yet in this session.", timeout=3)
            return
        self.push_screen(RecentBuilds(runs), self._reopen_build)

    def _reopen_build(self, run: BuildRun | None) -> None:
        from tui.screens.build_log import BuildLogScreen

        if run is not None:
            self.push_screen(BuildLogScreen(run, start=False))

    def action_run(self, image: str) -> None:
        """The run dialog for ``image``; a confirmed run goes through ``run_request``."""
        from tui.modals.run import RunDialog, RunRequest, run_request

        def chosen(request: RunRequest | None) -> None:
            if request is not None:
                run_request(self, request)

        self.push_screen(RunDialog(image), chosen)

    def action_pull(self, initial: str = "", choices: Sequence[str] = (), why: str = "") -> None:
        """The pull dialog; a confirmed pull starts on the transfers screen.

        ``choices`` (with ``why``): references to choose between, the first (safest) selected.
        """
        from tui.modals.pull import PullDialog, PullRequest

        def chosen(request: PullRequest | None) -> None:
            if request is not None:
                self.action_start_pull(
                    request.reference, all_tags=request.all_tags, platform=request.platform
                )

        self.push_screen(PullDialog(initial, choices=choices, why=why), chosen)

    def action_start_pull(
        self,
        reference: str,
        all_tags: bool = False,
        platform: str | None = None,
        on_done: OnDone | None = None,
    ) -> None:
        """Show the transfers screen and pull ``reference`` there (no dialog)."""
        self.action_transfers()
        self.transfers_screen().start_pull(
            reference, all_tags=all_tags, platform=platform, on_done=on_done
        )

    def action_push(self, reference: str) -> None:
        """Show the transfers screen and push ``reference`` there."""
        self.action_transfers()
        self.transfers_screen().start_push(reference)

    def action_transfers(self) -> None:
        """Bring the transfers screen up (pushing it unless it is already showing)."""
        screen = self.transfers_screen()
        if self.screen is not screen:
            if screen in self.screen_stack:
                while self.screen is not screen:
                    self.pop_screen()
            else:
                self.push_screen(screen)

    def transfers_screen(self) -> TransfersScreen:
        """The app's one transfers screen (installed on first use so it outlives being left)."""
        from tui.screens.transfers import SCREEN_NAME, TransfersScreen

        if not self.is_screen_installed(SCREEN_NAME):
            self.install_screen(TransfersScreen(), SCREEN_NAME)
        screen = self.get_screen(SCREEN_NAME)
        assert isinstance(screen, TransfersScreen)
        return screen
