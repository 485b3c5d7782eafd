"""Chord naming against When in Rome on real chorales (the full figure is in results.md)."""

import pytest

from instrument.harmony.chorales import Tally, chorale_folders, score_chorale

pytestmark = pytest.mark.data


def folder(name):
    found = [f for f in chorale_folders() if f.name == name]
    if not found:
        pytest.skip("When in Rome chorales not in ../shared/data")
    return found[0]


def test_chorale_in_the_analysed_key():
    tally = Tally()
    assert score_chorale(folder("001"), tally) == 60 == tally.n
    assert tally.transposed == 0
    assert tally.rate("onset_root") > 0.8 > 0.7 > tally.rate("lowest_root")


def test_transposed_edition_is_aligned_by_its_bass_line():
    tally = Tally()
    score_chorale(folder("014"), tally)  # the music21 score is in another key
    assert tally.transposed == 1 and tally.rate("onset_root") > 0.7
