"""The offline baselines anyone has, from librosa: they see the whole recording at once.

Beats: ``librosa.beat.beat_track`` (dynamic programming over the onset envelope).
Downbeats: librosa has none; every fourth of its beats, starting at the one of four
phases where the beat-synchronous chroma changes most (the same cue the listener uses,
but chosen with hindsight over the whole excerpt). Chords: ``chroma_cqt``, cosine
against 24 triad templates and a flat no-chord template, softmax, Viterbi smoothing with
``librosa.sequence.viterbi_discriminative`` (the chord example of librosa's gallery).
"""

from __future__ import annotations

import numpy as np

from instrument.listen.chord import CHORD_LABELS
from instrument.listen.evaluate import Estimate, _spans

SR = 22050
HOP = 512


def _templates() -> np.ndarray:
    t = np.zeros((25, 12))
    t[0] = 1.0  # N: flat
    for r in range(12):
        t[1 + r, [r, (r + 4) % 12, (r + 7) % 12]] = 1.0
        t[13 + r, [r, (r + 3) % 12, (r + 7) % 12]] = 1.0
    return t / np.linalg.norm(t, axis=1, keepdims=True)


def librosa_baseline(audio: np.ndarray, sr: int) -> Estimate:
    """Offline beats, downbeats, tempo and chords of a (frames, channels) recording."""
    import librosa

    y = np.asarray(audio, np.float32)
    y = y.mean(axis=1) if y.ndim == 2 else y
    y = librosa.resample(np.nan_to_num(y), orig_sr=sr, target_sr=SR) if sr != SR else y
    tempo, beat_frames = librosa.beat.beat_track(y=y, sr=SR, hop_length=HOP)
    beats = librosa.frames_to_time(beat_frames, sr=SR, hop_length=HOP)

    chroma = librosa.feature.chroma_cqt(y=y, sr=SR, hop_length=HOP)  # (12, n)
    norm = chroma / (np.linalg.norm(chroma, axis=0, keepdims=True) + 1e-9)
    sim = _templates() @ norm  # (25, n) cosine
    prob = np.exp(20.0 * (sim - sim.max(axis=0, keepdims=True)))
    prob /= prob.sum(axis=0, keepdims=True)
    path = librosa.sequence.viterbi_discriminative(prob, librosa.sequence.transition_loop(25, 0.95))
    times = librosa.frames_to_time(np.arange(len(path)), sr=SR, hop_length=HOP)
    changes = [(float(times[i]), CHORD_LABELS[path[i]])
               for i in range(len(path)) if i == 0 or path[i] != path[i - 1]]  # fmt: skip
    if changes and changes[0][0] == 0.0:
        changes[0] = (1e-6, changes[0][1])
    iv, labels = _spans(changes, len(y) / SR)

    downbeats = np.zeros(0)
    if len(beat_frames) > 4:
        sync = librosa.util.sync(chroma, beat_frames, aggregate=np.mean)
        sync = sync / (np.linalg.norm(sync, axis=0, keepdims=True) + 1e-9)
        change = np.r_[0.0, 1.0 - (sync[:, 1:] * sync[:, :-1]).sum(axis=0)]
        # sync's column j covers beat j-1..j (column 0 is before the first beat).
        change_at_beat = change[1 : len(beats) + 1]
        phase = int(np.argmax([change_at_beat[p::4].mean() for p in range(4)]))
        downbeats = beats[phase::4]
    return Estimate(beats, downbeats, float(np.atleast_1d(tempo)[0]), iv, labels)
