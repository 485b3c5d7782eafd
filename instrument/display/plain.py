"""The status without a window (``--no-display``): a line when something changes.

MIDI input and its state, audio output: printed the moment they change. Xruns are not
news one by one (a busy machine has many): the first are reported at once, later ones
summed up at most once every ``xrun_every`` seconds, as the count since the last report
and in all, and what is left unreported is summed up at the end (``finish``).
"""

from __future__ import annotations

import sys
from typing import TextIO


class StatusReport:
    def __init__(self, out: TextIO | None = None, xrun_every: float = 30.0,
                 prefix: str = "instrument: "):
        self.out = out
        self.xrun_every = xrun_every
        self.prefix = prefix
        self._shown: tuple | None = None
        self._xruns_shown = 0
        self._xruns_at = float("-inf")

    def line(self, health, now: float) -> str | None:
        """The line to print for ``health`` (``LiveSession.health()``) at ``now``, or None."""
        state = (health.audio, health.midi.state, health.midi.port)
        new_xruns = health.xruns - self._xruns_shown
        if state != self._shown:  # its line carries the xruns so far
            self._shown, self._xruns_shown = state, health.xruns
            xruns = f", xruns {health.xruns}" if health.xruns else ""
            return (f"{self.prefix}audio {health.audio}, MIDI {health.midi.state} "
                    f"{health.midi.port}{xruns}")  # fmt: skip
        if new_xruns > 0 and now - self._xruns_at >= self.xrun_every:
            self._xruns_shown, self._xruns_at = health.xruns, now
            return self._xrun_line(new_xruns, health.xruns)
        return None

    def _xrun_line(self, new: int, total: int) -> str:
        return f"{self.prefix}{new} xruns since the last report ({total} in all)"

    def finish(self, health) -> None:
        """At the end of the session: the xruns not reported yet, so none goes unsaid."""
        new_xruns = health.xruns - self._xruns_shown
        if new_xruns > 0:
            self._xruns_shown = health.xruns
            print(self._xrun_line(new_xruns, health.xruns), file=self.out or sys.stderr,
                  flush=True)

    def update(self, health, now: float) -> None:
        """Print the line for ``health`` if there is one."""
        text = self.line(health, now)
        if text is not None:
            print(text, file=self.out or sys.stderr, flush=True)
