"""Naming the chord a set of MIDI notes makes.

Template matching over every (root, quality) with the root among the sounding pitch
classes: a candidate loses 1 per required chord tone that is missing and 1 per sounding
pitch class it does not explain; a plain perfect fifth is optional, so open voicings and
doubled notes cost nothing. Ties between equally good readings of the same notes (C6 vs
Am7, Csus2 vs Gsus4, Cdim7 vs Ebdim7, Cm7b5 vs Ebm6) go to the root in the bass, which is
how players and lead sheets read them; a remaining tie goes to the more common quality
(the order of ``QUALITIES``). When the bass is not the root, it becomes a slash bass.
"""

from __future__ import annotations

from collections.abc import Iterable

from instrument.harmony.chords import QUALITIES, Chord, quality_fit

# Less than one missing/extra tone: the bass only decides between equal fits.
BASS_BONUS = 0.5
# Per position in QUALITIES: only breaks exact ties.
ORDER_COST = 1e-3


def rank_chords(pitches: Iterable[int], n: int = 5) -> list[tuple[Chord, float]]:
    """The ``n`` best chord readings of ``pitches`` (MIDI numbers), best first, with scores
    (0 for a complete chord with its root in the bass; higher is better)."""
    pitches = list(pitches)
    if not pitches:
        return []
    pcs = frozenset(p % 12 for p in pitches)
    bass = min(pitches) % 12
    scored = []
    for root in pcs:
        intervals = frozenset((pc - root) % 12 for pc in pcs)
        for k, q in enumerate(QUALITIES.values()):
            score = quality_fit(intervals, q) - k * ORDER_COST
            if root == bass:
                score += BASS_BONUS
            scored.append((score, root, q.name))
    scored.sort(key=lambda t: -t[0])
    return [(Chord(root, q, bass), score - BASS_BONUS) for score, root, q in scored[:n]]


def name_chord(pitches: Iterable[int]) -> Chord | None:
    """The chord ``pitches`` (MIDI numbers, any octave, doubled or not) make, or None when
    fewer than two pitch classes sound."""
    pitches = list(pitches)
    if len({p % 12 for p in pitches}) < 2:
        return None
    return rank_chords(pitches, 1)[0][0]
