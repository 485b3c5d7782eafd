"""Offline group decoding: one note per part per onset group, best summed log-probability."""

from __future__ import annotations

import itertools

import numpy as np

from instrument.arrange.decode import assign_group, decode_groups, log_softmax
from instrument.arrange.features import group_ids


def test_group_ids_join_notes_within_the_window_of_the_first():
    t = np.array([0.0, 0.01, 0.03, 0.06, 0.5, 0.5, 1.0])  # window: 50 ms
    assert group_ids(t).tolist() == [0, 0, 0, 1, 2, 2, 3]
    assert group_ids(np.array([])).tolist() == []


def test_assign_group_is_the_best_permutation():
    rng = np.random.default_rng(0)
    for m in (2, 3, 4):
        logp = log_softmax(rng.normal(size=(m, 4)))
        parts = assign_group(logp)
        assert len(set(parts.tolist())) == m
        best = max(
            itertools.permutations(range(4), m),
            key=lambda p: sum(logp[i, k] for i, k in enumerate(p)),
        )
        assert parts.tolist() == list(best)


def test_two_notes_wanting_one_part_are_split():
    logits = np.array([[5.0, 4.0, 0.0], [5.0, 1.0, 0.0], [0.0, 0.0, 3.0]])
    time = np.array([0.0, 0.0, 1.0])
    assert logits.argmax(1).tolist() == [0, 0, 2]
    # the first note loses less by moving to part 1 than the second does
    assert decode_groups(logits, time).tolist() == [1, 0, 2]


def test_more_notes_than_parts_share_parts():
    logits = np.zeros((5, 2))
    logits[:3, 0] = 3.0
    logits[3:, 1] = 3.0
    parts = decode_groups(logits, np.zeros(5))
    assert sorted(parts.tolist()) == [0, 0, 0, 1, 1]
