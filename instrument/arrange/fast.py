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


GROUP_CAP = 16  # notes of one onset group the revision keeps (more: decided once)


@njit(cache=True)
def decide(s, pitch, time, velocity, use_velocity, x, table, wx, whh0, wcat, bcat, wout,
           bout, h, c, buf, gates, logits, penalty, polyphony, binds):  # fmt: skip
    """Features, one LSTM step and the part of one note under the ensemble's constraints;
    commits it to the feature state ``s`` and returns it.

    penalty: (128, P) float32 added to the logits (the parts' ranges, soft). polyphony:
    (P,) notes a part may take in one onset group while another part still has room.
    binds: int64 counters, [0] the range changed the choice, [1] a full part was passed
    over.
    """
    F.online_features(s, pitch, time, velocity, use_velocity, x)
    lstm_step(pitch, x, table, wx, whh0, wcat, bcat, wout, bout, h, c, buf, gates, logits)
    n_parts = logits.shape[0]
    room = False
    for p in range(n_parts):
        if F.part_notes_in_group(s, p) < polyphony[p]:
            room = True
    best = -1  # with both constraints
    plain = -1  # without the range
    free = -1  # without the room rule
    for p in range(n_parts):
        v = logits[p] + penalty[pitch, p]
        if free < 0 or v > logits[free] + penalty[pitch, free]:
            free = p
        if room and F.part_notes_in_group(s, p) >= polyphony[p]:
            continue
        if best < 0 or v > logits[best] + penalty[pitch, best]:
            best = p
        if plain < 0 or logits[p] > logits[plain]:
            plain = p
    if plain != best:
        binds[0] += 1
    if free != best:
        binds[1] += 1
    F.commit(s, pitch, time, best)
    return best


@njit(cache=True)
def live_assign(s, s0, h0, c0, sr, hr, cr, revise, group, gtime, gpart, ng, pitch, time,
                velocity, use_velocity, x, table, wx, whh0, wcat, bcat, wout, bout, h, c, buf,
                gates, logits, penalty, polyphony, binds):  # fmt: skip
    """The first decision of a note (what sounds at once), from the arrival state
    ``s, h, c``: every note so far in the order it came, on the part it first got.

    Two histories run side by side: the arrival one, and the revised one (``sr, hr,
    cr``: every chord decided low to high, ``live_revise``). Measured on the Bach valid
    split, first decisions are better from the arrival history (the order they are
    trained in) than from the revised one. A note that starts a new onset group
    checkpoints the revised history (``s0, h0, c0``) for this group's revisions; the note
    joins the group's buffers (``group`` (G, 2) pitch and velocity, ``gtime``, ``gpart``;
    ``ng[0]`` notes)."""
    if F.is_new_group(s, time) or ng[0] >= GROUP_CAP:
        if revise:  # the revisions go on from the previous chords as revised
            s0[:] = sr
            h0[:] = hr
            c0[:] = cr
        ng[0] = 0
    part = decide(s, pitch, time, velocity, use_velocity, x, table, wx, whh0, wcat, bcat,
                  wout, bout, h, c, buf, gates, logits, penalty, polyphony, binds)  # fmt: skip
    k = ng[0]
    group[k, 0] = pitch
    group[k, 1] = velocity
    gtime[k] = time
    gpart[k] = part
    ng[0] = k + 1
    return part


@njit(cache=True)
def live_revise(s0, h0, c0, sr, hr, cr, group, gtime, gpart, ng, use_velocity, x, table, wx,
                whh0, wcat, bcat, wout, bout, buf, gates, logits, penalty, polyphony,
                binds, gfeat):  # fmt: skip
    """Decide the onset group's notes struck so far again, together: from the state before
    the group (``s0, h0, c0``), low to high (the arrival times kept in order), so that the
    result does not depend on the order the fingers landed in. ``gpart`` gets the revised
    parts and ``gfeat`` (G, F) the features each note was decided on; ``sr, hr, cr`` end
    as if the chord had arrived low to high (the next group starts from there). Returns
    the group's size."""
    m = ng[0]
    sr[:] = s0
    hr[:] = h0
    cr[:] = c0
    order = np.arange(m)
    for a in range(1, m):  # insertion sort by pitch (a few notes)
        j = a
        while j > 0 and group[order[j - 1], 0] > group[order[j], 0]:
            order[j - 1], order[j] = order[j], order[j - 1]
            j -= 1
    times = np.sort(gtime[:m])
    for j in range(m):
        i = order[j]
        gpart[i] = decide(sr, group[i, 0], times[j], group[i, 1], use_velocity, x, table, wx,
                          whh0, wcat, bcat, wout, bout, hr, cr, buf, gates, logits, penalty,
                          polyphony, binds)  # fmt: skip
        gfeat[i] = x
    return m


@njit(cache=True)
def perform_run(pitch, time, end, velocity, n_parts, use_velocity, layers, table, wx, whh0,
                wcat, bcat, wout, bout, layers_r, table_r, wx_r, whh0_r, wcat_r, bcat_r,
                wout_r, bout_r, penalty, polyphony, revise, record_features):  # fmt: skip
    """Arrange a whole performance note by note as live: first decisions with the first
    model (``layers, table, ...``), and with ``revise`` each onset group re-decided as its
    notes arrive (``live_revise``) with the revising model (``layers_r, table_r, ...``;
    the same weights when one model does both).

    Releases reach the note's part (its latest revision) at the note's end. Returns
    (first parts, final parts, binds (2,), features of the first decisions (n, F),
    features of the final revision of each note (n, F), onset group of each note (n,),
    the part of each note after the revision its own arrival made (n,): with revisions
    on, what a performer that revises before sounding plays at the note-on); the
    feature arrays have no rows unless ``record_features``.
    """
    n = pitch.shape[0]
    hidden = whh0.shape[1]
    hidden_r = whh0_r.shape[1]
    nf = wx.shape[1]
    h = np.zeros((layers, hidden), np.float32)
    c = np.zeros((layers, hidden), np.float32)
    h0 = np.zeros((layers_r, hidden_r), np.float32)
    c0 = h0.copy()
    hr = h0.copy()
    cr = h0.copy()
    buf = np.zeros(2 * hidden, np.float32)
    gates = np.zeros(4 * hidden, np.float32)
    buf_r = np.zeros(2 * hidden_r, np.float32)
    gates_r = np.zeros(4 * hidden_r, np.float32)
    logits = np.zeros(n_parts, np.float32)
    x = np.zeros(nf, np.float32)
    xr = np.zeros(nf, np.float32)
    s = np.zeros(F.S_GLOBAL + F.S_PER_PART * n_parts)
    F.reset_state(s)
    s0 = s.copy()
    sr = s.copy()
    group = np.zeros((GROUP_CAP, 2), np.int64)
    gtime = np.zeros(GROUP_CAP)
    gpart = np.zeros(GROUP_CAP, np.int64)
    gidx = np.zeros(GROUP_CAP, np.int64)
    ng = np.zeros(1, np.int64)
    binds = np.zeros(2, np.int64)
    ends = np.zeros(n)
    first = np.zeros(n, np.int64)
    final = np.zeros(n, np.int64)
    feats = np.zeros((n if record_features else 0, nf), np.float32)
    feats_r = np.zeros((n if record_features else 0, nf), np.float32)
    gfeat = np.zeros((GROUP_CAP, nf), np.float32)
    groups = np.zeros(n, np.int64)
    onset = np.zeros(n, np.int64)
    n_groups = 0
    pending = 0
    group_start = 0
    for i in range(n):
        for j in range(pending, i):
            if ends[j] >= 0.0 and ends[j] <= time[i]:
                F.release(s, final[j])
                F.release(sr, final[j])
                if j < group_start:
                    F.release(s0, final[j])
                ends[j] = -1.0
        while pending < i and ends[pending] < 0.0:
            pending += 1
        part = live_assign(s, s0, h0, c0, sr, hr, cr, revise, group, gtime, gpart, ng,
                           pitch[i], time[i], velocity[i], use_velocity, x, table, wx, whh0,
                           wcat, bcat, wout, bout, h, c, buf, gates, logits, penalty,
                           polyphony, binds)  # fmt: skip
        if ng[0] == 1:
            group_start = i
            n_groups += 1
        groups[i] = n_groups - 1
        gidx[ng[0] - 1] = i
        if record_features:
            feats[i] = x
        first[i] = part
        final[i] = part
        ends[i] = end[i]
        if revise:
            m = live_revise(s0, h0, c0, sr, hr, cr, group, gtime, gpart, ng, use_velocity, xr,
                            table_r, wx_r, whh0_r, wcat_r, bcat_r, wout_r, bout_r, buf_r,
                            gates_r, logits, penalty, polyphony, binds, gfeat)  # fmt: skip
            for k in range(m):
                final[gidx[k]] = gpart[k]
                if record_features:
                    feats_r[gidx[k]] = gfeat[k]
        onset[i] = final[i]
    return first, final, binds, feats, feats_r, groups, onset
