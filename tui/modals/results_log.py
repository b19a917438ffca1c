"""The results log (`L`): the outcomes of recent deletes and cleanups, newest first."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui import format as fmt
from tui.screens.base import BaseDialog
from tui.service.cleanup import Outcome, ResultLog


class ResultsLogScreen(BaseDialog["Outcome | None"]):
    """The outcomes of recent deletes and cleanups, newest first; Enter on a conflict resolves."""

    CSS_PATH = "confirm.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,L", "close", "Close", id="results.close"),
    ]

    def __init__(self, logs: list[ResultLog]) -> None:
        super().__init__()
        self.logs = logs
        self._outcomes: dict[str, Outcome] = {}

    def compose(self) -> ComposeResult:
        """One block per operation."""
        options: list[Option] = []
        for n, log in enumerate(self.logs):
            when = log.when.astimezone().strftime("%H:%M:%S")
            head = f"{when}  {log.title}: {log.summary()}"
            if log.freed is not None:
                head += f", {log.freed_words(fmt.size)} freed"
            options.append(Option(Text(head, style="bold"), id=f"h{n}", disabled=True))
            for m, outcome in enumerate(log.outcomes):
                key = f"o{n}-{m}"
                self._outcomes[key] = outcome
                line = outcome.line()
                if outcome.conflict:
                    line += "  [Enter: ways out]"
                options.append(Option(Text(line), id=key))  # never markup
        with Vertical(classes="dialog", id="results-dialog"):
            yield Static("Results of deletes and cleanups", classes="dialog-title")
            if options:
                yield OptionList(*options, id="results-list")
            else:
                yield Static("Nothing deleted yet in this session.", classes="dialog-note")
            yield Static(
                "Enter on a conflict shows the ways out · Esc closes", classes="dialog-keys"
            )

    @on(OptionList.OptionSelected, "#results-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        outcome = self._outcomes.get(str(event.option.id))
        if outcome is not None and outcome.conflict:
            self.dismiss(outcome)

    def action_close(self) -> None:
        """Close the log."""
        self.dismiss(None)
