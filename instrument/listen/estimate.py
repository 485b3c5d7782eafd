"""What a beat/chord system found on one excerpt, and what its annotations say.

Shared by the scoring (``listen/evaluate.py``) and the offline baselines
(``listen/baselines.py``), so neither imports the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Reference:
    """Annotations of one excerpt, times from its start. chords: (n, 2) intervals, labels."""

    beats: np.ndarray
    downbeats: np.ndarray
    chord_intervals: np.ndarray
    chord_labels: list[str]
    duration: float
    bpm: float


@dataclass
class Estimate:
    """What a system found: beat times, downbeat times, final tempo, chord spans."""

    beats: np.ndarray
    downbeats: np.ndarray
    bpm: float
    chord_intervals: np.ndarray
    chord_labels: list[str]
    extra: dict = field(default_factory=dict)


def chord_spans(changes: list[tuple[float, str]], duration: float):
    """Chord changes -> (intervals, labels) covering [0, duration); N before the first.

    changes: (time s, label) in time order. Returns ((n, 2) array of [start, end) s,
    n labels); empty spans are dropped.
    """
    times = [0.0] + [t for t, _ in changes] + [duration]
    labels = ["N"] + [c for _, c in changes]
    iv = np.array([[times[i], times[i + 1]] for i in range(len(labels))])
    ok = iv[:, 1] > iv[:, 0]
    return iv[ok], [lab for lab, k in zip(labels, ok, strict=True) if k]
