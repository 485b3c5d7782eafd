"""The pop band's parts from POP909: sung melody, secondary melody, piano, and the piano's
bass line split off as its own part.

POP909 arranges each song for three tracks: MELODY (the sung line), BRIDGE (a secondary
melody / fill line) and PIANO (the accompaniment, both hands). A keyboardist's pop band
plays those roles as Lead, Strings, Piano and Bass, so the pop band's labels are the
POP909 tracks, with the bass line taken out of the PIANO track by ``bass_line``.

The bass rule (a relative one: it does not move under transposition except at the
ceiling): a piano note is Bass when

1. it is the lowest note of its onset group (piano notes struck within ``GROUP_S``);
2. it lies at least ``GAP`` semitones (a perfect fourth) below every other piano note of
   its group and below every piano note still sounding ``HELD_S`` after its onset, so
   that a close-position chord (E3 G3 C4) stays with the piano while an open left hand
   (C2 + G3 E4) or an octave doubling (C2 C3) gives its bottom to the bass, and the
   upper notes of a broken chord over a held root (C2, then G2, E3) stay with the piano;
3. it lies below ``CEILING`` (G3): a lone mid-range note is a piano fill, not a bass note.

A note struck alone with nothing sounding, below the ceiling, is a bass note (a walking
or root-fifth left hand).
"""

from __future__ import annotations

import numpy as np

from instrument.datasets.corpus import POP909_PARTS, POP_PARTS, Piece

GROUP_S = 0.03  # piano notes struck closer than this to their group's first are one group
GAP = 5  # semitones the bass lies below the rest of the piano (a perfect fourth)
HELD_S = 0.05  # a note released within this of the next onset is a legato overlap, not held
CEILING = 55  # MIDI G3: bass notes lie below it


def onset_groups(time: np.ndarray) -> np.ndarray:
    """(n,) group index of notes sorted by onset (seconds): a group starts at a note more
    than ``GROUP_S`` after the previous group's first note."""
    gid = np.empty(len(time), dtype=np.int64)
    start, g = -np.inf, -1
    for i, t in enumerate(time):
        if t - start > GROUP_S:
            start, g = t, g + 1
        gid[i] = g
    return gid


def bass_line(time: np.ndarray, end: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """(n,) bool: which notes of one piano track (sorted by onset; seconds, MIDI
    pitches) are its bass line, by the rule in the module docstring."""
    gid = onset_groups(time)
    bass = np.zeros(len(time), dtype=bool)
    for g in np.unique(gid):
        members = np.flatnonzero(gid == g)
        low = members[np.argmin(pitch[members])]
        if pitch[low] >= CEILING:
            continue
        rest = members[members != low]
        first = members[0]
        held = np.flatnonzero((time < time[first]) & (end > time[low] + HELD_S))
        others = pitch[np.concatenate([rest, held])]
        bass[low] = len(others) == 0 or pitch[low] <= others.min() - GAP
    return bass


def pop_band_parts(piece: Piece) -> Piece:
    """A POP909 piece (parts Melody, Bridge, Piano) labelled for the pop band: Lead,
    Strings, Piano, Bass (the piano's ``bass_line``)."""
    if piece.parts != POP909_PARTS:
        raise ValueError(f"{piece.id}: needs POP909 parts {POP909_PARTS}, has {piece.parts}")
    part = piece.part.copy()
    piano = np.flatnonzero(piece.part == 2)
    part[piano[bass_line(piece.time[piano], piece.end[piano], piece.pitch[piano])]] = 3
    return Piece(
        piece.id,
        POP_PARTS,
        piece.time,
        piece.end,
        piece.pitch,
        piece.velocity,
        part,
        piece.beat,
        piece.has_velocity,
    )
