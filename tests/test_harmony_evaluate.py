"""Scoring ``suggest``: diversity of a set of progressions, and the samplers on a tiny model."""

from __future__ import annotations

import pytest

from instrument.harmony.chordlm import BigramLM
from instrument.harmony.evaluate import PROMPTS, SAMPLERS, diversity, mood_rows, sampling_rows


def test_diversity_of_identical_and_of_distinct_progressions():
    same = diversity([["0:maj", "5:maj"]] * 3)
    third = pytest.approx(1 / 3)
    assert same == {"distinct": third, "distinct2": third, "hamming": 0.0}
    apart = diversity([["0:maj", "5:maj"], ["9:min", "2:min"]])
    assert apart == {"distinct": 1.0, "distinct2": 1.0, "hamming": 1.0}
    assert diversity([]) == {"distinct": 0.0, "distinct2": 0.0, "hamming": 0.0}


def test_sampling_rows_cover_every_sampler_and_prompt():
    corpus = [["0:maj", "5:maj", "7:maj", "0:maj"]] * 10 + [["9:min", "2:min", "7:maj"]]
    rows, minor_share = sampling_rows(BigramLM(corpus, lam=0.9), n=2)
    assert [r[0] for r in rows] == [label for _, label in SAMPLERS]
    assert rows[0][1] == 1.0  # the proposer alone keeps every proposal
    assert all(0 < r[1] <= 1 and 0 < r[2] <= 1 for r in rows)
    assert all(set(m) == set(PROMPTS) for m in minor_share.values())
    for label, happy, sad in mood_rows(minor_share):
        assert 0 <= happy <= 1 and 0 <= sad <= 1, label
