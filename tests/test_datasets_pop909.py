"""POP909 loader and the committed splits, on the real data set (skipped when absent)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from instrument.datasets import pop909
from instrument.datasets.splits import load_split, split_hash, split_ids
from instrument.errors import InstrumentError


def test_pop909_split_is_8_1_1_by_song_and_disjoint():
    split = load_split("pop909")
    ids = [set(split[s]) for s in ("train", "valid", "test")]
    assert sum(len(s) for s in ids) == 909
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    assert 700 <= len(ids[0]) <= 750 and 85 <= len(ids[2]) <= 95
    assert split_ids("pop909", "val") == split["valid"]
    assert len(split_hash("pop909")) == 12


def test_unknown_split_name_is_a_clear_error():
    with pytest.raises(InstrumentError, match="unknown split"):
        split_ids("pop909", "holdout")
    with pytest.raises(InstrumentError, match="no split file"):
        split_ids("no-such-dataset", "test")


def test_song_dirs_and_first_song(data_dir):
    dirs = pop909.song_dirs(data_dir)
    assert len(dirs) == 909 and dirs[0].name == "001" and dirs[-1].name == "909"
    song = pop909.load_song(dirs[0])
    assert song.id == "001" and song.midi_path.name == "001.mid"
    for track in pop909.TRACKS:
        notes = song.notes[track]
        assert notes.shape[1] == 4 and len(notes) > 100
        assert np.all(np.diff(notes[:, 0]) >= 0)  # sorted by onset
        assert np.all(notes[:, 1] >= notes[:, 0])
        assert notes[:, 2].min() >= 0 and notes[:, 2].max() <= 127
    # beats are increasing, every second beat starts a 2-beat measure in this song
    assert np.all(np.diff(song.beats) > 0)
    assert song.beats_per_measure == 2
    assert song.downbeats[:4].tolist() == [True, False, True, False]
    assert song.hyper_downbeats[:5].tolist() == [True, False, False, False, True]
    assert song.chords[4] == (2.721993, 4.055323, "B:maj")
    assert song.keys and song.keys[0][2] == "Gb:maj"
    # the annotations and the notes share one clock: the melody lies within the beats
    assert song.beats[0] <= song.notes["MELODY"][0, 0] <= song.beats[-1] + 2.0
    notes, track = song.all_notes()
    assert len(notes) == sum(len(v) for v in song.notes.values())
    assert set(np.unique(track)) == {0, 1, 2}


def test_song_dir_accepts_int_and_padded_ids(data_dir):
    assert pop909.song_dir(7, data_dir) == pop909.song_dir("007", data_dir)


def test_malformed_song_folders_give_clear_errors(data_dir, tmp_path):
    src = pop909.song_dir("001", data_dir)
    bad = tmp_path / "001"
    shutil.copytree(src, bad)
    (bad / "beat_midi.txt").write_text("0.5 1.0\n")
    with pytest.raises(InstrumentError, match="3 columns"):
        pop909.load_song(bad)
    (bad / "beat_midi.txt").unlink()
    with pytest.raises(InstrumentError, match="missing beat_midi.txt"):
        pop909.load_song(bad)
    (bad / "001.mid").write_bytes(b"not a midi file")
    with pytest.raises(InstrumentError, match="not a readable MIDI file"):
        pop909.load_song(bad)
    with pytest.raises(InstrumentError, match="not a POP909 song folder"):
        pop909.load_song(tmp_path / "nothing")
