"""Causal downbeat and meter: which beat is the one, and how many beats to a bar.

Each beat gets a piece of downbeat evidence once it is over: how much the harmony
changed from the previous beat (chroma distance) and how strongly the bass struck at its
start. For every candidate meter (3 or 4 beats) and every position in the bar, a leaky
average of that evidence is kept; the position with the most evidence is the downbeat
and the meter whose best position stands out most is the meter. The next beat's place
in the bar is therefore predicted from the beats before it.
"""

from __future__ import annotations

import numpy as np

METERS = (3, 4)
SUBDIVISIONS = (1 / 3, 1 / 2, 2 / 3)  # places in the beat where eighths or triplets fall


class MeterTracker:
    """Beats and frame features in; each beat's position in the bar out.

    decay: per-beat weight of old evidence (0.95: about five bars of memory).
    three_bias: how much more a 3-beat meter must stand out to be chosen over 4.
    compound_ratio: how much stronger onsets at the thirds of the beat must be than at
    its half for compound time (6/8: two dotted-quarter beats to the bar).
    """

    def __init__(self, decay: float = 0.95, three_bias: float = 1.5,
                 bass_weight: float = 0.5, onset_delay: float = 0.023,
                 compound_ratio: float = 1.5, chroma_weight: float = 1.0):  # fmt: skip
        self.decay = decay
        self.chroma_weight = chroma_weight
        self.onset_delay = onset_delay
        self.compound_ratio = compound_ratio
        self.three_bias = three_bias
        self.bass_weight = bass_weight
        self.reset()

    def reset(self) -> None:
        self._scores = {m: np.zeros(m) for m in METERS}
        self._seg_chroma = np.zeros(24)
        self._seg_chords = np.zeros(25)
        self._prev_chord = -1
        self._seg_frames = 0
        self._seg_bass_hit = 0.0
        self._seg_start = -np.inf
        self._prev_chroma: np.ndarray | None = None
        self._bass_level = 1e-3
        self._n_beats = 0  # beats closed so far
        self.beats_per_bar = 4
        self.position = -1  # position in the bar (0 = downbeat) of the latest beat
        self.compound = False
        self._seg_sub = np.zeros(3)
        self._seg_period = 0.5
        self._sub = np.zeros(3)

    def add_frames(self, time: np.ndarray, chroma: np.ndarray, bass: np.ndarray,
                   bass_onset: np.ndarray, chords: np.ndarray,
                   onset: np.ndarray | None = None) -> None:  # fmt: skip
        """Accumulate the frames of the beat in progress."""
        if len(time) == 0 or not np.isfinite(self._seg_start):
            return
        self._seg_chroma[:12] += chroma.sum(axis=0)
        self._seg_chroma[12:] += bass.sum(axis=0)
        self._seg_frames += len(time)
        self._seg_chords += np.bincount(chords, minlength=25)[:25]
        # The bass hit of this beat: the strongest bass novelty in its first 100 ms
        # (the novelty lags the sound by half a window).
        early = time - self._seg_start < 0.1
        if early.any():
            self._seg_bass_hit = max(self._seg_bass_hit, float(bass_onset[early].max()))
        if onset is not None:
            # Onsets at a third, a half and two thirds of the beat: triplet or duple feel.
            rel = (time - self.onset_delay - self._seg_start) / self._seg_period
            for i, f in enumerate(SUBDIVISIONS):
                near = np.abs(rel - f) < 0.06
                if near.any():
                    self._seg_sub[i] = max(self._seg_sub[i], float(onset[near].max()))

    def on_beat(self, time: float, period: float = 0.5) -> int:
        """Close the beat in progress, start a new one at ``time`` lasting about ``period``
        seconds; returns its position in the bar."""
        if np.isfinite(self._seg_start) and self._seg_frames:
            self._close()
        self._seg_start = time
        self._seg_chroma[:] = 0.0
        self._seg_chords[:] = 0.0
        self._seg_frames = 0
        self._seg_bass_hit = 0.0
        self._seg_sub[:] = 0.0
        self._seg_period = max(period, 0.1)
        # Beat n (counting closed ones) sits at residue n % m; the downbeat residue is the
        # best-scoring one. Compound time (6/8) counts two dotted-quarter beats to the
        # bar, placed like the first and third beat of a four-beat bar.
        m = 4 if self.compound else self.beats_per_bar
        down = int(np.argmax(self._scores[m]))
        self.position = (self._n_beats - down) % self.beats_per_bar
        return self.position

    def _close(self) -> None:
        c = self._seg_chroma / self._seg_frames
        if self._prev_chroma is None or c.sum() < 1e-6:
            change = 0.0
        else:
            p = self._prev_chroma
            denom = np.linalg.norm(c) * np.linalg.norm(p)
            change = 1.0 - float(c @ p / denom) if denom > 0 else 0.0
        self._prev_chroma = c
        # The chord that held most of this beat, against the last beat's: a change of
        # chord label is a cleaner cue than the raw chroma distance (melody notes move it).
        chord = int(np.argmax(self._seg_chords))
        label_change = float(chord != self._prev_chord and self._prev_chord >= 0)
        self._prev_chord = chord
        self._bass_level = max(0.98 * self._bass_level + 0.02 * self._seg_bass_hit, 1e-3)
        bass = min(self._seg_bass_hit / self._bass_level, 3.0) / 3.0
        evidence = self.chroma_weight * change + label_change + self.bass_weight * bass
        for m in METERS:
            s = self._scores[m]
            s *= self.decay
            s[self._n_beats % m] += evidence
        self._n_beats += 1
        contrast = {}
        for m in METERS:
            s = self._scores[m]
            contrast[m] = (s.max() - s.mean()) / (s.mean() + 1e-9)
        self._sub = self.decay * self._sub + self._seg_sub
        third = 0.5 * (self._sub[0] + self._sub[2])
        self.compound = self._n_beats >= 8 and third > self.compound_ratio * self._sub[1]
        if self.compound:
            self.beats_per_bar = 2
        else:
            self.beats_per_bar = 3 if contrast[3] > self.three_bias * contrast[4] else 4

    @property
    def label(self) -> str:
        """The time signature as heard: 4/4, 3/4 or 6/8."""
        return "6/8" if self.compound else f"{self.beats_per_bar}/4"
