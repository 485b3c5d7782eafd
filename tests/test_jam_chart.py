"""Charts for the band: POP909 charts keep time with their song, charts loop with an intro
and an ending, ``accompany --chart`` takes what ``jam --chart`` takes."""

from __future__ import annotations

import numpy as np
import pytest

from instrument.harmony.chords import NO_CHORD, parse_chord
from instrument.paths import data_dir

SONG = data_dir() / "pop909" / "POP909" / "001"


def _labels_on_beats(folder):
    """The song's own chord label on each beat from its first measure, read straight from
    beat_midi.txt and chord_midi.txt (no project code), for 4-beat bars."""
    beats = np.loadtxt(folder / "beat_midi.txt")
    down = np.flatnonzero(beats[:, 1] > 0.5)
    if np.median(np.diff(down)) < 3:
        down = np.flatnonzero(beats[:, 2] > 0.5)
    times = beats[down[0]:, 0]
    spans = [line.split() for line in (folder / "chord_midi.txt").read_text().splitlines()]
    out = []
    for t in times:
        label = "N"
        for s, e, lab in spans:
            if float(s) <= t + 1e-3 < float(e):
                label = lab
        out.append(label)
    return out


@pytest.mark.data
def test_pop909_chart_bars_line_up_with_the_songs_chord_labels():
    if not SONG.exists():
        pytest.skip("POP909 not in ../shared/data")
    from instrument.practice.exercises import resolve_chart

    chart, _ = resolve_chart("pop909:001")
    labels = _labels_on_beats(SONG)
    assert labels[:4] == ["N"] * 4 and labels[4] != "N"  # song 001 opens with a bar of N
    assert chart.bars[0] == (NO_CHORD,)  # ... and so does its chart: bar 1 is bar 1
    n = int(chart.total_beats)
    agree = [chart.chord_at(b) == parse_chord(labels[b]) for b in range(n)]
    assert np.mean(agree) > 0.97  # off-beat changes move to their beat; nothing shifts


@pytest.mark.data
def test_pop909_chart_and_melody_share_beat_zero():
    """The melody the jam screenshots play (POP909's grid: beat 0 = first measure) and the
    chart agree chord for chord: the band is not a bar ahead of the song."""
    if not SONG.exists():
        pytest.skip("POP909 not in ../shared/data")
    from instrument.accompany.data import grid_song
    from instrument.datasets.pop909 import load_song
    from instrument.practice.exercises import resolve_chart

    chart, _ = resolve_chart("pop909:001")
    grid = grid_song(load_song(SONG))
    on_beat = [(b, c) for b, c in grid.symbols if b == int(b) and b < chart.total_beats]
    assert len(on_beat) > 50
    assert all(chart.chord_at(b) == c for b, c in on_beat)
