"""Causal downbeat and meter: which beat is the one, and how many beats to a bar.

Each beat, once it is over, gives a few cues of "a bar starts here" (all from audio up
to its end): did the chord label change from the last beat, how far the treble and the
bass chroma moved, how hard the bass and the whole band struck at its start. A weighted
sum of the cues is the log-likelihood ratio that the beat is a downbeat.

Downbeat phase: for each meter (3 or 4 beats to the bar) a forward filter over "which
residue of the beat count is the downbeat" (an HMM whose state may jump to any other
residue with a small probability each beat, so a beat the tracker inserted or dropped
is recovered from in a few bars, not after the whole history has decayed). The next
beat's place in the bar is therefore predicted from the beats before it.

Meter: a leaky count of chord changes per residue; the meter whose best residue stands
out most wins, 4 unless 3 clearly does better.
"""

from __future__ import annotations

import numpy as np

METERS = (3, 4)
SUBDIVISIONS = (1 / 3, 1 / 2, 2 / 3)  # places in the beat where eighths or triplets fall
# Cue order: label change, treble chroma change, bass chroma change, bass hit, accent.
N_CUES = 5
# Log-likelihood-ratio weights of the cues and the intercept. On the tracked beats of
# all 91 POP909 valid songs the cues average, at bar positions 1/2/3/4: label change
# 0.83/0.30/0.50/0.24, treble change 0.10/0.04/0.07/0.04, bass change 0.12/0.04/0.07/0.03,
# bass hit 0.78/0.61/0.67/0.59, accent 0.76/0.66/0.66/0.63. Chosen on the valid split:
# downbeat F 0.576, against 0.571 at half and 0.565 at a quarter of these weights, 0.567
# with the accent weighted too, and 0.553 for a logistic fit on 40 train songs (whose
# weights are overconfident: the cues of neighbouring beats are not independent).
CUE_WEIGHTS = np.array([2.0, 2.0, 1.0, 1.0, 0.0])
CUE_BIAS = -3.0


class MeterTracker:
    """Beats and frame features in; each beat's position in the bar out.

    decay: per-beat weight of old evidence in the meter decision (0.97: ~8 bars).
    three_bias: how much more a 3-beat meter must stand out to be chosen over 4.
    compound_ratio: how much stronger onsets at the thirds of the beat must be than at
    its half for compound time (6/8: two dotted-quarter beats to the bar).
    switch: per-beat probability that the downbeat residue jumps (a tracker slip).
    cue_weights, cue_bias: the downbeat log-likelihood ratio, (N_CUES,) weights and a
    scalar intercept (nats).
    """

    def __init__(
        self,
        decay: float = 0.97,
        three_bias: float = 2.5,
        onset_delay: float = 0.023,
        compound_ratio: float = 1.5,
        switch: float = 0.02,
        cue_weights: np.ndarray | None = None,
        cue_bias: float | None = None,
    ):
        self.decay = decay
        self.onset_delay = onset_delay
        self.compound_ratio = compound_ratio
        self.three_bias = three_bias
        self.switch = switch
        self.cue_weights = CUE_WEIGHTS if cue_weights is None else np.asarray(cue_weights)
        self.cue_bias = CUE_BIAS if cue_bias is None else float(cue_bias)
        self.on_cues = None  # optional hook(beat_start_time, cues) for fitting the weights
        self.reset()

    def reset(self) -> None:
        self._scores = {m: np.zeros(m) for m in METERS}
        self._phase = {m: np.full(m, 1.0 / m) for m in METERS}
        self._seg_chroma = np.zeros(24)
        self._prev_chord = -1
        self._seg_last_chord = -1
        self._seg_frames = 0
        self._seg_bass_hit = 0.0
        self._seg_hit = 0.0
        self._seg_start = -np.inf
        self._prev_chroma: np.ndarray | None = None
        self._bass_level = 1e-3
        self._hit_level = 1e-3
        self._n_beats = 0  # beats closed so far
        self.beats_per_bar = 4
        self.position = -1  # position in the bar (0 = downbeat) of the latest beat
        self.compound = False
        self._seg_sub = np.zeros(3)
        self._seg_period = 0.5
        self._sub = np.zeros(3)

    def add_frames(
        self,
        time: np.ndarray,
        chroma: np.ndarray,
        bass: np.ndarray,
        bass_onset: np.ndarray,
        chords: np.ndarray,
        onset: np.ndarray | None = None,
    ) -> None:
        """Accumulate the frames of the beat in progress.

        time: (n,) frame ends, s; chroma, bass: (n, 12); bass_onset, onset: (n,) novelty;
        chords: (n,) chord index per frame (0 = N).
        """
        if len(time) == 0 or not np.isfinite(self._seg_start):
            return
        self._seg_chroma[:12] += chroma.sum(axis=0)
        self._seg_chroma[12:] += bass.sum(axis=0)
        self._seg_frames += len(time)
        self._seg_last_chord = int(chords[-1])
        # The hits of this beat: the strongest novelty in its first 100 ms (the novelty
        # lags the sound by half a window).
        early = time - self._seg_start < 0.1
        if early.any():
            self._seg_bass_hit = max(self._seg_bass_hit, float(bass_onset[early].max()))
            if onset is not None:
                self._seg_hit = max(self._seg_hit, float(onset[early].max()))
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
        self._seg_frames = 0
        self._seg_bass_hit = 0.0
        self._seg_hit = 0.0
        self._seg_sub[:] = 0.0
        self._seg_period = max(period, 0.1)
        # Beat n (counting closed ones) sits at residue n % m; the downbeat residue is the
        # most probable one. Compound time (6/8) counts two dotted-quarter beats to the
        # bar, placed like the first and third beat of a four-beat bar.
        m = 4 if self.compound else self.beats_per_bar
        down = int(np.argmax(self._phase[m]))
        self.position = (self._n_beats - down) % self.beats_per_bar
        return self.position

    def _cues(self) -> np.ndarray:
        """(N_CUES,) downbeat cues of the beat just closed, each about 0..1."""
        c = self._seg_chroma / self._seg_frames
        p = self._prev_chroma
        self._prev_chroma = c
        treble = _cos_distance(c[:12], p[:12]) if p is not None else 0.0
        bass = _cos_distance(c[12:], p[12:]) if p is not None else 0.0
        # The chord at the end of this beat, against the last beat's: a change of label is
        # a cleaner cue than the raw chroma distance (melody notes move that). The end,
        # not the chord held longest: the chord filter names a new chord 0.1-0.3 s late,
        # which in a fast song would put the change on the beat after (valid downbeat F
        # 0.574 against 0.564).
        chord = self._seg_last_chord
        label_change = float(chord != self._prev_chord and self._prev_chord >= 0)
        self._prev_chord = chord
        # Hits relative to a slow running level, so loud and soft songs read the same.
        self._bass_level = max(0.98 * self._bass_level + 0.02 * self._seg_bass_hit, 1e-3)
        self._hit_level = max(0.98 * self._hit_level + 0.02 * self._seg_hit, 1e-3)
        bass_hit = min(self._seg_bass_hit / self._bass_level, 3.0) / 3.0
        hit = min(self._seg_hit / self._hit_level, 3.0) / 3.0
        return np.array([label_change, treble, bass, bass_hit, hit])

    def _close(self) -> None:
        cues = self._cues()
        if self.on_cues is not None:
            self.on_cues(self._seg_start, cues)
        llr = float(self.cue_weights @ cues + self.cue_bias)
        # The meter decision counts chord changes per residue (a ratio of positive
        # sums): the label change is the cue least tied to the bar's inner accents.
        evidence = cues[0]
        for m in METERS:
            s = self._scores[m]
            s *= self.decay
            s[self._n_beats % m] += evidence
            a = (1.0 - self.switch) * self._phase[m] + self.switch / m
            a[self._n_beats % m] *= np.exp(min(llr, 30.0))
            self._phase[m] = a / a.sum()
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


def _cos_distance(a: np.ndarray, b: np.ndarray) -> float:
    """1 - cosine similarity of two chroma vectors (0 when either is silent)."""
    denom = float(np.linalg.norm(a) * np.linalg.norm(b))
    return 1.0 - float(a @ b) / denom if denom > 0 else 0.0
