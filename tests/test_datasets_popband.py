"""The pop band's labels: POP909's tracks with the piano's bass line split off."""

from __future__ import annotations

import numpy as np
import pytest

from instrument.datasets.corpus import POP909_PARTS, POP_PARTS, Piece, load_piece
from instrument.datasets.popband import bass_line, pop_band_parts


def test_bass_line_of_a_hand_made_left_hand():
    # (onset s, release s, MIDI pitch, is bass): the rule of popband's docstring
    notes = [
        (0.00, 0.9, 36, True),  # C2 under an open chord: an octave and more below
        (0.01, 0.9, 48, False),
        (0.01, 0.9, 52, False),
        (0.02, 0.9, 55, False),
        (1.00, 1.9, 52, False),  # close chord E3 G3 C4: its bottom is a chord tone
        (1.00, 1.9, 55, False),
        (1.00, 1.9, 60, False),
        (2.00, 3.9, 36, True),  # C2 struck alone, held ...
        (2.50, 3.9, 43, False),  # ... G2 and E3 of the broken chord over it
        (3.00, 3.9, 52, False),
        (4.00, 4.9, 41, True),  # F2 after the C2 ended: the next bass note
        (5.00, 5.9, 57, False),  # A3 alone: above the ceiling, a fill
        (6.00, 6.9, 40, True),  # E2 a fourth below the A2 struck with it: bass
        (6.00, 6.9, 45, False),
        (6.50, 7.9, 53, False),  # F3 held over ...
        (7.00, 7.9, 50, False),  # ... D3 a third below it: no clear gap, piano
    ]
    order = np.argsort([n[0] for n in notes], kind="stable")
    t, e, p, want = (np.array([notes[i][k] for i in order]) for k in range(4))
    assert bass_line(t, e, p.astype(np.int64)).tolist() == want.tolist()


def test_notes_of_one_group_arrive_in_any_order_with_the_same_bass():
    t = np.array([0.0, 0.005, 0.01, 0.02])
    e = np.full(4, 1.0)
    for pitches in ([36, 48, 55, 60], [60, 36, 55, 48], [55, 60, 48, 36]):
        p = np.array(pitches)
        assert bass_line(t, e, p).tolist() == (p == 36).tolist()


def test_pop_band_parts_keeps_melody_and_bridge_and_splits_the_piano():
    notes = np.array(
        [(0, 1, 76, 80), (0, 1, 67, 60), (0, 1, 36, 70), (0, 1, 52, 70), (0, 1, 55, 70)],
        dtype=float,
    )
    piece = Piece.from_notes("toy", POP909_PARTS, notes, np.array([0, 1, 2, 2, 2]))
    band = pop_band_parts(piece)
    assert band.parts == POP_PARTS == ("Lead", "Strings", "Piano", "Bass")
    by_pitch = dict(zip(band.pitch.tolist(), band.part.tolist(), strict=True))
    assert by_pitch == {76: 0, 67: 1, 36: 3, 52: 2, 55: 2}
    with pytest.raises(ValueError, match="POP909 parts"):
        pop_band_parts(band)


def test_pop_song_has_a_bass_line_of_low_piano_notes(data_dir):
    band = load_piece("pop", "001")
    plain = load_piece("pop909", "001")
    assert np.array_equal(band.pitch, plain.pitch)
    assert np.array_equal(np.minimum(band.part, 2), plain.part)  # bass notes were piano
    bass = band.pitch[band.part == 3]
    assert 0.03 < len(bass) / len(band) < 0.3 and bass.max() < 55
