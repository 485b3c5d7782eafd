"""Objective measures of an accompaniment, as in MMT (Dong et al., 2023) and MusPy.

All functions take notes as an int array (n, 4) of (onset step, duration steps, part,
pitch) on the sixteenth grid, the same layout as ``data.GridSong.notes``.

* chord-tone ratio: share of notes whose pitch class is in the chord sounding at their
  onset (notes over "no chord" are not counted);
* pitch-class entropy: entropy in bits of the pitch-class histogram (MusPy);
* scale consistency: the largest share of notes inside one major or minor scale (MusPy);
* groove consistency: 1 - the mean Hamming distance between the onset patterns of
  consecutive bars, per grid position (MusPy, with a sixteenth-note grid);
* note density: notes per beat.
"""

from __future__ import annotations

import numpy as np

from instrument.accompany.notes import STEPS_PER_BEAT, ChordTrack

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)


def chord_tone_ratio(notes: np.ndarray, chords: ChordTrack) -> float:
    hits = total = 0
    for onset, _dur, _part, pitch in notes.tolist():
        tones = chords.at(onset / STEPS_PER_BEAT)
        if tones.is_rest:
            continue
        total += 1
        hits += (pitch % 12) in tones.pcs
    return hits / total if total else float("nan")


def pitch_class_entropy(notes: np.ndarray) -> float:
    if len(notes) == 0:
        return float("nan")
    counts = np.bincount(notes[:, 3] % 12, minlength=12).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def scale_consistency(notes: np.ndarray) -> float:
    if len(notes) == 0:
        return float("nan")
    counts = np.bincount(notes[:, 3] % 12, minlength=12)
    best = 0
    for tonic in range(12):
        for scale in (MAJOR, MINOR):
            best = max(best, int(sum(counts[(tonic + d) % 12] for d in scale)))
    return best / len(notes)


def groove_consistency(
    notes: np.ndarray, beats_per_bar: int, first_bar: int = 0, n_bars: int | None = None
) -> float:
    """Over bars ``first_bar`` .. (all bars touched by the notes when ``n_bars`` is None)."""
    res = beats_per_bar * STEPS_PER_BEAT
    if n_bars is None:
        if len(notes) == 0:
            return float("nan")
        n_bars = int(notes[:, 0].max()) // res + 1 - first_bar
    if n_bars < 2:
        return float("nan")
    pattern = np.zeros((n_bars, res), dtype=bool)
    rel = notes[:, 0] - first_bar * res
    rel = rel[(rel >= 0) & (rel < n_bars * res)]
    pattern[rel // res, rel % res] = True
    hamming = (pattern[1:] != pattern[:-1]).sum()
    return 1.0 - hamming / (res * (n_bars - 1))


def note_density(notes: np.ndarray, n_beats: int) -> float:
    return len(notes) / n_beats if n_beats else float("nan")


def all_metrics(
    notes: np.ndarray, chords: ChordTrack, beats_per_bar: int, first_beat: int, n_beats: int
) -> dict[str, float]:
    """The five measures of ``notes`` over beats ``first_beat .. first_beat + n_beats - 1``."""
    lo, hi = first_beat * STEPS_PER_BEAT, (first_beat + n_beats) * STEPS_PER_BEAT
    sel = notes[(notes[:, 0] >= lo) & (notes[:, 0] < hi)]
    return {
        "chord_tone_ratio": chord_tone_ratio(sel, chords),
        "pitch_class_entropy": pitch_class_entropy(sel),
        "scale_consistency": scale_consistency(sel),
        "groove_consistency": groove_consistency(
            sel, beats_per_bar, first_beat // beats_per_bar, n_beats // beats_per_bar
        ),
        "note_density": note_density(sel, n_beats),
    }
