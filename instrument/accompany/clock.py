"""The band's own beat clock: a set tempo, changed by tap tempo, started with a count-in.

``InternalClock`` implements ``instrument.timing.BeatClock``, the protocol the listener's
clock implements too, so either one can drive the band. The clock is a straight line
``beat = beat0 + (now - t0) * tempo / 60`` re-anchored at every tempo change, so the
beat position never jumps when the tempo changes. The anchor is one tuple replaced in a
single assignment: readers on other threads always see a consistent line without a lock.
"""

from __future__ import annotations

import statistics

from instrument.errors import InstrumentError
from instrument.timing import BeatState

MIN_TEMPO, MAX_TEMPO = 30.0, 300.0


def check_tempo(tempo: float) -> float:
    if not MIN_TEMPO <= tempo <= MAX_TEMPO:
        raise InstrumentError(f"tempo must be {MIN_TEMPO:g}-{MAX_TEMPO:g} BPM, got {tempo:g}")
    return float(tempo)


class TapTempo:
    """Tempo from taps: the median interval of the last ``window`` taps.

    A pause longer than ``max_gap`` seconds starts a new series, so a stray old tap never
    drags the tempo. ``tap`` returns the tempo once two taps of a series are in, else None.
    """

    def __init__(self, window: int = 4, max_gap: float = 2.0):
        self.window = window
        self.max_gap = max_gap
        self.taps: list[float] = []

    def reset(self) -> None:
        self.taps.clear()

    def tap(self, now: float) -> float | None:
        if self.taps and now - self.taps[-1] > self.max_gap:
            self.taps.clear()
        self.taps.append(now)
        del self.taps[: -(self.window + 1)]
        if len(self.taps) < 2:
            return None
        intervals = [b - a for a, b in zip(self.taps, self.taps[1:], strict=False)]
        tempo = 60.0 / statistics.median(intervals)
        return min(max(tempo, MIN_TEMPO), MAX_TEMPO)


class InternalClock:
    """A beat clock from an internal tempo (BPM) and meter.

    Before ``start`` the clock stands at beat ``-count_in`` (in beats); ``start(now)``
    sets it running from there, so beat 0, the first downbeat, falls after the count-in.
    """

    def __init__(self, tempo: float = 120.0, beats_per_bar: int = 4, count_in_bars: int = 0):
        if beats_per_bar < 1:
            raise InstrumentError(f"beats per bar must be at least 1, got {beats_per_bar}")
        self.beats_per_bar = beats_per_bar
        self.count_in = count_in_bars * beats_per_bar
        self.taps = TapTempo()
        # (t0 seconds or None while stopped, beat at t0, tempo)
        self._anchor: tuple[float | None, float, float] = (None, -self.count_in, check_tempo(tempo))

    @property
    def tempo(self) -> float:
        return self._anchor[2]

    @property
    def running(self) -> bool:
        return self._anchor[0] is not None

    @property
    def waiting(self) -> str:
        """Nothing: the player's controls (a chord, F6) start this clock."""
        return ""

    def start(self, now: float) -> None:
        """Run from beat ``-count_in`` at ``now`` (sync start calls this on the first chord)."""
        self._anchor = (now, -self.count_in, self._anchor[2])

    def stop(self) -> None:
        self._anchor = (None, -self.count_in, self._anchor[2])

    def beat_at(self, now: float) -> float:
        t0, beat0, tempo = self._anchor
        if t0 is None:
            return beat0
        return beat0 + (now - t0) * tempo / 60.0

    def time_of(self, beat: float) -> float:
        """When ``beat`` falls at the current tempo (seconds); the clock must be running."""
        t0, beat0, tempo = self._anchor
        if t0 is None:
            raise InstrumentError("the clock has not been started")
        return t0 + (beat - beat0) * 60.0 / tempo

    def set_tempo(self, tempo: float, now: float) -> None:
        """Change tempo from ``now`` on; the beat position at ``now`` is kept."""
        tempo = check_tempo(tempo)
        if self.running:
            self._anchor = (now, self.beat_at(now), tempo)
        else:
            self._anchor = (None, self._anchor[1], tempo)

    def tap(self, now: float) -> float | None:
        """A tap: changes the tempo once two taps are in, and pulls the beat onto the tap

        when the tap lands within a quarter beat of one (so tapping also fixes the phase).
        Returns the new tempo, or None after the first tap of a series.
        """
        tempo = self.taps.tap(now)
        if tempo is None:
            return None
        if not self.running:
            self.set_tempo(tempo, now)
            return tempo
        beat = self.beat_at(now)
        nearest = round(beat)
        self._anchor = (now, nearest if abs(beat - nearest) < 0.25 else beat, tempo)
        return tempo

    def state(self, now: float) -> BeatState:
        t0, beat0, tempo = self._anchor
        beat = self.beat_at(now)
        spb = 60.0 / tempo
        if t0 is None:
            nxt = float("inf")
        else:
            nxt = now + (float(int(beat // 1) + 1) - beat) * spb
        return BeatState(
            tempo=tempo,
            beat=beat,
            beats_per_bar=self.beats_per_bar,
            next_beat_time=nxt,
            confidence=1.0,
        )
