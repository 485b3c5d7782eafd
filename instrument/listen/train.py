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


def song_frames(audio: np.ndarray, sr: int, chords: list[tuple[float, float, str]],
                every: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
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
    model = ChordModel(w_t.detach().numpy().copy(), w_b.detach().numpy().copy(),
                       bias[:2].detach().numpy().copy(), float(bias[2].detach()), 1.0)  # fmt: skip
    model.train_frame_accuracy = acc  # type: ignore[attr-defined]
    return model
