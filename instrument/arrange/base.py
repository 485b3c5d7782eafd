"""The arranger interface: which part of the ensemble plays each note, decided as it is struck.

An arranger is stateful over one performance and sees only the past: ``assign`` is called
once per note-on, in time order, notes struck together arriving low to high; ``release``
tells it when a note ended (live it cannot know durations in advance). ``reset`` starts a
new performance (after a long pause, or when the ensemble changes).
"""

from __future__ import annotations

import heapq
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from instrument.ensemble import Ensemble


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

    def release(self, pitch: int, part: int, time: float) -> None:  # noqa: B027
        """The note ``pitch`` played by ``part`` ended at ``time`` (seconds)."""

    def assign_all(self, notes: Sequence[Note]) -> list[int]:
        """Arrange a whole piece sorted by (time, pitch), as if played live.

        Releases (from ``Note.end``) are delivered before any onset at or after them.
        Offline models override this to look at the whole piece.
        """
        self.reset()
        pending: list[tuple[float, int, int]] = []  # heap of (end, pitch, part)
        parts = []
        for note in notes:
            while pending and pending[0][0] <= note.time:
                end, pitch, part = heapq.heappop(pending)
                self.release(pitch, part, end)
            part = self.assign(note)
            parts.append(part)
            if note.end is not None:
                heapq.heappush(pending, (note.end, note.pitch, part))
        return parts
