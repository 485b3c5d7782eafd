"""Fitting the listener's chord model on rendered POP909 training songs.

The model is ``chord.ChordModel``: for each quality (major, minor) 12 weights on the
root-relative treble chroma, 12 on the bass chroma and a bias, plus a no-chord bias
(51 numbers). It is a softmax regression over the 25 classes, fitted by full-batch
L-BFGS on the causal frame features the listener itself computes, so training and use
see the same input. Labels are reduced to major/minor as mir_eval's majmin does; chords
with neither a major nor a minor third (sus, power chords) are left out of the fit.
"""

from __future__ import annotations

import numpy as np

from instrument.listen.chord import ChordModel


def chord_class(label: str) -> int:
    """0 for N, 1..12 major on C..B, 13..24 minor; -1 for chords that are neither."""
    import mir_eval

    if label in ("N", "X"):
        return 0
    try:
        root, bitmap, _ = mir_eval.chord.encode(label)
    except mir_eval.chord.InvalidChordException:
        return -1
    if bitmap[4] and not bitmap[3]:
        return 1 + root
    if bitmap[3] and not bitmap[4]:
        return 13 + root
    return -1


def song_frames(
    audio: np.ndarray, sr: int, chords: list[tuple[float, float, str]], every: int = 4
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Causal (treble, bass) chroma of every ``every``-th frame, with the chord class then."""
    from instrument.listen.features import FrameFeatures

    ff = FrameFeatures(sr)
    parts = [ff.process(audio[i : i + 8192]) for i in range(0, len(audio), 8192)]
    t = np.concatenate([p.time for p in parts])[::every]
    c = np.concatenate([p.chroma for p in parts])[::every]
    b = np.concatenate([p.bass_chroma for p in parts])[::every]
    y = np.full(len(t), -1)
    for s, e, lab in chords:
        y[(t >= s) & (t < e)] = chord_class(lab)
    keep = (y >= 0) & (c.sum(axis=1) > 0.5)
    return c[keep], b[keep], y[keep]


def fit(chroma: np.ndarray, bass: np.ndarray, y: np.ndarray, l2: float = 1e-6) -> ChordModel:
    """Softmax regression with weights shared across roots; returns the fitted model."""
    import torch

    torch.set_num_threads(2)
    x = torch.tensor(np.hstack([chroma, bass]), dtype=torch.float64)
    target = torch.tensor(y)
    # Every root's view of the chroma: rolled so that the root is at index 0.
    idx = (np.arange(12)[None, :] + np.arange(12)[:, None]) % 12  # [r, k] = (k + r) % 12
    xt = x[:, :12][:, idx]  # (n, 12 roots, 12)
    xb = x[:, 12:][:, idx]
    w_t = torch.zeros(2, 12, dtype=torch.float64, requires_grad=True)
    w_b = torch.zeros(2, 12, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(3, dtype=torch.float64, requires_grad=True)  # maj, min, N
    params = [w_t, w_b, bias]
    opt = torch.optim.LBFGS(
        params,
        max_iter=2000,
        tolerance_grad=1e-9,
        tolerance_change=1e-12,
        history_size=50,
        line_search_fn="strong_wolfe",
    )

    def logits():
        s = torch.einsum("nrk,qk->nqr", xt, w_t) + torch.einsum("nrk,qk->nqr", xb, w_b)
        s = s + bias[:2, None]
        return torch.cat([bias[2].expand(len(x), 1), s.reshape(len(x), 24)], dim=1)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits(), target)
        loss = loss + l2 * (w_t.square().sum() + w_b.square().sum())
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        acc = float((logits().argmax(dim=1) == target).double().mean())
    # ChordModel scores are (chroma . weights); its frames use "no_chord" directly.
    model = ChordModel(
        w_t.detach().numpy().copy(),
        w_b.detach().numpy().copy(),
        bias[:2].detach().numpy().copy(),
        float(bias[2].detach()),
        1.0,
    )
    model.train_frame_accuracy = acc  # type: ignore[attr-defined]
    return model


# The HMM sees the frame log-probabilities tempered by this factor: frames overlap
# (a 186 ms window every 10 ms), so each is far from independent evidence. Chosen on
# the valid split (majmin WCSR 0.845 at 1.0, 0.851 at 0.5, 0.854 at 0.25 on 8 songs;
# on all 91 with the full listener 0.7841 at 0.15, 0.7829 at 0.25, 0.7808 at 0.4).
HMM_SCALE = 0.15


def split_frames(split: str, songs: int, start: float, duration: float, log=print):
    """(treble chroma, bass chroma, classes) of the first ``songs`` renders of a POP909
    split, all frames concatenated; each excerpt ``duration`` s from ``start`` (earlier
    when the song is shorter), rendered (cached) with FluidR3_GM or TimGM6mb."""
    from instrument.datasets import pop909
    from instrument.datasets.splits import split_ids
    from instrument.listen.renders import cached_excerpt
    from instrument.synth import list_soundfonts

    sfs = [p for p in list_soundfonts() if p.name in ("FluidR3_GM.sf2", "TimGM6mb.sf2")]
    cs, bs, ys = [], [], []
    for sid in split_ids("pop909", split)[:songs]:
        song = pop909.load_song(pop909.song_dir(sid))
        s = max(0.0, min(start, float(song.beats[-1]) - duration))
        audio, sr, _ = cached_excerpt(sid, song.midi_path, s, duration, sfs)
        chords = [(a - s, b - s, lab) for a, b, lab in song.chords]
        c, b, y = song_frames(audio, sr, chords)
        cs.append(c), bs.append(b), ys.append(y)
        log(f"{split} {sid}: {len(y)} frames")
    return np.concatenate(cs), np.concatenate(bs), np.concatenate(ys)


def train_chord_model(
    out, songs: int = 60, start: float = 30.0, duration: float = 60.0, log=print
) -> tuple[ChordModel, float]:
    """Fit the chord model on ``songs`` POP909 train renders, check it on a quarter as many
    valid ones (at least 10), write it with its model card to ``out``.

    Returns (the model, its valid frame accuracy).
    """
    from instrument.datasets.splits import split_hash

    train = split_frames("train", songs, start, duration, log)
    c, b, y = split_frames("valid", max(10, songs // 4), start, duration, log)
    model = fit(*train)
    model.scale = HMM_SCALE
    valid_acc = float((model.scores(c, b).argmax(axis=1) == y).mean())
    model.save(
        out,
        model_card={
            "what": "chord model of the causal listener (instrument/listen/chord.py): softmax "
            "regression on root-relative treble and bass chroma, weights shared by the "
            "12 roots; 25 classes (N + 24 major/minor triads)",
            "data": f"POP909 train split, first {songs} songs (configs/splits/pop909.json, "
            f"hash {split_hash('pop909')}), {duration:g} s excerpts from "
            f"{start:g} s rendered with FluidSynth under varied SoundFont, gain, "
            "noise and reverb (instrument/listen/renders.py)",
            "frames": {"train": int(len(train[2])), "valid": int(len(y))},
            "metrics": {
                "train_frame_accuracy": round(model.train_frame_accuracy, 4),
                "valid_frame_accuracy": round(valid_acc, 4),
            },
            "hmm_scale": "frame log-probabilities are multiplied by scale=0.15 before the chord "
            "HMM (chosen on POP909 valid songs: majmin WCSR 0.7841 at 0.15, 0.7829 "
            "at 0.25, 0.7808 at 0.4 on all 91 with the full listener)",
            "command": f"instrument train listen --songs {songs}",
            "date": "2026-11-22",
        },
    )
    return model, valid_acc
