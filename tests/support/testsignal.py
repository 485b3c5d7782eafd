"""A band-like test signal with known beats, bars and chords, made with numpy alone.

Piano-like tones (decaying harmonics): a bass note on beats 1 and 3, the chord's triad
on every beat (louder on the downbeat), a softer off-beat eighth, one chord per bar. Used
by the tests and the benchmark when no rendered song is at hand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PROGRESSION = (("C:maj", 48, (60, 64, 67)), ("A:min", 45, (57, 60, 64)),
               ("F:maj", 41, (57, 60, 65)), ("G:maj", 43, (59, 62, 67)))  # fmt: skip


@dataclass
class TestSong:
    """audio: float32 (frames,); beats, downbeats: s; chords: [(start, end, label)]."""

    audio: np.ndarray
    sample_rate: int
    bpm: float
    beats: np.ndarray
    downbeats: np.ndarray
    chords: list[tuple[float, float, str]]


def _tone(pitch: int, dur: float, sr: int, amp: float) -> np.ndarray:
    t = np.arange(int(dur * sr)) / sr
    f0 = 440.0 * 2 ** ((pitch - 69) / 12)
    env = np.exp(-t * 3.0) * np.minimum(t / 0.005, 1.0)
    x = sum(np.sin(2 * np.pi * f0 * h * t) / h**1.5 for h in range(1, 6) if f0 * h < sr / 2)
    return (amp * env * x).astype(np.float32)


def make_song(
    bpm: float = 100.0, bars: int = 12, sample_rate: int = 44100, seed: int = 0, meter: str = "4/4"
) -> TestSong:
    """``bars`` bars at ``bpm`` (beats: quarters, or dotted quarters in 6/8), starting
    with a downbeat at 0.5 s. meter: "4/4", "3/4" or "6/8"."""
    rng = np.random.default_rng(seed)
    period = 60.0 / bpm
    start = 0.5
    per_bar = {"4/4": 4, "3/4": 3, "6/8": 2}[meter]
    n_beats = per_bar * bars
    total = start + n_beats * period + 1.0
    audio = np.zeros(int(total * sample_rate) + sample_rate, np.float32)
    beats = start + period * np.arange(n_beats)
    chords = []

    def add(x: np.ndarray, t: float) -> None:
        i = int(round(t * sample_rate))
        audio[i : i + len(x)] += x[: len(audio) - i]

    for b, t in enumerate(beats):
        label, bass, triad = PROGRESSION[(b // per_bar) % len(PROGRESSION)]
        pos = b % per_bar
        if pos == 0:
            chords.append((t, t + per_bar * period, label))
        accent = 1.0 if pos == 0 else 0.6
        if pos == 0 or (per_bar == 4 and pos == 2):
            add(_tone(bass, 2 * period, sample_rate, 0.35 * accent), t)
        for p in triad:
            add(_tone(p, period, sample_rate, 0.12 * accent * rng.uniform(0.8, 1.0)), t)
        subs = (1 / 3, 2 / 3) if meter == "6/8" else (1 / 2,)
        for f in subs:
            add(_tone(triad[-1] + 12, period * f, sample_rate, 0.06), t + period * f)
    audio = np.clip(audio[: int(total * sample_rate)], -1.0, 1.0)
    return TestSong(audio, sample_rate, bpm, beats, beats[::per_bar], chords)
