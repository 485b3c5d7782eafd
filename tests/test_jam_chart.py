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


# -- looping, intro, ending -------------------------------------------------------------------
def test_looped_chart_has_intro_then_passes_then_ending():
    from instrument.accompany.offline import chart_track, section_requests
    from instrument.accompany.planner import Sections
    from instrument.harmony.chart import parse_chart

    chart = parse_chart("| C | Am | F | G |")
    track = chart_track(chart, loops=3, intro_bars=1)
    names = [track.at(b).root for b in range(0, 4 + 3 * 16, 4)]
    # intro bar on the first chord, then C Am F G three times
    assert names == [0] + [0, 9, 5, 7] * 3
    sections = Sections(4, intro_bars=1)
    section_requests(chart, sections, loops=3, intro_bars=1)
    assert sections.at(0)[0] == "intro" and sections.at(4) == ("A", True)
    last_bar = 4 + 3 * 16 - 4
    assert sections.at(last_bar)[0] == "ending" and sections.at(last_bar - 4)[0] == "A"
    assert sections.end_beat() == 4 + 3 * 16  # silent after the last pass


def test_open_loop_goes_round_until_the_ending_is_asked_for():
    from instrument.accompany.offline import chart_track, section_requests
    from instrument.accompany.planner import Sections
    from instrument.harmony.chart import parse_chart

    chart = parse_chart("| Dm | G |")
    track = chart_track(chart, loops=None)
    assert track.at(8 * 500).root == 2 and track.at(8 * 500 + 4).root == 7  # bar 1001
    assert len(track.starts) < 2 * 520  # laid out as the band reads ahead, not all at once
    sections = Sections(4)
    section_requests(chart, sections, loops=None)
    assert sections.end_beat() == float("inf")
    sections.request("ending", 41.0)
    assert sections.at(44)[0] == "ending" and sections.end_beat() == 48


def test_inline_chart_text_and_builtin_names_resolve():
    from instrument.errors import InstrumentError
    from instrument.practice.exercises import resolve_chart

    chart, name = resolve_chart("| C | Am | F G | C |")
    assert name == "inline" and len(chart.bars) == 4 and chart.bars[2][1].root == 7
    assert resolve_chart("ii-v-i-c")[0].bars
    with pytest.raises(InstrumentError, match="chart text"):
        resolve_chart("| C | Xq7 |")


def _melody(path, beats=16):
    import mido

    mid = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    for b in range(beats):
        tr.append(mido.Message("note_on", note=72 + b % 5, velocity=90, time=0 if b == 0 else 240))
        tr.append(mido.Message("note_off", note=72 + b % 5, velocity=0, time=240))
    mid.save(path)
    return path


def test_accompany_takes_inline_charts_and_loops(tmp_path, capsys):
    import mido

    from instrument.cli import main

    out = tmp_path / "band.mid"
    code = main(["accompany", str(_melody(tmp_path / "m.mid")), "--chart", "| C | Am | F G | C |",
                 "--style", "block", "--loop", "2", "--intro", "1", "-o", str(out)])
    assert code == 0
    mid = mido.MidiFile(out)
    bass = next(t for t in mid.tracks if t.name == "Bass")
    tick, ons = 0, []
    for m in bass:
        tick += m.time
        if m.type == "note_on" and m.velocity:
            ons.append(tick / mid.ticks_per_beat)
    assert max(ons) >= 4 + 16 + 12  # the second pass is played (after the intro bar)
    assert "wrote" in capsys.readouterr().out


def test_accompany_help_shows_the_chart_forms(capsys):
    from instrument.cli import main

    with pytest.raises(SystemExit):
        main(["accompany", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "pop909:NNN" in text and '"| C | Am | F G | C |"' in text


def test_jam_help_shows_every_default(capsys):
    import argparse

    from instrument.cli import main
    from instrument.cli.cmd_jam import register

    with pytest.raises(SystemExit):
        main(["jam", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: 60)" in text and "(default: pop909)" in text and "pop909:NNN" in text
    sub = argparse.ArgumentParser().add_subparsers()
    register(sub)
    jam = sub.choices["jam"]
    formatter = jam._get_formatter()
    for action in jam._actions:
        if action.option_strings and action.nargs != 0:
            assert "default" in formatter._expand_help(action), action.option_strings


def test_jam_records_player_and_band_and_loops(tmp_path, capsys):
    """``jam --chart TEXT --loop 2 --record DIR`` end to end (its real threads, no audio
    device): the take holds the player's files and band.mid, the band's notes of both
    passes, and the chart was played round twice."""
    import mido

    from instrument.cli import main
    from instrument.errors import InstrumentError
    from instrument.synth import find_soundfont

    try:
        find_soundfont()
    except InstrumentError as e:
        pytest.skip(str(e))
    code = main(["jam", "--chart", "tempo: 240\n| C | F |", "--loop", "2", "--style", "block",
                 "--audio", "none", "--midi-in", "none", "--no-display", "--duration", "6",
                 "--record", str(tmp_path), "--play-file", str(_melody(tmp_path / "m.mid", 8))])
    out = capsys.readouterr().out
    assert code == 0 and "2 times" in out
    take = next(tmp_path.glob("take-*"))
    assert (take / "input.mid").exists() and (take / "arranged.mid").exists()
    band = mido.MidiFile(take / "band.mid")
    names = [t.name for t in band.tracks]
    assert "Bass" in names and "Drums" in names
    bass = band.tracks[names.index("Bass")]
    tick, ons = 0, []
    for m in bass:
        tick += m.time
        if m.type == "note_on" and m.velocity:
            ons.append((mido.tick2second(tick, band.ticks_per_beat, 250000), m.note % 12))
    # a bar is 1 s at 240 BPM: C in the first and the third bar (the second pass)
    assert {pc for _, pc in ons} >= {0, 5}
    assert max(t for t, pc in ons if pc == 0) - min(t for t, pc in ons if pc == 0) > 1.5
    assert "bar 3 [A] 240 BPM  | C C C C |" in out and "bar 4 [ending]" in out
    import soundfile as sf

    audio, sr = sf.read(take / "take.wav")  # the band is heard in the take's audio
    assert sr == 48000 and len(audio) > 3 * sr and abs(audio).max() > 0.01
    assert band.tracks[0][0].type == "set_tempo" and round(mido.tempo2bpm(
        band.tracks[0][0].tempo)) == 240  # band.mid on the jam's tempo grid
