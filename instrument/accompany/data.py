"""POP909 songs on the beat grid: melody, bass and comping notes in sixteenths, with chords.

The PIANO track is split into the band's two parts: at each onset, the lowest piano note
at or below ``BASS_MAX`` is the bass, every other piano note is comping. The sung MELODY
is the player's part (the one the band continues). BRIDGE (the secondary melody) is left
out: the band does not play counter-melodies.

Times become beats through the song's own beat annotations (``beat_midi.txt``), so the
grid follows the arrangement even where its tempo drifts. Songs whose measures are two
beats long are read in four-beat bars (the data set's second-level downbeats), which is
how most of them are counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from instrument.accompany.notes import (
    BASS,
    COMP,
    MELODY,
    STEPS_PER_BEAT,
    ChordTrack,
    tones_of,
)

BASS_MAX = 52  # E3: the left hand's bass register


@dataclass
class GridSong:
    """A song on the sixteenth grid.

    notes: int32 (n, 4): step onset (sixteenths from the first downbeat), duration in
        steps (>= 1), part (MELODY, BASS, COMP), pitch; sorted by onset, part, pitch.
    chords: the chord track in beats; symbols: the same changes as (beat, Chord) from
    ``instrument.harmony.chords``. beats_per_bar: the meter's numerator.
    n_beats: length in beats (from the first downbeat). tempo: median BPM.
    """

    id: str
    notes: np.ndarray
    chords: ChordTrack
    beats_per_bar: int
    n_beats: int
    tempo: float = 120.0
    symbols: list = field(default_factory=list)

    def part_notes(self, parts: tuple[int, ...]) -> np.ndarray:
        return self.notes[np.isin(self.notes[:, 2], parts)]


def _chord(label: str):
    from instrument.errors import InstrumentError
    from instrument.harmony.chords import NO_CHORD, parse_chord

    try:
        return parse_chord(label)
    except InstrumentError:
        return NO_CHORD


def split_piano(piano_steps: np.ndarray) -> np.ndarray:
    """Part (BASS or COMP) of each piano note; ``piano_steps`` int (n, 4) rows of
    (onset step, duration, part, pitch) sorted by onset then pitch."""
    parts = np.full(len(piano_steps), COMP, dtype=np.int32)
    if len(piano_steps) == 0:
        return parts
    starts = np.flatnonzero(np.r_[True, np.diff(piano_steps[:, 0]) != 0])
    lows = starts[piano_steps[starts, 3] <= BASS_MAX]  # lowest note of each onset, if low
    parts[lows] = BASS
    return parts


def grid_song(song) -> GridSong:
    """A ``instrument.datasets.pop909.Pop909Song`` on the sixteenth grid."""
    beats = np.asarray(song.beats, dtype=np.float64)
    down = np.asarray(song.downbeats, dtype=bool)
    gaps = np.diff(np.flatnonzero(down))
    bpb = int(np.median(gaps)) if len(gaps) else 4
    if bpb == 2 and song.hyper_downbeats.any():
        down, bpb = np.asarray(song.hyper_downbeats, dtype=bool), 4
    bpb = max(1, min(bpb, 8))
    first = int(np.flatnonzero(down)[0]) if down.any() else 0
    index = np.arange(len(beats), dtype=np.float64) - first
    # seconds -> beats, extended linearly beyond the annotated beats
    period = float(np.median(np.diff(beats))) if len(beats) > 1 else 0.5

    def to_beats(t: np.ndarray) -> np.ndarray:
        b = np.interp(t, beats, index)
        b = np.where(t < beats[0], index[0] - (beats[0] - t) / period, b)
        return np.where(t > beats[-1], index[-1] + (t - beats[-1]) / period, b)

    rows = []
    for track, part in (("MELODY", MELODY), ("PIANO", None)):
        n = song.notes[track]
        if len(n) == 0:
            continue
        on = np.round(to_beats(n[:, 0]) * STEPS_PER_BEAT).astype(np.int64)
        off = np.round(to_beats(n[:, 1]) * STEPS_PER_BEAT).astype(np.int64)
        dur = np.maximum(off - on, 1)
        pitch = n[:, 2].astype(np.int64)
        block = np.stack([on, dur, np.zeros_like(on), pitch], axis=1)
        block = block[np.lexsort((block[:, 3], block[:, 0]))]
        block[:, 2] = MELODY if part == MELODY else split_piano(block)
        rows.append(block)
    notes = np.concatenate(rows) if rows else np.zeros((0, 4), np.int64)
    notes = notes[notes[:, 0] >= 0]
    notes = notes[np.lexsort((notes[:, 3], notes[:, 2], notes[:, 0]))].astype(np.int32)
    symbols = []
    for start, _end, label in song.chords:
        b = round(float(to_beats(np.array([start]))[0]) * STEPS_PER_BEAT) / STEPS_PER_BEAT
        symbols.append((max(b, 0.0), _chord(label)))
    changes = [(b, tones_of(c)) for b, c in symbols]
    n_beats = int(index[-1]) + 1
    return GridSong(song.id, notes, ChordTrack(changes), bpb, n_beats, 60.0 / period, symbols)


def load_grid_split(split: str, data=None, limit: int | None = None) -> list[GridSong]:
    """The songs of POP909 ``split`` (the project's committed split) on the grid."""
    from instrument.datasets import pop909
    from instrument.datasets.splits import split_ids

    ids = split_ids("pop909", split)[:limit]
    return [grid_song(pop909.load_song(pop909.song_dir(i, data))) for i in ids]
