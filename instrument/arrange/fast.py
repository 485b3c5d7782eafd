"""The online LSTM step without torch: numba kernels built from the trained weights.

Live, one note costs one LSTM step with carried state. Two things make it cheap:
the pitch embedding times the first layer's input weights is folded into a (128, 4H)
table (one row per pitch, biases included), and each deeper layer does one matrix-vector
product over ``[h_below, h_own]``. Everything runs in one compiled call that allocates
nothing; the buffers live in ``FastLSTM``.

Gate order follows torch.nn.LSTM: input, forget, cell, output.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from instrument.arrange import features as F


class FastLSTM:
    """Weights of a trained ``OnlineLSTM`` as float32 numpy arrays, plus the live state.

    table: (128, 4H) embedding x W_ih (pitch columns) + both biases of layer 0.
    wx: (4H, n_features). whh0: (4H, H). wcat: (L-1, 4H, 2H), bcat: (L-1, 4H).
    wout: (P, H), bout: (P,). h, c: (L, H).
    """

    def __init__(self, weights: dict[str, np.ndarray], n_parts: int, n_features: int):
        f32 = np.float32
        emb = weights["embed.weight"].astype(np.float64)  # (128, E)
        e = emb.shape[1]
        w0 = weights["lstm.weight_ih_l0"].astype(np.float64)
        b0 = weights["lstm.bias_ih_l0"] + weights["lstm.bias_hh_l0"]
        self.table = np.ascontiguousarray((emb @ w0[:, :e].T + b0).astype(f32))
        self.wx = np.ascontiguousarray(w0[:, e:].astype(f32))
        self.whh0 = np.ascontiguousarray(weights["lstm.weight_hh_l0"].astype(f32))
        hidden = self.whh0.shape[1]
        layers = 1
        while f"lstm.weight_ih_l{layers}" in weights:
            layers += 1
        self.wcat = np.zeros((max(layers - 1, 1), 4 * hidden, 2 * hidden), f32)
        self.bcat = np.zeros((max(layers - 1, 1), 4 * hidden), f32)
        for k in range(1, layers):
            self.wcat[k - 1, :, :hidden] = weights[f"lstm.weight_ih_l{k}"]
            self.wcat[k - 1, :, hidden:] = weights[f"lstm.weight_hh_l{k}"]
            self.bcat[k - 1] = weights[f"lstm.bias_ih_l{k}"] + weights[f"lstm.bias_hh_l{k}"]
        self.wout = np.ascontiguousarray(weights["out.weight"].astype(f32))
        self.bout = np.ascontiguousarray(weights["out.bias"].astype(f32))
        if self.wout.shape[0] != n_parts or self.wx.shape[1] != n_features:
            raise ValueError("weights do not match the ensemble's parts or the features")
        self.layers, self.hidden, self.n_parts = layers, hidden, n_parts
        self.h = np.zeros((layers, hidden), f32)
        self.c = np.zeros((layers, hidden), f32)
        self.buf = np.zeros(2 * hidden, f32)
        self.gates = np.zeros(4 * hidden, f32)
        self.logits = np.zeros(n_parts, f32)
        self.x = np.zeros(n_features, f32)

    def reset(self) -> None:
        self.h[:] = 0.0
        self.c[:] = 0.0

    def step(self, pitch: int) -> np.ndarray:
        """One step on ``self.x`` (the note's features, filled by the caller); the logits."""
        lstm_step(
            pitch,
            self.x,
            self.table,
            self.wx,
            self.whh0,
            self.wcat,
            self.bcat,
            self.wout,
            self.bout,
            self.h,
            self.c,
            self.buf,
            self.gates,
            self.logits,
        )
        return self.logits

    def args(self) -> tuple:
        return (self.table, self.wx, self.whh0, self.wcat, self.bcat, self.wout, self.bout)


@njit(cache=True, fastmath=True, inline="always")
def _sigmoid(x):
    return np.float32(1.0) / (np.float32(1.0) + np.exp(-x))


@njit(cache=True, fastmath=True, inline="always")
def _cell(gates, h, c, hidden):
    for j in range(hidden):
        i = _sigmoid(gates[j])
        f = _sigmoid(gates[hidden + j])
        g = np.tanh(gates[2 * hidden + j])
        o = _sigmoid(gates[3 * hidden + j])
        cj = f * c[j] + i * g
        c[j] = cj
        h[j] = o * np.tanh(cj)


@njit(cache=True, fastmath=True)
def lstm_step(pitch, x, table, wx, whh0, wcat, bcat, wout, bout, h, c, buf, gates, logits):
    """One LSTM step in place: h, c (L, H) advance; logits (P,) written."""
    layers, hidden = h.shape
    nf = x.shape[0]
    for j in range(4 * hidden):
        acc = table[pitch, j]
        for i in range(nf):
            acc += wx[j, i] * x[i]
        for i in range(hidden):
            acc += whh0[j, i] * h[0, i]
        gates[j] = acc
    _cell(gates, h[0], c[0], hidden)
    for layer in range(1, layers):
        for i in range(hidden):
            buf[i] = h[layer - 1, i]
            buf[hidden + i] = h[layer, i]
        w = wcat[layer - 1]
        b = bcat[layer - 1]
        for j in range(4 * hidden):
            acc = b[j]
            for i in range(2 * hidden):
                acc += w[j, i] * buf[i]
            gates[j] = acc
        _cell(gates, h[layer], c[layer], hidden)
    for p in range(logits.shape[0]):
        acc = bout[p]
        for i in range(hidden):
            acc += wout[p, i] * h[layers - 1, i]
        logits[p] = acc


@njit(cache=True)
def free_run(
    pitch,
    time,
    end,
    velocity,
    n_parts,
    use_velocity,
    layers,
    table,
    wx,
    whh0,
    wcat,
    bcat,
    wout,
    bout,
    record_features,
):
    """Arrange a whole piece online, each note's history taking the model's own choices.

    Releases reach the part the note was given, at the note's end, as in the live loop.
    Returns (parts (n,), features used (n, F) if record_features else (0, F)).
    """
    n = pitch.shape[0]
    hidden = whh0.shape[1]
    nf = wx.shape[1]
    h = np.zeros((layers, hidden), np.float32)
    c = np.zeros((layers, hidden), np.float32)
    buf = np.zeros(2 * hidden, np.float32)
    gates = np.zeros(4 * hidden, np.float32)
    logits = np.zeros(n_parts, np.float32)
    x = np.zeros(nf, np.float32)
    s = np.zeros(F.S_GLOBAL + 5 * n_parts)
    F.reset_state(s)
    ends = np.zeros(n)  # end time of each assigned note, for releases
    parts = np.zeros(n, np.int64)
    feats = np.zeros((n if record_features else 0, nf), np.float32)
    pending = 0  # notes before this index are all released
    for i in range(n):
        # deliver releases due (end <= onset), as Arranger.assign_all does
        for j in range(pending, i):
            if ends[j] >= 0.0 and ends[j] <= time[i]:
                F.release(s, parts[j])
                ends[j] = -1.0
        while pending < i and ends[pending] < 0.0:
            pending += 1
        F.online_features(s, pitch[i], time[i], velocity[i], use_velocity, x)
        if record_features:
            feats[i] = x
        lstm_step(pitch[i], x, table, wx, whh0, wcat, bcat, wout, bout, h, c, buf, gates, logits)
        best = 0
        for p in range(1, n_parts):
            if logits[p] > logits[best]:
                best = p
        parts[i] = best
        ends[i] = end[i]
        F.commit(s, pitch[i], time[i], best)
    return parts, feats


@njit(cache=True)
def _log_softmax(logits, out):
    top = logits.max()
    total = 0.0
    for p in range(logits.shape[0]):
        total += np.exp(logits[p] - top)
    lse = top + np.log(total)
    for p in range(logits.shape[0]):
        out[p] = logits[p] - lse


@njit(cache=True)
def _window_end(time, start, window_s):
    """Index after the last note within ``window_s`` of note ``start``."""
    b = start + 1
    while b < time.shape[0] and time[b] - time[start] <= window_s:
        b += 1
    return b


@njit(cache=True)
def _release_due(s, nk, ends, parts, pending, upto, t):
    """Deliver releases of notes ``pending .. upto-1`` ending by ``t`` to every hypothesis."""
    for j in range(pending, upto):
        if ends[j] >= 0.0 and ends[j] <= t:
            for k in range(nk):
                F.release(s[k], parts[j])
            ends[j] = -1.0
    while pending < upto and ends[pending] < 0.0:
        pending += 1
    return pending


@njit(cache=True)
def _expand(i, k, x, s_k, pitch, time, velocity, use_velocity, mask, step_args, lp):
    """Features and one LSTM step of note ``i`` for hypothesis ``k``; log-probs into ``lp``,
    with -inf for parts masked because they already play in this onset group."""
    table, wx, whh0, wcat, bcat, wout, bout, h, c, buf, gates, logits = step_args
    F.online_features(s_k, pitch[i], time[i], velocity[i], use_velocity, x)
    lstm_step(pitch[i], x, table, wx, whh0, wcat, bcat, wout, bout, h[k], c[k], buf, gates, logits)
    _log_softmax(logits, lp)
    if mask:
        n_parts = lp.shape[0]
        free = 0
        for p in range(n_parts):
            if s_k[F.S_GLOBAL + 5 * p + 3] == 0.0:
                free += 1
        if free > 0:
            for p in range(n_parts):
                if s_k[F.S_GLOBAL + 5 * p + 3] > 0.0:
                    lp[p] = -np.inf


@njit(cache=True)
def window_run(
    pitch,
    time,
    end,
    velocity,
    n_parts,
    use_velocity,
    layers,
    table,
    wx,
    whh0,
    wcat,
    bcat,
    wout,
    bout,
    window_s,
    beam,
    mask,
):
    """Arrange a whole piece online with a chord window: the notes struck within
    ``window_s`` of a window's first note are decided together when the window closes,
    by a beam search (width ``beam``) over their parts; ``mask`` keeps a part from taking
    two notes of one onset group while another part is free. Each decision waits at most
    ``window_s``. beam=1, mask=False, window_s=0 is ``free_run``.
    """
    n = pitch.shape[0]
    hidden = whh0.shape[1]
    ns = F.S_GLOBAL + 5 * n_parts
    h = np.zeros((beam, layers, hidden), np.float32)
    c = np.zeros((beam, layers, hidden), np.float32)
    h2, c2 = h.copy(), c.copy()
    s = np.zeros((beam, ns))
    s2 = s.copy()
    F.reset_state(s[0])
    score = np.zeros(beam)
    cand_score = np.empty(beam * n_parts)
    lp = np.zeros((beam, n_parts))
    x = np.zeros(wx.shape[1], np.float32)
    step_args = (
        table, wx, whh0, wcat, bcat, wout, bout, h, c,
        np.zeros(2 * hidden, np.float32), np.zeros(4 * hidden, np.float32),
        np.zeros(n_parts, np.float32),
    )  # fmt: skip
    ends = np.zeros(n)
    parts = np.zeros(n, np.int64)
    pending = 0
    a = 0
    while a < n:
        b = _window_end(time, a, window_s)
        parent = np.zeros((b - a, beam), np.int64)
        choice = np.zeros((b - a, beam), np.int64)
        nk = 1
        for i in range(a, b):
            pending = _release_due(s, nk, ends, parts, pending, a, time[i])
            for k in range(nk):
                s2[k] = s[k]
                _expand(i, k, x, s2[k], pitch, time, velocity, use_velocity, mask, step_args, lp[k])
                for p in range(n_parts):
                    cand_score[k * n_parts + p] = score[k] + lp[k, p]
            m = 0
            for r in range(min(beam, nk * n_parts)):  # the best candidates, best first
                best = -1
                for q in range(nk * n_parts):
                    if cand_score[q] > -np.inf and (best < 0 or cand_score[q] > cand_score[best]):
                        best = q
                if best < 0:
                    break
                k, p = best // n_parts, best % n_parts
                parent[i - a, r], choice[i - a, r] = k, p
                score[r] = cand_score[best]
                cand_score[best] = -np.inf
                s[r] = s2[k]
                F.commit(s[r], pitch[i], time[i], p)
                h2[r] = h[k]
                c2[r] = c[k]
                m += 1
            nk = m
            h[:nk] = h2[:nk]
            c[:nk] = c2[:nk]
        r = 0  # hypotheses are kept best first: follow the best one back
        for i in range(b - 1, a - 1, -1):
            parts[i] = choice[i - a, r]
            r = parent[i - a, r]
        for i in range(a, b):
            ends[i] = end[i]
        score[0] = 0.0
        a = b
    return parts
