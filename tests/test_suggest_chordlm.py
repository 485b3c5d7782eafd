"""The chord language model's data: Billboard and POP909 readers, the committed split."""

import pytest

from instrument.datasets.splits import load_split
from instrument.harmony.chordlm import (
    VOCAB,
    BigramLM,
    UnigramLM,
    billboard_ids,
    changes,
    chord_token,
    load_corpus,
    perplexity,
    read_billboard,
    token_chord,
)
from instrument.harmony.chords import parse_chord
from instrument.paths import data_dir

SALAMI = """\
# title: Test
# artist: Nobody
# metre: 4/4
# tonic: A

0.0\tsilence
0.1\tA, intro, | A:min | A:min C:maj | x2
5.0\tB, verse, | F:maj | G:7 . . . | N |, (voice
9.0\t| E:7(#9) | A:min/b3 |
# tonic: C
12.0\tC, bridge, | C:maj | G:sus4(b7) |
20.0\tend
"""


def test_read_billboard_tokens_are_key_relative_changes(tmp_path):
    path = tmp_path / "salami_chords.txt"
    path.write_text(SALAMI)
    # A minor: i, III (x2 line), VI, VII7, V7 (7#9 folds into 7), i (bass dropped);
    # then the tonic moves to C: I, Vsus
    assert read_billboard(path) == [
        "0:min", "3:maj", "0:min", "3:maj", "8:maj", "10:7", "7:7", "0:min", "0:maj", "7:sus",
    ]  # fmt: skip


def test_tokens_and_chords():
    assert chord_token(parse_chord("F#m7"), tonic=2) == "4:m7"
    assert token_chord("4:m7", tonic=2) == parse_chord("F#m7")
    assert token_chord("7:sus", 0) == parse_chord("Gsus4")
    assert changes(["0:maj", "0:maj", None, "0:maj", "5:maj"]) == ["0:maj", "5:maj"]
    assert len(VOCAB) == 2 + 12 * 9


@pytest.mark.data
def test_real_corpus_split_and_baselines():
    if not (data_dir() / "billboard").is_dir() or not (data_dir() / "pop909").is_dir():
        pytest.skip("Billboard / POP909 not in ../shared/data")
    split = load_split("billboard")
    ids = [i for s in split.values() for i in s]
    assert len(ids) == len(set(ids)) == 890
    where = {i: name for name, s in split.items() for i in s}
    for group in billboard_ids().values():  # the same song twice: one split
        assert len({where[i] for i in group}) == 1
    train, test = load_corpus("train"), load_corpus("test")
    assert len(train) > 1000 and len(test) > 100
    assert all(t in VOCAB for s in test for t in s)
    assert perplexity(BigramLM(train), test) < perplexity(UnigramLM(train), test)
