"""The generic multitrack-MIDI loader (tracks = parts), on small files made here with mido."""

from __future__ import annotations

import mido
import numpy as np
import pytest

from instrument.datasets.corpus import midi_piece, midi_pieces
from instrument.datasets.midi import read_tracks
from instrument.errors import InstrumentError


def write_midi(path, tracks, tempo=500000, ticks=480, type_=1):
    """tracks: list of (name, channel, [(onset_tick, dur_tick, pitch, velocity)])."""
    mid = mido.MidiFile(type=type_, ticks_per_beat=ticks)
    meta = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=tempo, time=0)])
    mid.tracks.append(meta)
    for name, channel, notes in tracks:
        events = []
        for on, dur, pitch, vel in notes:
            events.append(
                (on, 1, mido.Message("note_on", channel=channel, note=pitch, velocity=vel))
            )
            events.append((on + dur, 0, mido.Message("note_off", channel=channel, note=pitch)))
        events.sort(key=lambda e: (e[0], e[1]))
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=name, time=0)])
        now = 0
        for tick, _, msg in events:
            track.append(msg.copy(time=tick - now))
            now = tick
        mid.tracks.append(track)
    mid.save(path)
    return path


def test_two_track_file_gives_two_parts_in_seconds(tmp_path):
    path = write_midi(
        tmp_path / "duet.mid",
        [
            ("Flute", 0, [(0, 480, 72, 90), (480, 480, 74, 80)]),
            ("Cello", 1, [(0, 960, 48, 70)]),
        ],
        tempo=1_000_000,
    )  # 60 bpm: one quarter note = 1 s
    piece = midi_piece(path)
    assert piece.parts == ("Flute", "Cello")
    assert piece.pitch.tolist() == [48, 72, 74]  # sorted by onset, low to high
    assert piece.part.tolist() == [1, 0, 0]
    assert np.allclose(piece.time, [0.0, 0.0, 1.0])
    assert np.allclose(piece.end, [2.0, 1.0, 2.0])
    assert piece.velocity.tolist() == [70, 90, 80] and piece.has_velocity
    assert np.allclose(piece.beat, [0.0, 0.0, 1.0])


def test_tempo_change_moves_later_onsets(tmp_path):
    mid = mido.MidiFile(type=1, ticks_per_beat=100)
    mid.tracks.append(
        mido.MidiTrack(
            [
                mido.MetaMessage("set_tempo", tempo=500000, time=0),
                mido.MetaMessage("set_tempo", tempo=1_000_000, time=100),
            ]
        )
    )
    for ch, pitch in ((0, 60), (1, 40)):
        mid.tracks.append(
            mido.MidiTrack(
                [
                    mido.Message("note_on", channel=ch, note=pitch, velocity=64, time=0),
                    mido.Message("note_off", channel=ch, note=pitch, time=100),
                    mido.Message("note_on", channel=ch, note=pitch + 2, velocity=64, time=0),
                    mido.Message("note_off", channel=ch, note=pitch + 2, time=100),
                ]
            )
        )
    mid.save(tmp_path / "tempo.mid")
    tracks = read_tracks(tmp_path / "tempo.mid")
    # first beat at 120 bpm (0.5 s), second beat at 60 bpm (1 s)
    assert np.allclose(tracks[0].notes[:, 0], [0.0, 0.5])
    assert np.allclose(tracks[0].notes[:, 1], [0.5, 1.5])


def test_type0_file_is_split_by_channel(tmp_path):
    mid = mido.MidiFile(type=0, ticks_per_beat=480)
    mid.tracks.append(
        mido.MidiTrack(
            [
                mido.Message("note_on", channel=0, note=70, velocity=64, time=0),
                mido.Message("note_on", channel=3, note=40, velocity=64, time=0),
                mido.Message("note_off", channel=0, note=70, time=480),
                mido.Message("note_off", channel=3, note=40, time=0),
            ]
        )
    )
    mid.save(tmp_path / "t0.mid")
    piece = midi_piece(tmp_path / "t0.mid")
    assert len(piece.parts) == 2
    assert piece.part[piece.pitch == 70][0] != piece.part[piece.pitch == 40][0]


def test_part_less_and_malformed_files_give_clear_errors(tmp_path):
    one = write_midi(tmp_path / "solo.mid", [("Piano", 0, [(0, 480, 60, 64)])])
    with pytest.raises(InstrumentError, match="needs at least 2 tracks"):
        midi_piece(one)
    empty = write_midi(tmp_path / "empty.mid", [("A", 0, []), ("B", 1, [])])
    with pytest.raises(InstrumentError, match="no notes"):
        midi_piece(empty)
    (tmp_path / "garbage.mid").write_bytes(b"MThd\x00\x00garbage")
    with pytest.raises(InstrumentError, match="not a readable MIDI file"):
        midi_piece(tmp_path / "garbage.mid")
    two = write_midi(
        tmp_path / "duet.mid", [("A", 0, [(0, 480, 60, 64)]), ("B", 1, [(0, 480, 50, 64)])]
    )
    with pytest.raises(InstrumentError, match="needs 4 parts, found 2"):
        midi_piece(two, n_parts=4)


def test_folder_loader_skips_unusable_files(tmp_path, capsys):
    write_midi(tmp_path / "a.mid", [("A", 0, [(0, 480, 60, 64)]), ("B", 1, [(0, 480, 50, 64)])])
    (tmp_path / "b.mid").write_bytes(b"junk")
    pieces = midi_pieces(tmp_path)
    assert [p.id for p in pieces] == ["a"]
    assert "skipped" in capsys.readouterr().out
    with pytest.raises(InstrumentError, match="no usable"):
        midi_pieces(tmp_path / "nothing-here")
