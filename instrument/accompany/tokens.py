"""The model's language: a beat-by-beat stream of events on the sixteenth grid.

One beat reads ``BEAT  STEP_k note note ...  STEP_k' note ...``: ``BEAT`` opens the beat,
``STEP_k`` (k = 0..3) moves to its k-th sixteenth, and a note token is (part, pitch,
duration) in one: the part fixes the pitch range, the duration is one of ``DURATIONS``
sixteenths. Notes of one step come bass, comping, then melody, low to high.

Every token also gets a condition vector describing *when* it is: the chord sounding
there (pitch classes, root, bass), the next chord, the beat in the bar and the sixteenth in
the beat. So the model is told the chords and the grid and only has to choose notes.
Transposing a song shifts the pitches and rotates the chord features alike, which is how
training sees every song in every key.
"""

from __future__ import annotations

import numpy as np

from instrument.accompany.notes import (
    BASS,
    COMP,
    MELODY,
    STEPS_PER_BEAT,
    BandNote,
    ChordTrack,
    Tones,
)

PAD, BOS, BEAT = 0, 1, 2
STEP0 = 3  # STEP_k = STEP0 + k
N_SPECIAL = STEP0 + STEPS_PER_BEAT
DURATIONS = np.array([1, 2, 3, 4, 5, 6, 8, 12, 16])  # sixteenths
N_DUR = len(DURATIONS)
PART_ORDER = (BASS, COMP, MELODY)  # order of parts inside one step
# Pitch range of each part; pitches outside are folded in by octaves.
RANGES = {BASS: (28, 55), COMP: (41, 88), MELODY: (48, 95)}
_BASE: dict[int, int] = {}
_off = N_SPECIAL
for _p in PART_ORDER:
    _BASE[_p] = _off
    _off += (RANGES[_p][1] - RANGES[_p][0] + 1) * N_DUR
VOCAB = _off
MAX_BEAT_IN_BAR = 8
COND_DIM = 12 * 3 + 12 * 2 + MAX_BEAT_IN_BAR + STEPS_PER_BEAT  # 72
_PART_RANK = {p: i for i, p in enumerate(PART_ORDER)}


def fold(pitch: np.ndarray | int, part: int) -> np.ndarray | int:
    """Move pitches into the part's range by whole octaves."""
    lo, hi = RANGES[part]
    p = np.asarray(pitch)
    p = np.where(p < lo, p + 12 * ((lo - p + 11) // 12), p)
    p = np.where(p > hi, p - 12 * ((p - hi + 11) // 12), p)
    return p if p.ndim else int(p)


def dur_index(steps: np.ndarray) -> np.ndarray:
    """Nearest duration bucket of each duration in sixteenths."""
    steps = np.asarray(steps)
    return np.abs(steps[..., None] - DURATIONS).argmin(-1)


def token_parts() -> np.ndarray:
    """Part of each token id, -1 for the specials (length VOCAB)."""
    out = np.full(VOCAB, -1, dtype=np.int64)
    for p in PART_ORDER:
        n = (RANGES[p][1] - RANGES[p][0] + 1) * N_DUR
        out[_BASE[p] : _BASE[p] + n] = p
    return out


TOKEN_PART = token_parts()


def decode_note(tok: int) -> tuple[int, int, int]:
    """(part, pitch, duration in sixteenths) of a note token."""
    part = int(TOKEN_PART[tok])
    k = tok - _BASE[part]
    return part, RANGES[part][0] + k // N_DUR, int(DURATIONS[k % N_DUR])


# -- songs as event streams -------------------------------------------------------------------
def events(notes: np.ndarray, first_beat: int, n_beats: int) -> np.ndarray:
    """Token stream of beats ``first_beat .. first_beat + n_beats - 1`` as event rows.

    notes: int (n, 4) rows of (onset step, duration steps, part, pitch) in absolute
    sixteenths. Returns int64 (m, 5) rows of (kind, part, pitch, dur steps, step time):
    kind is BEAT, STEP0+k, or -1 for a note; step time is the absolute sixteenth the
    token stands at (its condition is read there).
    """
    lo, hi = first_beat * STEPS_PER_BEAT, (first_beat + n_beats) * STEPS_PER_BEAT
    sel = notes[(notes[:, 0] >= lo) & (notes[:, 0] < hi)]
    rank = np.array([_PART_RANK[int(p)] for p in sel[:, 2]], dtype=np.int64)
    sel = sel[np.lexsort((sel[:, 3], rank, sel[:, 0]))]
    rows: list[tuple[int, int, int, int, int]] = []
    i = 0
    for beat in range(first_beat, first_beat + n_beats):
        t0 = beat * STEPS_PER_BEAT
        rows.append((BEAT, -1, 0, 0, t0))
        while i < len(sel) and sel[i, 0] < t0 + STEPS_PER_BEAT:
            step = int(sel[i, 0])
            rows.append((STEP0 + step - t0, -1, 0, 0, step))
            while i < len(sel) and sel[i, 0] == step:
                rows.append((-1, int(sel[i, 2]), int(sel[i, 3]), int(sel[i, 1]), step))
                i += 1
    return np.array(rows, dtype=np.int64).reshape(-1, 5)


def event_tokens(ev: np.ndarray, shift: int = 0) -> np.ndarray:
    """Token ids of event rows, pitches transposed by ``shift`` semitones."""
    out = ev[:, 0].copy()
    notes = np.flatnonzero(ev[:, 0] < 0)
    for part in PART_ORDER:
        idx = notes[ev[notes, 1] == part]
        if len(idx) == 0:
            continue
        pitch = fold(ev[idx, 2] + shift, part)
        out[idx] = _BASE[part] + (pitch - RANGES[part][0]) * N_DUR + dur_index(ev[idx, 3])
    return out


# -- conditions -------------------------------------------------------------------------------
def chord_table(chords: ChordTrack, n_steps: int) -> np.ndarray:
    """Per sixteenth 0..n_steps-1: int64 (n_steps, 5) of (root, bass, chroma mask,
    next root, next chroma mask); root/bass -1 for no chord. Masks are 12-bit, bit k = pc k."""
    out = np.full((n_steps, 5), -1, dtype=np.int64)
    out[:, 2] = 0
    out[:, 4] = 0

    def mask(t: Tones) -> int:
        return sum(1 << pc for pc in t.pcs)

    starts = [int(round(s * STEPS_PER_BEAT)) for s in chords.starts] + [n_steps]
    for k, tones in enumerate(chords.tones):
        a, b = max(starts[k], 0), min(max(starts[k + 1], 0), n_steps)
        if a >= b:
            continue
        nxt = next((t for t in chords.tones[k + 1 :] if t != tones), tones)
        out[a:b] = (
            -1 if tones.root is None else tones.root,
            -1 if tones.bass is None else tones.bass,
            mask(tones),
            -1 if nxt.root is None else nxt.root,
            mask(nxt),
        )
    return out


def _rot(mask: np.ndarray, s: int) -> np.ndarray:
    s %= 12
    return ((mask << s) | (mask >> (12 - s))) & 0xFFF


def chord_rows(chords: ChordTrack, steps: np.ndarray) -> np.ndarray:
    """``chord_table`` rows for arbitrary absolute ``steps``, read from a chord track
    (live use: the track grows as chords are played, so no table is built ahead)."""
    out = np.empty((len(steps), 5), dtype=np.int64)
    cache: dict[int, tuple[int, int, int, int, int]] = {}
    for i, st in enumerate(steps.tolist()):
        row = cache.get(st)
        if row is None:
            beat = st / STEPS_PER_BEAT
            now, nxt = chords.at(beat), chords.next_after(beat)
            row = (
                -1 if now.root is None else now.root,
                -1 if now.bass is None else now.bass,
                sum(1 << pc for pc in now.pcs),
                -1 if nxt.root is None else nxt.root,
                sum(1 << pc for pc in nxt.pcs),
            )
            cache[st] = row
        out[i] = row
    return out


def conditions(
    table: np.ndarray, steps: np.ndarray, beats_per_bar: int, shift: int = 0
) -> np.ndarray:
    """Condition vectors (len(steps), COND_DIM) float32 for tokens at absolute ``steps``.

    table: ``chord_table`` rows (steps past its end read as no chord).
    """
    inside = (steps >= 0) & (steps < len(table))
    rows = np.where(
        inside[:, None], table[np.clip(steps, 0, len(table) - 1)], np.array([-1, -1, 0, -1, 0])
    )
    return conditions_from_rows(rows, steps, beats_per_bar, shift)


def conditions_from_rows(
    rows: np.ndarray, steps: np.ndarray, beats_per_bar: int, shift: int = 0
) -> np.ndarray:
    """Condition vectors from per-token chord rows (see ``chord_table``) and steps."""
    n = len(steps)
    out = np.zeros((n, COND_DIM), dtype=np.float32)
    bits = np.arange(12)
    out[:, 0:12] = (_rot(rows[:, 2], shift)[:, None] >> bits) & 1
    for col, off in ((0, 12), (1, 24), (3, 48)):
        v = rows[:, col]
        has = v >= 0
        out[np.flatnonzero(has), off + (v[has] + shift) % 12] = 1
    out[:, 36:48] = (_rot(rows[:, 4], shift)[:, None] >> bits) & 1
    beat = np.floor_divide(steps, STEPS_PER_BEAT)
    bib = np.minimum(np.mod(beat, beats_per_bar), MAX_BEAT_IN_BAR - 1)
    out[np.arange(n), 60 + bib] = 1
    out[np.arange(n), 60 + MAX_BEAT_IN_BAR + np.mod(steps, STEPS_PER_BEAT)] = 1
    return out


def band_notes_from_events(ev: list[tuple[int, int, int, int]]) -> list[BandNote]:
    """(part, pitch, dur steps, abs step) tuples -> BandNotes in beats."""
    vel = {BASS: 88, COMP: 68, MELODY: 92}
    return [
        BandNote(
            part,
            pitch,
            vel[part] + (8 if step % STEPS_PER_BEAT == 0 else 0),
            step / STEPS_PER_BEAT,
            dur / STEPS_PER_BEAT - 0.02,
        )
        for part, pitch, dur, step in ev
    ]
