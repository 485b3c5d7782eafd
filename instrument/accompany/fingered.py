"""Fingered chord detection from the keyboard's lower zone, as arranger keyboards do it.

Keys below ``split`` are the chord hand. The held pitch classes are matched exactly
against chord templates in every inversion (the root need not be the lowest key); when
two roots fit the same keys (C6 = Am7) the one in the bass wins (the naming is
``instrument.harmony.naming``'s; this module adds the exact-fit and holding rules). The
chord is held after the keys are released, a set of keys that is no chord (a melody note
crossing into the lower zone, a half-changed hand) keeps the chord, and a new chord counts
only when the keys have been still for ``settle`` seconds, so a rolled chord is read once.
"""

from __future__ import annotations

from instrument.accompany.notes import Tones, tones_of
from instrument.harmony.chords import QUALITIES, Chord, quality_fit
from instrument.harmony.naming import rank_chords


def match_chord(pitches: list[int] | set[int]) -> tuple[Chord, Tones] | None:
    """The chord the keys spell exactly (every required tone held, no stray key), or None.

    pitches: MIDI numbers of the held keys. Readings are ranked by
    ``instrument.harmony.naming`` (the bass breaks ties between roots); only an exact fit
    counts, so keys that are no chord keep the chord in force.
    """
    pitches = list(pitches)
    if len({p % 12 for p in pitches}) < 2:
        return None
    pcs = frozenset(p % 12 for p in pitches)
    for chord, _ in rank_chords(pitches, 3):
        intervals = frozenset((pc - chord.root) % 12 for pc in pcs)
        if quality_fit(intervals, QUALITIES[chord.quality]) == 0:
            return chord, tones_of(chord)
    return None


class FingeredChords:
    """Reads the chord from note events of the lower zone (keys below ``split``).

    ``note_on`` / ``note_off`` take every key of the keyboard (upper-zone keys are
    ignored); ``chord(now)`` is the chord in force at ``now``: (Chord, Tones) or None
    before the first chord.
    """

    def __init__(self, split: int = 60, settle: float = 0.03):
        self.split = split
        self.settle = settle
        self.reset()

    def reset(self) -> None:
        self.held: set[int] = set()
        self.current: tuple[Chord, Tones] | None = None
        self._candidate: tuple[Chord, Tones] | None = None
        self._since = 0.0
        self.played_at = 0.0  # when the chord in force was played (seconds)

    def note_on(self, pitch: int, now: float) -> None:
        if pitch < self.split:
            self.held.add(pitch)
            self._changed(now)

    def note_off(self, pitch: int, now: float) -> None:
        # Releasing keys never changes the chord: it is held after release.
        self.held.discard(pitch)

    def _changed(self, now: float) -> None:
        found = match_chord(self.held)
        if found is not None:
            self._candidate, self._since = found, now

    def chord(self, now: float) -> tuple[Chord, Tones] | None:
        if self._candidate is not None and now - self._since >= self.settle:
            self.current, self._candidate = self._candidate, None
            self.played_at = self._since
        return self.current
