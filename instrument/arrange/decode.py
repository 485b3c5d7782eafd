"""Offline decoding of part logits: one note per part per onset group.

A model that sees the whole piece can decide the notes struck together jointly. In the
data sets each part plays one note at a time almost always, so within an onset group the
decoder looks for the assignment of notes to distinct parts with the largest summed
log-probability (a linear assignment, solved exactly by the Hungarian method). A group
with more notes than parts lets each part take up to ``ceil(notes / parts)`` of them.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from instrument.arrange.features import group_ids


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-probabilities of an (n, P) logit array."""
    z = logits - logits.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def assign_group(logp: np.ndarray) -> np.ndarray:
    """Parts of one group's notes, (m, P) log-probabilities -> (m,) part indices."""
    m, n_parts = logp.shape
    if m == 1:
        return logp.argmax(axis=1)
    copies = -(-m // n_parts)  # each part may take this many notes of the group
    cost = np.tile(logp, (1, copies))
    rows, cols = linear_sum_assignment(cost, maximize=True)
    out = np.empty(m, dtype=np.int64)
    out[rows] = cols % n_parts
    return out


def decode_groups(logits: np.ndarray, time: np.ndarray) -> np.ndarray:
    """(n,) parts from (n, P) logits: the best assignment within each onset group."""
    logp = log_softmax(np.asarray(logits, dtype=np.float64))
    gid = group_ids(np.asarray(time, dtype=np.float64))
    bounds = np.r_[0, np.flatnonzero(np.diff(gid)) + 1, len(gid)]
    parts = np.empty(len(gid), dtype=np.int64)
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        parts[a:b] = assign_group(logp[a:b])
    return parts
