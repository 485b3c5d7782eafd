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
    """A source of musical time the band, the jam view and a take's tempo map follow.

    Implemented by ``accompany.clock.InternalClock`` (a set tempo, tap tempo, started
    with a count-in) and ``listen.stream.ListenStream`` (the beat heard in the room,
    which the player's controls cannot move: its ``start``/``stop``/``tap`` do nothing).
    """

    @property
    def running(self) -> bool:
        """Whether the beat moves (started, or heard)."""
        ...

    @property
    def tempo(self) -> float:
        """Beats per minute now."""
        ...

    @property
    def beats_per_bar(self) -> int: ...

    @property
    def waiting(self) -> str:
        """What the jam view says while the clock does not run and waits for something
        other than the player's controls (the room's first beat); "" if nothing."""
        ...

    def state(self, now: float) -> BeatState:
        """The musical position at ``now`` (seconds)."""
        ...

    def start(self, now: float) -> None:
        """Run from the count-in at ``now`` (seconds)."""
        ...

    def stop(self) -> None:
        """Stand at the count-in again."""
        ...

    def tap(self, now: float) -> float | None:
        """A tap-tempo tap at ``now``: the new tempo, or None (not yet known, or the
        tempo is not the player's to set)."""
        ...
