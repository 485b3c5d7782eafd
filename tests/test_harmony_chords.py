"""Chord symbols: parsing lead-sheet spellings and Harte labels, names, pitch classes."""

import pytest

from instrument.errors import InstrumentError
from instrument.harmony.chords import NO_CHORD, QUALITIES, Chord, parse_chord, parse_pitch_class

C, Db, D, Eb, E, F, Gb, G, Ab, A, Bb, B = range(12)


@pytest.mark.parametrize(
    "text, root, quality, bass, pcs",
    [
        ("C", C, "maj", None, {C, E, G}),
        ("Am7", A, "m7", None, {A, C, E, G}),
        ("F#m7b5", Gb, "m7b5", None, {Gb, A, C, E}),
        ("Bb/D", Bb, "maj", D, {Bb, D, F}),
        ("G7sus4", G, "7sus4", None, {G, C, D, F}),
        ("Cdim7", C, "dim7", None, {C, Eb, Gb, A}),
        ("Ebaug", Eb, "aug", None, {Eb, G, B}),
        ("C+", C, "aug", None, {C, E, Ab}),
        ("Dsus2", D, "sus2", None, {D, E, A}),
        ("Dsus", D, "sus4", None, {D, G, A}),
        ("A6", A, "6", None, {A, Db, E, Gb}),
        ("Dm6", D, "m6", None, {D, F, A, B}),
        ("Emaj7", E, "maj7", None, {E, Ab, B, Eb}),
        ("CΔ7", C, "maj7", None, {C, E, G, B}),
        ("Cm(maj7)", C, "mMaj7", None, {C, Eb, G, B}),
        ("CmMaj7", C, "mMaj7", None, {C, Eb, G, B}),
        ("Bø", B, "m7b5", None, {B, D, F, A}),
        ("G9", G, "9", None, {G, B, D, F, A}),
        ("Cadd9", C, "add9", None, {C, D, E, G}),
        ("C(add9)", C, "add9", None, {C, D, E, G}),
        ("F11", F, "11", None, {F, A, C, Eb, G, Bb}),
        ("G13", G, "13", None, {G, B, D, F, A, E}),
        ("E7#9", E, "7#9", None, {E, Ab, B, D, G}),
        ("Cb", B, "maj", None, {B, Eb, Gb}),
        ("G7/F", G, "7", F, {G, B, D, F}),
        ("Am/G", A, "min", G, {A, C, E, G}),
        ("A:min7", A, "m7", None, {A, C, E, G}),
        ("C:maj/3", C, "maj", E, {C, E, G}),
        ("F#:maj7/5", Gb, "maj7", Db, {Gb, Bb, Db, F}),
        ("Bb:sus4(b7)", Bb, "7sus4", None, {Bb, Eb, F, Ab}),
        ("C:hdim7", C, "m7b5", None, {C, Eb, Gb, Bb}),
        ("C:(1,3,5,b7)", C, "7", None, {C, E, G, Bb}),
        ("D:min/b3", D, "min", F, {D, F, A}),
        ("G:7/b7", G, "7", F, {G, B, D, F}),
        ("E:maj(9)", E, "add9", None, {E, Gb, Ab, B}),
        ("A:min(*5)", A, "min", None, {A, C, E}),
    ],
)
def test_parse(text, root, quality, bass, pcs):
    chord = parse_chord(text)
    assert (chord.root, chord.quality, chord.bass) == (root, quality, bass)
    assert chord.pitch_classes == frozenset(pcs)


@pytest.mark.parametrize("text", ["N", "N.C.", "X"])
def test_no_chord(text):
    assert parse_chord(text) is NO_CHORD or parse_chord(text) == NO_CHORD
    assert parse_chord(text).pitch_classes == frozenset()


@pytest.mark.parametrize(
    "text, name, harte",
    [
        ("A:min7", "Am7", "A:min7"),
        ("C:maj/3", "C/E", "C:maj/3"),
        ("F#:maj7/5", "F#maj7/C#", "F#:maj7/5"),
        ("Bb/D", "Bb/D", "Bb:maj/3"),
        ("Db:min", "C#m", "Db:min"),
        ("A#", "Bb", "Bb:maj"),
        ("Ebm7b5", "Ebm7b5", "Eb:hdim7"),
        ("N", "N", "N"),
    ],
)
def test_canonical_names(text, name, harte):
    chord = parse_chord(text)
    assert chord.name == name and str(chord) == name
    assert chord.harte == harte


def test_every_quality_round_trips_through_both_names():
    for q in QUALITIES:
        for root in range(12):
            for bass in (None, (root + 4) % 12):
                chord = Chord(root, q, bass)
                assert parse_chord(chord.name) == chord, chord.name
                assert parse_chord(chord.harte) == chord, chord.harte


def test_slash_bass_equal_to_root_is_dropped_and_transpose():
    assert Chord(0, "maj", 0) == Chord(0, "maj")
    assert parse_chord("C/E").transpose(2) == parse_chord("D/F#")
    assert parse_chord("B").transpose(1).root == 0


@pytest.mark.parametrize("bad", ["H7", "Cxyz", "", "C/H", "C:foo", "C:maj/12", "7"])
def test_bad_symbols_raise_instrument_error(bad):
    with pytest.raises(InstrumentError):
        parse_chord(bad)


def test_pitch_class_names():
    assert [parse_pitch_class(n) for n in ("C", "c#", "Db", "E#", "Fb", "B#", "Bbb")] == [
        0,
        1,
        1,
        5,
        4,
        0,
        9,
    ]
    with pytest.raises(InstrumentError):
        parse_pitch_class("Q")
