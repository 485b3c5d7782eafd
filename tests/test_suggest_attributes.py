"""instrument suggest: text to attributes, the proposer, rejection sampling, the CLI."""

import json
import math

import numpy as np
import pytest

from instrument.cli import main
from instrument.harmony.chart import load_chart
from instrument.harmony.chordlm import MODEL_DIR, VOCAB, BigramLM, UnigramLM, perplexity
from instrument.harmony.chords import parse_chord
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
    idx = [p.states.index(t) for t in seq]
    expect = math.log(p.start[idx[0]]) + sum(
        math.log(p.trans[a, b]) for a, b in zip(idx, idx[1:], strict=False)
    )
    assert logq == pytest.approx(expect)
    assert all(a[0] != b[0] for a, b in zip(seq, seq[1:], strict=False))  # token changes


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
    assert chart.chords == [parse_chord(c) for c in data["suggestions"][0]["chords"]]
    assert data["suggestions"][0]["log_prob"] == max(s["log_prob"] for s in data["suggestions"])
    assert len(chart.bars) == 4 and chart.key == "G"


def test_suggest_command_errors(capsys):
    assert main(["suggest", "x", "--key", "H"]) == 2
    assert "not a note name" in capsys.readouterr().err


@pytest.mark.parametrize("text, mood", [
    ("warm summer night by the sea", "calm"),  # not joyful: a night by the sea is calm
    ("cold grey winter morning in the city", "sad"),
    ("a storm over the mountains", "tense"),
    ("sunrise at the lake in spring", "calm"),
    ("christmas party with friends", "joyful"),
    ("funeral in autumn", "sad"),
])
def test_lexicon_covers_mood_place_season_and_time(text, mood):
    attrs = text_attributes(text)
    assert attrs.mood == mood, attrs
    assert len(attrs.matched) >= 2 or text.startswith("funeral")


def test_stems_do_not_catch_other_words():
    assert text_attributes("the season starts").matched == ()  # no sea, no star
    assert text_attributes("warm").matched == ("warm",)  # warm, not war


def test_colours_are_proposed_for_lush_words_and_rare_for_plain_ones():
    lush = Proposer(text_attributes("dreamy night by the sea"))
    plain = Proposer(text_attributes("happy dance party"))
    qualities = {q for _, q in lush.states}
    assert {"maj7", "add9", "sus2", "m7", "madd9"} <= qualities

    def colour_share(p):
        w = p.weight
        coloured = [k for k, (t, q) in enumerate(p.states) if q in ("maj7", "add9", "sus2",
                                                                     "m7", "madd9")]
        return w[coloured].sum() / w.sum()

    assert colour_share(lush) > 3 * colour_share(plain)
    assert all(t in VOCAB for t in lush.tokens)  # the chord model scores every one


def test_one_spelling_per_key_within_a_line():
    from instrument.harmony.suggest import Suggestion, degree_names

    attrs = text_attributes("sad")
    s = Suggestion(["0:maj", "8:maj", "3:maj", "8:min", "1:maj"], 0, 0.0, 0.0, attrs)
    names = s.names("C")
    assert names == ["C", "Ab", "Eb", "Abm", "Db"]  # not G#m beside Ab
    assert degree_names("G", 7)[3] == "Eb" and degree_names("G", 7)[1] == "C#"  # bVI, #IV
    assert degree_names("F#", 6)[5] == "E#"  # the seventh of F# major


def test_empty_or_meaningless_prompts_are_refused(capsys):
    assert main(["suggest", "   "]) == 2
    assert "say in a few words" in capsys.readouterr().err
    assert main(["suggest", "qwerty zxcv"]) == 2
    err = capsys.readouterr().err
    assert "no word of mood, place, season or time" in err and "Traceback" not in err


def test_suggestions_come_most_plausible_first():
    model = BigramLM(CORPUS, lam=0.9)
    found, _, _ = suggest("memories of a warm summer beach", model, n=5, lam=0.5, seed=3)
    assert [s.logp for s in found] == sorted((s.logp for s in found), reverse=True)
