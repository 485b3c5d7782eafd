"""The arranger interface: which part of the ensemble plays each note, decided as it is struck.

An arranger is stateful over one performance and sees only the past: ``assign`` is called
once per note-on, in time order, the notes of a chord in whatever order the fingers land
(``arrange.performance``). ``revisions``, asked right after (before the note sounds),
may give the new note and the earlier notes of its chord other parts now that more of
the chord is known; the earlier ones are already sounding and move.
``release`` tells it when a note ended (live it cannot know durations in
advance). ``reset`` starts a new performance (after a long pause, or when the ensemble
changes).
"""

from __future__ import annotations

import heapq
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from instrument.ensemble import Ensemble


@dataclass(frozen=True, slots=True)
class ArrangerStats:
    """What an arranger has done since it was made (or since its counters were cleared).

    steps: notes its model decided. fallbacks: notes its time guard gave to the zone split
    instead. revised: notes whose part a chord revision changed. budget_ns: the guard's
    budget per note in nanoseconds, 0 when it has no guard (or the guard is off).
    """

    steps: int = 0
    fallbacks: int = 0
    revised: int = 0
    budget_ns: int = 0


@dataclass(frozen=True, slots=True)
class Note:
    """One struck key.

    pitch: MIDI note number 0-127. velocity: 1-127. time: onset in seconds from the start
    of the performance. beat: onset in quarter notes when a score or beat clock knows it,
    else None. end: release time in seconds, known only offline; online arrangers never
    read it (``assign_all`` turns it into ``release`` calls at the right moment).
    """

    pitch: int
    velocity: int
    time: float
    beat: float | None = None
    end: float | None = None


class Arranger(ABC):
    """Assigns each note to a part index ``0 .. len(ensemble) - 1`` (parts top to bottom)."""

    name: str = "arranger"

    def __init__(self, ensemble: Ensemble):
        self.ensemble = ensemble
        self.n_parts = len(ensemble)

    @abstractmethod
    def reset(self) -> None:
        """Forget the performance so far."""

    @abstractmethod
    def assign(self, note: Note) -> int:
        """The part that plays ``note``, decided from this note and the past only."""

    def revisions(self) -> list[tuple[int, int, int]]:
        """After ``assign``: notes of the current chord whose part changed, as
        (pitch, old part, new part). Arrangers that never revise return []."""
        return []

    def plan(self, notes: Sequence[Note]) -> None:  # noqa: B027
        """Offline, before a note-by-note replay of a whole piece: an arranger that looks
        ahead (the BiLSTM) arranges ``notes`` (sorted by time, then pitch) now and hands the
        parts out as ``assign`` is called. Online arrangers ignore it."""

    def stats(self) -> ArrangerStats:
        """Counters for the status line and the benches; arrangers without a model or a
        guard have nothing to count."""
        return ArrangerStats()

    def use_time_guard(self, on: bool) -> None:  # noqa: B027
        """Live (on) an arranger may trade quality for time; offline (off) it must not, so
        that a rendering is deterministic. Arrangers without a guard ignore it."""

    def release(self, pitch: int, part: int, time: float) -> None:  # noqa: B027
        """The note ``pitch`` played by ``part`` ended at ``time`` (seconds)."""

    def perform_all(self, notes: Sequence[Note]) -> tuple[np.ndarray, np.ndarray]:
        """Arrange a note list in arrival order as live: (parts at the note-on, final
        parts).

        Each note is assigned, then the revisions are applied to the notes of its chord,
        the new note included (the performer asks for them before sounding it: its part
        at the note-on is the one after its own revision); releases (from ``Note.end``)
        reach the note's latest part before any onset at or after them.
        """
        self.reset()
        pending: list[tuple[float, int, int]] = []  # heap of (end, pitch, note index)
        first = np.zeros(len(notes), np.int64)
        final = np.zeros(len(notes), np.int64)
        recent: dict[int, int] = {}  # pitch -> index of its latest note
        for i, note in enumerate(notes):
            while pending and pending[0][0] <= note.time:
                end, pitch, j = heapq.heappop(pending)
                self.release(pitch, int(final[j]), end)
            final[i] = self.assign(note)
            recent[note.pitch] = i
            for pitch, _, new in self.revisions():
                final[recent[pitch]] = new
            first[i] = final[i]  # what sounds at the note-on: after its own revision
            if note.end is not None:
                heapq.heappush(pending, (note.end, note.pitch, i))
        return first, final

    def assign_all(self, notes: Sequence[Note]) -> list[int]:
        """The final parts of a whole piece in arrival order, as if played live.

        Offline models override this to look at the whole piece.
        """
        return [int(p) for p in self.perform_all(notes)[1]]
