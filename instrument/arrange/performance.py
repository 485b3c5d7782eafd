"""The performance model: what a keyboard sends when a keyboardist plays a score.

One module turns a piece (score or MIDI, ``datasets.corpus.Piece``) into the note stream a
keyboard gives: training augments with it, ``instrument eval arrange`` measures with it,
the tests and benches play it. ``perform(piece, rng, order)`` draws one performance:

- Tempo: a base tempo drawn from 60-140 BPM (scores; data with performed timing keep
  their own tempo, scaled by 0.8-1.25), rubato as a slow random walk of the log tempo per
  beat, rare sudden tempo changes, and fermatas (a long chord held 1.5-3x longer).
- Chord asynchrony: notes of one score onset ("a chord") do not arrive together. The
  arrival ``order`` is ``random`` (whatever finger lands first), ``low-high`` (rolled up)
  or ``high-low`` (melody first, then downwards). Spreads follow measured piano
  asynchrony: chord notes are spread over about 10-20 ms (Repp 1996, "Patterns of note
  onset asynchronies in expressive piano performance", JASA 100(6): asynchronies of
  inner voices mostly within +-15 ms), and when the melody leads it leads by about 20-30
  ms (Goebl 2001, "Melody lead in piano performance: expressive device or artifact?",
  JASA 110(1): ~30 ms, growing with the melody's velocity advantage). Here the spread of
  a chord is lognormal around 15 ms, capped at 45 ms and at 40% of the time to the next
  chord; with ``high-low`` the top note leads by N(25, 8) ms; each chord is also shifted
  by N(0, 8) ms of timing noise.
- Articulation: per note legato (the key held 5-60 ms past the next onset, Repp 1997's
  overlaps) or detached (released after 50-90% of its value), the mix drawn per piece.
- Velocities: a per-piece level with a slow dynamic drift, the top note of a chord ~8
  louder (melody emphasis, as Goebl measured), N(0, 6) noise. Data with real velocities
  keep them (plus the noise).
- Sustain pedal: in about half the pieces, pedal changes every one or two beats (up just
  before a chord, down ~60 ms after it), returned as CC64 events.
- One key cannot be struck twice: a unison (one pitch in two voices at one onset) is
  struck once, and the note it stands for may be scored right in either voice
  (``Performance.alt_part``); a key still held when its pitch is struck again is released
  1 ms before.

Everything is drawn from the ``rng`` given, so a seed fixes a performance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from instrument.arrange.base import Note

ORDERS = ("random", "low-high", "high-low")
SCORE_BPM = 90.0  # score onsets in a Piece are seconds at this tempo (datasets.corpus)
BPM_RANGE = (60.0, 140.0)
CHORD_TOLERANCE_S = 0.012  # score/MIDI onsets closer than this are one chord
SPREAD_MEDIAN_S = 0.015  # Repp 1996: chord asynchronies mostly within 10-20 ms
SPREAD_SIGMA = 0.5  # lognormal shape of a chord's spread
SPREAD_MAX_S = 0.045
MELODY_LEAD_S = (0.025, 0.008)  # Goebl 2001: melody lead ~20-30 ms (mean, sd)
CHORD_JITTER_S = 0.008
PEDAL_OFFSET_S = 0.06


@dataclass
class Performance:
    """One performance of a piece, in arrival order (the order the keyboard sends).

    time, end: key down / key up in seconds. pitch, velocity: as sent. part: the true part
    of each struck note (the score voice); alt_part: the other voice of a unison struck
    once (-1 if none); either is right. source: index of the note in the piece.
    pedal: (m, 2) array of (time, CC64 value). order: the arrival order used.
    """

    time: np.ndarray
    end: np.ndarray
    pitch: np.ndarray
    velocity: np.ndarray
    part: np.ndarray
    alt_part: np.ndarray
    source: np.ndarray
    pedal: np.ndarray
    order: str

    def __len__(self) -> int:
        return len(self.pitch)

    def notes(self) -> list[Note]:
        """The notes as an arranger receives them (no beat, release times known)."""
        return [
            Note(int(p), int(v), float(a), None, float(b))
            for p, v, a, b in zip(self.pitch, self.velocity, self.time, self.end, strict=True)
        ]

    def right(self, parts: Sequence[int] | np.ndarray) -> np.ndarray:
        """(n,) bool: each chosen part is the note's voice (either voice of a unison)."""
        parts = np.asarray(parts)
        return (parts == self.part) | ((self.alt_part >= 0) & (parts == self.alt_part))


def chord_ids(time: np.ndarray, tolerance: float = CHORD_TOLERANCE_S) -> np.ndarray:
    """Chord of each note (notes sorted by onset): onsets within ``tolerance`` of the
    chord's first onset share it."""
    n = len(time)
    gid = np.zeros(n, dtype=np.int64)
    start, g = (time[0] if n else 0.0), 0
    for i in range(1, n):
        if time[i] - start > tolerance:
            g, start = g + 1, time[i]
        gid[i] = g
    return gid


def tempo_warp(
    onsets: np.ndarray, rng: np.random.Generator, performed: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Performed times of the chord onsets ``onsets`` (seconds at the score tempo) and the
    per-chord tempo factor (performed seconds per score second)."""
    n = len(onsets)
    if performed:  # the data's own tempo, a little faster or slower
        base = float(rng.uniform(0.8, 1.25))
    else:
        base = SCORE_BPM / float(rng.uniform(*BPM_RANGE))
    beat_s = 60.0 / SCORE_BPM
    ioi = np.diff(onsets, append=onsets[-1] if n else 0.0)
    # rubato: a mean-reverting random walk of the log tempo, advanced per beat
    log_f = np.empty(n)
    x = 0.0
    lo, hi = np.log(SCORE_BPM / 160.0 / base), np.log(SCORE_BPM / 50.0 / base)
    for g in range(n):
        beats = max(ioi[g] / beat_s, 0.0)
        x = x * 0.97 ** max(beats, 0.25) + rng.normal(0.0, 0.035) * np.sqrt(max(beats, 0.25))
        if rng.random() < 0.012:  # a sudden change of tempo (a new section)
            x += float(rng.choice([-1.0, 1.0]) * rng.uniform(0.15, 0.35))
        x = min(max(x, lo), hi)  # stay within about 50-160 BPM
        log_f[g] = x
    factor = base * np.exp(log_f)
    # fermatas: a long chord (>= 1.5 beats) is held 1.5-3x longer, now and then
    hold = np.where((ioi >= 1.5 * beat_s) & (rng.random(n) < 0.12), rng.uniform(1.5, 3.0, n), 1.0)
    performed_ioi = ioi * factor * hold
    times = np.r_[0.0, np.cumsum(performed_ioi[:-1])] if n else np.zeros(0)
    return times + (onsets[0] * factor[0] if n else 0.0), factor * hold


def perform(piece, rng: np.random.Generator, order: str = "random") -> Performance:
    """One performance of ``piece`` (a ``datasets.corpus.Piece``) with arrival ``order``.

    The steps draw from ``rng`` in this order: tempo, unisons, chord onsets, releases,
    velocities, pedal (so a seed fixes the performance).
    """
    if order not in ORDERS:
        raise ValueError(f"unknown arrival order {order!r} (known: {', '.join(ORDERS)})")
    n = len(piece)
    empty = np.zeros(0)
    if n == 0:
        z = np.zeros(0, np.int64)
        return Performance(empty, empty, z, z, z, z, z, np.zeros((0, 2)), order)
    performed = bool(piece.has_velocity)
    gid = chord_ids(piece.time)
    first = np.r_[0, np.flatnonzero(np.diff(gid)) + 1]
    onsets = piece.time[first]
    g_time, g_factor = tempo_warp(onsets, rng, performed)
    n_groups = len(first)
    g_next = np.r_[g_time[1:], g_time[-1] + 1.0]
    idx, part, alt, score_end = strike_unisons(piece, gid, rng)
    # the struck notes of chord g: idx[bounds[g]:bounds[g + 1]] (idx is sorted by chord)
    bounds = np.searchsorted(gid[idx], np.arange(n_groups + 1))
    onset, chord_shift = chord_onsets(piece, idx, bounds, g_time, g_next, order, rng)
    end = releases(onsets, score_end, g_time, g_factor, onset, rng)
    velocity = velocities(piece, gid, idx, bounds, n_groups, rng)

    # arrival order, then: a key struck again must first come up
    order_idx = idx[np.lexsort((piece.pitch[idx], onset[idx]))]
    t, e = onset[order_idx], end[order_idx]
    t = np.maximum(t, 0.0)
    pitch = piece.pitch[order_idx]
    last_of_pitch: dict[int, int] = {}
    for k in range(len(order_idx)):
        p = int(pitch[k])
        j = last_of_pitch.get(p)
        if j is not None and e[j] > t[k] - 0.001:
            e[j] = max(t[k] - 0.001, t[j] + 0.001)
        last_of_pitch[p] = k
    e = np.maximum(e, t + 0.001)

    return Performance(
        time=t,
        end=e,
        pitch=pitch.astype(np.int64),
        velocity=velocity[order_idx],
        part=part[order_idx],
        alt_part=alt[order_idx],
        source=order_idx.astype(np.int64),
        pedal=sustain_pedal(onsets, g_time + chord_shift, float(e.max()), rng),
        order=order,
    )


def strike_unisons(
    piece, gid: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One pitch twice in one chord is struck once; the note keeps both voices.

    Returns (idx: the struck notes' indices into the piece, sorted; part: (n,) the voice
    each note is scored in, either voice of a unison drawn at random; alt: (n,) the other
    voice of a unison, -1 if none; score_end: (n,) the end of the longer of its notes).
    """
    n = len(piece)
    keep = np.ones(n, dtype=bool)
    alt = np.full(n, -1, dtype=np.int64)
    part = piece.part.copy()
    score_end = piece.end.copy()
    seen: dict[tuple[int, int], int] = {}
    for i in range(n):
        key = (int(gid[i]), int(piece.pitch[i]))
        if key in seen:
            j = seen[key]
            keep[i] = False
            if piece.part[i] != part[j]:
                alt[j] = piece.part[i]
                if rng.random() < 0.5:  # the struck note is labelled by either voice
                    part[j], alt[j] = alt[j], part[j]
            score_end[j] = max(score_end[j], piece.end[i])
        else:
            seen[key] = i
    return np.flatnonzero(keep), part, alt, score_end


def chord_onsets(
    piece,
    idx: np.ndarray,
    bounds: np.ndarray,
    g_time: np.ndarray,
    g_next: np.ndarray,
    order: str,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """The onsets of the struck notes ``idx``: each chord's performed time (``g_time``,
    the next chord's ``g_next``) plus its timing noise and its asynchrony in arrival
    ``order``. Returns (onset: (n,) seconds, 0 for notes not struck; chord_shift: the
    noise of each chord)."""
    n_groups = len(g_time)
    chord_shift = rng.normal(0.0, CHORD_JITTER_S, n_groups)
    spread = np.minimum(
        SPREAD_MEDIAN_S * np.exp(rng.normal(0.0, SPREAD_SIGMA, n_groups)), SPREAD_MAX_S
    )
    spread = np.minimum(spread, 0.4 * (g_next - g_time))
    lead = np.maximum(rng.normal(*MELODY_LEAD_S, n_groups), 0.0)
    lead = np.minimum(lead, 0.4 * (g_next - g_time))
    onset = np.zeros(len(piece))  # dropped unison notes keep 0 (never sent)
    for g in range(n_groups):
        members = idx[bounds[g] : bounds[g + 1]]
        m = len(members)
        if m == 1:
            onset[members] = g_time[g] + chord_shift[g]
            continue
        offsets = np.sort(rng.uniform(0.0, spread[g], m))
        offsets -= offsets[0]
        by_pitch = members[np.argsort(piece.pitch[members], kind="stable")]
        if order == "random":
            arrival = rng.permutation(members)
        elif order == "low-high":
            arrival = by_pitch
        else:  # melody first: the top note leads, the rest follow downwards
            arrival = by_pitch[::-1]
            offsets[1:] = lead[g] + offsets[1:] * 0.5
        onset[arrival] = g_time[g] + chord_shift[g] + offsets
    return onset, chord_shift


def releases(
    onsets: np.ndarray,
    score_end: np.ndarray,
    g_time: np.ndarray,
    g_factor: np.ndarray,
    onset: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Key-up times: the score end through the tempo map (the chords' score ``onsets``,
    performed times ``g_time`` and tempo factors), then legato (held 5-60 ms past) or
    detached (released after 50-90% of the value), the mix drawn per piece."""
    n_groups = len(onsets)
    n = len(score_end)
    g_of_end = np.clip(np.searchsorted(onsets, score_end, side="right") - 1, 0, n_groups - 1)
    end_perf = g_time[g_of_end] + (score_end - onsets[g_of_end]) * g_factor[g_of_end]
    legato_share = float(rng.uniform(0.3, 0.9))
    legato = rng.random(n) < legato_share
    end = np.where(
        legato,
        end_perf + rng.uniform(0.005, 0.06, n),
        onset + np.maximum(end_perf - onset, 0.02) * rng.uniform(0.5, 0.9, n),
    )
    return np.maximum(end, onset + 0.02)


def velocities(
    piece,
    gid: np.ndarray,
    idx: np.ndarray,
    bounds: np.ndarray,
    n_groups: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """(n,) int64 velocities 1-127: the data's own plus noise, or for scores a per-piece
    level with a slow drift that returns, the top note of a chord ~8 louder, noise."""
    n = len(piece)
    if piece.has_velocity:
        vel = piece.velocity.astype(np.float64) + rng.normal(0.0, 6.0, n)
    else:
        level = float(rng.uniform(50, 90))
        drift = np.cumsum(rng.normal(0.0, 1.5, n_groups))
        drift -= np.linspace(0, drift[-1], n_groups)  # a phrase arch that returns
        vel = level + drift[gid] + rng.normal(0.0, 6.0, n)
        top = np.zeros(n, dtype=bool)
        for g in range(n_groups):
            members = idx[bounds[g] : bounds[g + 1]]
            if len(members) > 1:
                top[members[np.argmax(piece.pitch[members])]] = True
        vel = vel + 8.0 * top
    return np.clip(np.round(vel), 1, 127).astype(np.int64)


def sustain_pedal(
    onsets: np.ndarray, chord_time: np.ndarray, last_end: float, rng: np.random.Generator
) -> np.ndarray:
    """In about half the pieces, pedal changes every one or two beats at chord onsets (up
    just before the chord's performed ``chord_time``, down ``PEDAL_OFFSET_S`` after it),
    released after ``last_end``; (m, 2) rows of (time, CC64 value)."""
    pedal_rows: list[tuple[float, int]] = []
    if rng.random() < 0.5:
        every = int(rng.integers(1, 3))
        beat_s = 60.0 / SCORE_BPM
        last_beat = -1e9
        for g in range(len(onsets)):
            if onsets[g] / beat_s - last_beat >= every - 1e-6:
                last_beat = onsets[g] / beat_s
                at = chord_time[g]
                if pedal_rows:
                    pedal_rows.append((max(at - 0.01, 0.0), 0))
                pedal_rows.append((at + PEDAL_OFFSET_S, 127))
        if pedal_rows:
            pedal_rows.append((last_end + 0.05, 0))
    return np.array(pedal_rows, dtype=np.float64).reshape(-1, 2)


def score_performance(piece) -> Performance:
    """The piece as the score gives it: exact onsets, chords low to high, every note."""
    n = len(piece)
    return Performance(
        time=piece.time.copy(),
        end=piece.end.copy(),
        pitch=piece.pitch.copy(),
        velocity=piece.velocity.copy(),
        part=piece.part.copy(),
        alt_part=np.full(n, -1, dtype=np.int64),
        source=np.arange(n, dtype=np.int64),
        pedal=np.zeros((0, 2)),
        order="score",
    )


def keyboard_events(perf: Performance, channel: int = 0) -> list[tuple[float, list[int]]]:
    """The performance as raw MIDI messages in time order: note-ons, note-offs, CC64."""
    ev: list[tuple[float, int, list[int]]] = []
    for t, e, p, v in zip(perf.time, perf.end, perf.pitch, perf.velocity, strict=True):
        ev.append((float(t), 1, [0x90 | channel, int(p), int(v)]))
        ev.append((float(e), 0, [0x80 | channel, int(p), 0]))
    for t, value in perf.pedal:
        ev.append((float(t), 2, [0xB0 | channel, 64, int(value)]))
    ev.sort(key=lambda x: (x[0], x[1]))  # at one instant: note-offs before note-ons
    return [(t, data) for t, _, data in ev]
