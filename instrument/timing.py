"""The beat clock that the band, the practice charts and the display read.

Any source of musical time (an internal tempo, tap tempo, the listener following the
room) exposes this interface. Times are seconds on the caller's clock
(``time.monotonic()`` live, the audio time offline).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class BeatState:
    """Where the music is at one moment.

    tempo: beats per minute. beat: beats since the clock started (float, 0 = first
    downbeat). beats_per_bar: the meter's numerator. next_beat_time: when the next beat
    falls (seconds). confidence: 0..1, how sure the source is (1 for an internal clock).
    """

    tempo: float
    beat: float
    beats_per_bar: int
    next_beat_time: float
    confidence: float = 1.0

    @property
    def bar(self) -> int:
        """Bar number, from 0."""
        return int(self.beat // self.beats_per_bar)

    @property
    def beat_in_bar(self) -> float:
        """Position in the bar in beats, 0 <= x < beats_per_bar."""
        return self.beat % self.beats_per_bar


class BeatClock(Protocol):
    def state(self, now: float) -> BeatState:
        """The musical position at ``now`` (seconds)."""
        ...
