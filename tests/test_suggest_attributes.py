"""instrument suggest: text to attributes, the proposer, rejection sampling, the CLI."""

import json
import math

import numpy as np
import pytest

from instrument.cli import main
from instrument.harmony.chart import load_chart
from instrument.harmony.chordlm import MODEL_DIR, BigramLM, UnigramLM, perplexity
from instrument.harmony.suggest import Proposer, roman_numeral, suggest, text_attributes


def test_text_attributes():
    sad = text_attributes("sad rainy night alone")
    assert (sad.mood, sad.mode) == ("sad", "minor") and sad.tempo < 100
    happy = text_attributes("happy dance party")
    assert (happy.mood, happy.mode) == ("joyful", "major") and happy.tempo > 120
    assert text_attributes("not happy").valence < 0
    assert text_attributes("sad song", mode="major").mode == "major"
    assert text_attributes("a minor key song about nothing").mode == "minor"
    assert text_attributes("smooth jazz").colour == "jazz"
    assert text_attributes("xyzzy").mood == "neutral"


def test_proposer_is_a_proper_distribution_with_exact_log_q():
    p = Proposer(text_attributes("memories of a warm summer beach"))
    assert p.start.sum() == pytest.approx(1) and np.allclose(p.trans.sum(1), 1)
    seq, logq = p.sample(4, np.random.default_rng(1))
    idx = [p.tokens.index(t) for t in seq]
    expect = math.log(p.start[idx[0]]) + sum(
        math.log(p.trans[a, b]) for a, b in zip(idx, idx[1:], strict=False)
    )
    assert logq == pytest.approx(expect)
    assert all(a != b for a, b in zip(seq, seq[1:], strict=False))


# A tiny "corpus" where I-IV-V-I is all there is: the filter must pull towards it.
CORPUS = [["0:maj", "5:maj", "7:maj", "0:maj", "5:maj", "7:maj"]] * 20 + [["9:min", "2:min"]]


def test_rejection_sampling_moves_towards_the_chord_model():
    model = BigramLM(CORPUS, lam=0.9)
    text = "memories of a warm summer beach"
    free, stats_free, _ = suggest(text, model, n=5, lam=1.0, seed=0)
    kept, stats, attrs = suggest(text, model, n=5, lam=0.0, seed=0)
    assert stats_free.acceptance_rate == 1.0  # lam = 1: the proposer alone, all kept
    assert 0 < stats.acceptance_rate < 1
    assert len({tuple(s.tokens) for s in kept}) == 5  # distinct
    assert np.mean([s.logp for s in kept]) > np.mean([s.logp for s in free]) + 1.0
    assert kept == suggest(text, model, n=5, lam=0.0, seed=0)[0]  # seeded: reproducible
    chart = kept[0].chart(4, title=text, key="C")
    assert len(chart.bars) == 4 and chart.tempo == attrs.tempo


def test_roman_numerals():
    assert [roman_numeral(t) for t in ("0:maj", "9:min", "7:7", "10:maj", "2:m7b5")] == [
        "I",
        "vi",
        "V7",
        "bVII",
        "iiø7",
    ]


def test_bigram_beats_unigram_on_its_own_corpus():
    assert perplexity(BigramLM(CORPUS), CORPUS) < perplexity(UnigramLM(CORPUS), CORPUS)


def test_suggest_command_json_and_save(tmp_path, capsys):
    if not (MODEL_DIR / "weights.pt").exists():
        pytest.skip("the shipped chord model models/chordlm-gru is missing")
    out = tmp_path / "beach.chart"
    text = "memories of a warm summer beach"
    rc = main(["suggest", text, "--key", "G", "-n", "3", "--json", "--save", str(out)])
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    assert data["key"] == "G" and len(data["suggestions"]) == 3
    assert data["attributes"]["mode"] == "major" and "beach" in data["attributes"]["matched"]
    chart = load_chart(out)
    assert [c.name for c in chart.chords] == data["suggestions"][0]["chords"]
    assert len(chart.bars) == 4 and chart.key == "G"


def test_suggest_command_errors(capsys):
    assert main(["suggest", "x", "--key", "H"]) == 2
    assert "not a note name" in capsys.readouterr().err
