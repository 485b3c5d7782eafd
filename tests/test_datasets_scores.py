"""Score data sets (music21): Bach chorales and string quartets, and their committed splits."""

from __future__ import annotations

import numpy as np
import pytest

from instrument.datasets import corpus
from instrument.datasets.splits import load_split
from instrument.errors import InstrumentError


@pytest.mark.parametrize("dataset", ["bach", "quartet"])
def test_split_keeps_editions_and_movements_of_one_work_together(dataset):
    split = load_split(dataset)
    groups = {s: {corpus.group_of(dataset, i) for i in split[s]} for s in split}
    assert not (groups["train"] & groups["valid"])
    assert not (groups["train"] & groups["test"])
    assert not (groups["valid"] & groups["test"])
    n = sum(len(v) for v in split.values())
    assert len(split["train"]) / n > 0.6 and split["test"]


def test_bach_groups_editions():
    assert corpus.bach_group("bwv112.5-sc") == corpus.bach_group("bwv112.5") == "bwv112.5"
    assert corpus.quartet_group("m21/beethoven/opus18no1/movement2") == corpus.quartet_group(
        "wir/Beethoven/Op018_No1/4"
    )


def test_a_test_chorale_has_four_voices_in_order():
    piece = corpus.load_pieces("bach", "test", limit=1)[0]
    assert piece.parts == corpus.BACH_PARTS
    assert set(np.unique(piece.part)) == {0, 1, 2, 3}
    # sorted by onset, then low to high; the soprano is on average the highest voice
    key = piece.time * 1000 + piece.pitch / 1000
    assert np.all(np.diff(key) >= 0)
    means = [piece.pitch[piece.part == k].mean() for k in range(4)]
    assert means == sorted(means, reverse=True)
    assert np.isnan(piece.beat).sum() == 0 and not piece.has_velocity


def test_score_with_wrong_part_count_is_a_clear_error():
    from music21 import note, stream

    score = stream.Score()
    for pitch in ("C5", "C3"):
        part = stream.Part()
        part.append(note.Note(pitch, quarterLength=1))
        score.insert(0, part)
    with pytest.raises(InstrumentError, match="needs 4 parts, found 2"):
        corpus.score_piece(score, "duet", corpus.BACH_PARTS)
    empty = stream.Score()
    for _ in range(4):
        empty.insert(0, stream.Part())
    with pytest.raises(InstrumentError, match="no notes"):
        corpus.score_piece(empty, "empty", corpus.BACH_PARTS)


def test_tied_notes_are_one_note_and_chords_give_one_note_per_pitch():
    from music21 import chord, note, stream, tie

    parts = []
    for k in range(4):
        p = stream.Part()
        if k == 0:
            a, b = note.Note("E5", quarterLength=1), note.Note("E5", quarterLength=1)
            a.tie, b.tie = tie.Tie("start"), tie.Tie("stop")
            p.append([a, b])
        elif k == 1:
            p.append(chord.Chord(["C4", "G4"], quarterLength=2))
        else:
            p.append(note.Note(48 - 12 * (k - 2), quarterLength=2))
        parts.append(p)
    score = stream.Score()
    for p in parts:
        score.insert(0, p)
    piece = corpus.score_piece(score, "toy", corpus.QUARTET_PARTS)
    assert len(piece) == 5
    top = piece.part == 0
    assert piece.pitch[top].tolist() == [76]
    assert np.allclose(piece.end[top] - piece.time[top], 2 * 60 / corpus.SCORE_BPM)
    assert sorted(piece.pitch[piece.part == 1].tolist()) == [60, 67]


def test_cache_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTRUMENT_CACHE", str(tmp_path))
    piece = corpus.Piece.from_notes(
        "x/y", ("A", "B"), np.array([[0, 1, 60, 64], [0, 1, 50, 64]]), np.array([0, 1])
    )
    corpus._save("toyset", piece)
    again = corpus._load_cached("toyset", "x/y")
    assert again is not None and again.id == "x/y" and again.parts == ("A", "B")
    assert again.pitch.tolist() == [50, 60] and again.part.tolist() == [1, 0]
