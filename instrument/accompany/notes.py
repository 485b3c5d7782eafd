"""What the band plays and over what: notes on the beat grid, and the chords they follow.

Times here are in beats (quarter notes of the beat clock, 0 = the first downbeat after the
count-in); the scheduler turns them into seconds with the clock when it commits them.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from instrument.harmony.chords import Chord

# The band's parts. MELODY is the player's part: the band plays it only when it continues
# the player's phrase.
MELODY, BASS, COMP, DRUMS = 0, 1, 2, 3
PART_NAMES = ("melody", "bass", "comping", "drums")
# GM programs for the band's pitched parts (drums use the kit on channel 10).
PART_PROGRAMS = {MELODY: 0, BASS: 33, COMP: 4}  # piano, fingered bass, electric piano
STEPS_PER_BEAT = 4  # the grid: sixteenth notes


@dataclass(frozen=True, slots=True)
class BandNote:
    """One note the band plays. onset, duration: beats. velocity: 1-127."""

    part: int
    pitch: int
    velocity: int
    onset: float
    duration: float


class Tones(NamedTuple):
    """A chord as the band voices it: root and bass pitch classes, and all its pitch classes.

    ``root`` is None for "no chord" (N), whose ``pcs`` is empty.
    """

    root: int | None
    pcs: tuple[int, ...]
    bass: int | None

    @property
    def is_rest(self) -> bool:
        return self.root is None

    def chroma(self) -> list[int]:
        """12 zeros/ones, C first."""
        v = [0] * 12
        for pc in self.pcs:
            v[pc] = 1
        return v


NO_CHORD = Tones(None, (), None)


def tones_of(chord: Chord | Tones | None) -> Tones:
    """The band's view of a chord symbol (or a Tones already); None and N: no chord."""
    if isinstance(chord, Tones):
        return chord
    if chord is None or chord.root is None:
        return NO_CHORD
    pcs = tuple(sorted({int(p) % 12 for p in chord.pitch_classes}))
    return Tones(chord.root % 12, pcs, chord.bass_pc % 12)


class ChordTrack:
    """Chords on the beat grid: ``changes`` is a list of (start beat, Tones), any order.

    Before the first change there is no chord.
    """

    def __init__(self, changes: Sequence[tuple[float, Tones]] = ()):
        items = sorted(changes, key=lambda c: c[0])
        self.starts = [float(s) for s, _ in items]
        self.tones = [t for _, t in items]

    def __len__(self) -> int:
        return len(self.starts)

    def add(self, start: float, tones: Tones) -> None:
        """Append a change at or after the last one (the live detector's way)."""
        if self.starts and start < self.starts[-1]:
            raise ValueError("chord changes must be added in time order")
        if self.tones and self.tones[-1] == tones:
            return
        self.starts.append(float(start))
        self.tones.append(tones)

    def index(self, beat: float) -> int:
        """Index of the chord sounding at ``beat``; -1 before the first."""
        return bisect.bisect_right(self.starts, beat + 1e-9) - 1

    def at(self, beat: float) -> Tones:
        i = self.index(beat)
        return self.tones[i] if i >= 0 else NO_CHORD

    def next_after(self, beat: float) -> Tones:
        """The next different chord after the one sounding at ``beat`` (itself if none)."""
        i = self.index(beat)
        here = self.tones[i] if i >= 0 else NO_CHORD
        for t in self.tones[i + 1 :]:
            if t != here:
                return t
        return here

    def end(self) -> float:
        return self.starts[-1] if self.starts else 0.0

    def beats_to_change(self, beat: float) -> float:
        """Beats from ``beat`` to the next chord change (inf if none comes)."""
        i = self.index(beat)
        return self.starts[i + 1] - beat if i + 1 < len(self.starts) else float("inf")
