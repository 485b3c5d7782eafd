"""Per-note input features of the neural arrangers, computed from what a live player gives.

Online (causal) features need only the note (pitch, velocity, onset in seconds) and the
parts chosen for earlier notes, so they work live without a score or a beat clock:

- timing: new onset group?, notes already struck in this group, time since the previous
  note, the running inter-onset interval (tempo), this group's gap relative to it;
- velocity (only for data with real velocities), pitch;
- the chord so far, true in any arrival order: the note against the lowest and highest
  pitch of its chord struck so far, how many of them lie above and below it;
- per part: has it played, interval from its last pitch and from its pitch before this
  chord, time since its last onset, is it still sounding, has it already played in this
  onset group.

Notes whose onsets lie within ``GROUP_S`` of the first note of a group are "struck
together" (live chords are never exactly simultaneous). The state lives in one float64
array so that the same numba kernel serves training (teacher forcing: the true parts),
evaluation and the live step (the model's own choices).

Offline features (``offline_features``) may look at the whole piece: chord size and rank,
gaps before and after, duration.
"""

from __future__ import annotations

import numpy as np

from instrument.jit import njit

GROUP_S = 0.05  # onsets closer than this to their group's first note are one chord
N_GLOBAL = 13
N_PER_PART = 6
IOI_INIT = 0.5
# state layout: [prev_time, group_start, group_count, ioi_avg, n_notes, group_min,
# group_max] + 6 per part: [last_pitch, last_onset, n_sounding, notes in this group,
# has_played, pitch before this group]
S_GLOBAL = 7
S_PER_PART = 6


def n_online_features(n_parts: int) -> int:
    return N_GLOBAL + N_PER_PART * n_parts


def n_state(n_parts: int) -> int:
    return S_GLOBAL + S_PER_PART * n_parts


def new_state(n_parts: int) -> np.ndarray:
    s = np.zeros(n_state(n_parts), dtype=np.float64)
    reset_state(s)
    return s


@njit(cache=True)
def reset_state(s: np.ndarray) -> None:
    s[:] = 0.0
    s[3] = IOI_INIT


@njit(cache=True, inline="always")
def _tl(x: float) -> float:
    """A time in seconds squashed to about 0..1 (1 at ~10 s), fine near zero."""
    if x < 0.0:
        x = 0.0
    return np.log1p(x * 50.0) / 6.2


@njit(cache=True, inline="always")
def is_new_group(s: np.ndarray, time: float) -> bool:
    """Does a note at ``time`` start a new onset group (chord)?"""
    return s[4] == 0.0 or time - s[1] > GROUP_S


@njit(cache=True)
def online_features(
    s: np.ndarray, pitch: int, time: float, velocity: int, use_velocity: bool, out: np.ndarray
) -> None:
    """Features of the next note into ``out`` (float32, n_online_features); advances the
    group/tempo state but not the part state (see ``commit``).

    Within a chord every feature is true whatever order its notes arrive in: the note is
    placed against the notes of its chord already struck (their lowest and highest pitch,
    how many lie above and below it, which parts took them) and against each part's pitch
    before the chord, never against "the first note of a chord".
    """
    n_parts = (s.shape[0] - S_GLOBAL) // S_PER_PART
    first = s[4] == 0.0
    new_group = is_new_group(s, time)
    if new_group:
        gap = time - s[1]
        rel = 0.0
        if not first:
            g = min(max(gap, 0.02), 4.0)
            rel = np.log(g / s[3])
            s[3] = 0.85 * s[3] + 0.15 * g
        s[1] = time
        s[2] = 0.0
        for k in range(n_parts):
            b = S_GLOBAL + S_PER_PART * k
            s[b + 3] = 0.0
            s[b + 5] = s[b]
        out[4] = min(max(rel, -3.0), 3.0) / 3.0
    else:
        out[4] = 0.0
    out[0] = 1.0 if new_group else 0.0
    out[1] = min(s[2], 6.0) / 3.0
    out[2] = _tl(time - s[0]) if not first else 1.0
    out[3] = _tl(s[3])
    out[5] = (velocity - 64.0) / 64.0 if use_velocity else 0.0
    out[6] = (pitch - 60.0) / 24.0
    above = 0.0
    below = 0.0
    for k in range(n_parts):
        b = S_GLOBAL + S_PER_PART * k
        if s[b + 3] > 0.0:
            if s[b] > pitch:
                above += 1.0
            elif s[b] < pitch:
                below += 1.0
    if s[2] > 0.0:
        out[7] = min(max((pitch - s[5]) / 12.0, -3.0), 3.0)
        out[8] = min(max((s[6] - pitch) / 12.0, -3.0), 3.0)
        out[9] = 1.0 if pitch > s[6] else 0.0
        out[10] = 1.0 if pitch < s[5] else 0.0
    else:
        out[7] = 0.0
        out[8] = 0.0
        out[9] = 0.0
        out[10] = 0.0
    out[11] = min(above, 6.0) / 3.0
    out[12] = min(below, 6.0) / 3.0
    for k in range(n_parts):
        b = S_GLOBAL + S_PER_PART * k
        o = N_GLOBAL + N_PER_PART * k
        played = s[b + 4] > 0.0
        out[o] = 1.0 if played else 0.0
        if played:
            iv = (pitch - s[b]) / 12.0
            out[o + 1] = min(max(iv, -3.0), 3.0)
            out[o + 2] = _tl(time - s[b + 1])
            iv0 = (pitch - s[b + 5]) / 12.0
            out[o + 5] = min(max(iv0, -3.0), 3.0) if s[b + 5] > 0.0 else out[o + 1]
        else:
            out[o + 1] = 0.0
            out[o + 2] = 1.5
            out[o + 5] = 0.0
        out[o + 3] = 1.0 if s[b + 2] > 0.0 else 0.0
        out[o + 4] = 1.0 if s[b + 3] > 0.0 else 0.0


@njit(cache=True)
def commit(s: np.ndarray, pitch: int, time: float, part: int) -> None:
    """Record that part ``part`` plays the note just featurised."""
    b = S_GLOBAL + S_PER_PART * part
    s[b] = pitch
    s[b + 1] = time
    s[b + 2] += 1.0
    s[b + 3] += 1.0
    s[b + 4] = 1.0
    if s[2] == 0.0 or pitch < s[5]:
        s[5] = pitch
    if s[2] == 0.0 or pitch > s[6]:
        s[6] = pitch
    s[2] += 1.0
    s[0] = time
    s[4] += 1.0


@njit(cache=True)
def release(s: np.ndarray, part: int) -> None:
    b = S_GLOBAL + S_PER_PART * part
    if s[b + 2] > 0.0:
        s[b + 2] -= 1.0


@njit(cache=True)
def part_notes_in_group(s: np.ndarray, part: int) -> float:
    """How many notes of the current onset group ``part`` has taken."""
    return s[S_GLOBAL + S_PER_PART * part + 3]


@njit(cache=True)
def teacher_forced_features(
    pitch: np.ndarray,
    time: np.ndarray,
    end: np.ndarray,
    velocity: np.ndarray,
    part: np.ndarray,
    n_parts: int,
    use_velocity: bool,
) -> np.ndarray:
    """(n, F) float32 online features of a whole piece, earlier notes taking their true parts.

    Notes come in arrival order (a performance's order, or the score's). Releases are
    applied as live: a part is sounding at an onset if one of its notes ends after it.
    """
    n = pitch.shape[0]
    out = np.zeros((n, N_GLOBAL + N_PER_PART * n_parts), dtype=np.float32)
    s = np.zeros(S_GLOBAL + S_PER_PART * n_parts)
    reset_state(s)
    max_end = np.full(n_parts, -1.0)
    for i in range(n):
        for k in range(n_parts):
            s[S_GLOBAL + S_PER_PART * k + 2] = 1.0 if max_end[k] > time[i] else 0.0
        online_features(s, pitch[i], time[i], velocity[i], use_velocity, out[i])
        commit(s, pitch[i], time[i], part[i])
        if end[i] > max_end[part[i]]:
            max_end[part[i]] = end[i]
    return out


N_OFFLINE = 10


def group_ids(time: np.ndarray, window_s: float = GROUP_S) -> np.ndarray:
    """Onset group of each note (sorted by onset): notes within ``window_s`` of their
    group's first note share it."""
    n = len(time)
    gid = np.zeros(n, dtype=np.int64)
    if n == 0:
        return gid
    start, g = time[0], 0
    for i in range(1, n):
        if time[i] - start > window_s:
            g, start = g + 1, time[i]
        gid[i] = g
    return gid


def offline_features(time: np.ndarray, end: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """(n, N_OFFLINE) float32 features that look at the whole piece (for the BiLSTM).

    Onset groups, chord size, rank from the bottom and from the top, gaps to the previous
    and next groups, duration, pitch, and pitch relative to the group's extremes.
    """
    n = len(time)
    out = np.zeros((n, N_OFFLINE), dtype=np.float32)
    if n == 0:
        return out
    gid = group_ids(time)
    first = np.r_[0, np.flatnonzero(np.diff(gid)) + 1]
    size = np.diff(np.r_[first, n])
    gstart = time[first]
    rank = np.arange(n) - first[gid]
    gsize = size[gid]
    prev_gap = np.r_[1.0, np.diff(gstart)][gid]
    next_gap = np.r_[np.diff(gstart), 1.0][gid]
    low = pitch[first][gid]
    high = pitch[first + size - 1][gid]

    def tl(x):
        return np.log1p(np.maximum(x, 0) * 50.0) / 6.2

    out[:, 0] = np.minimum(gsize, 8) / 4.0
    out[:, 1] = np.minimum(rank, 8) / 4.0
    out[:, 2] = np.minimum(gsize - 1 - rank, 8) / 4.0
    out[:, 3] = tl(prev_gap)
    out[:, 4] = tl(next_gap)
    out[:, 5] = tl(end - time)
    out[:, 6] = (pitch - 60.0) / 24.0
    out[:, 7] = (pitch - low) / 12.0
    out[:, 8] = (high - pitch) / 12.0
    out[:, 9] = (rank == 0) & (gsize > 1)
    return out
