"""A chart in -> the band's notes fall on chord tones and the beat grid; bad charts fail cleanly."""

from __future__ import annotations

import mido
import pytest

from instrument.accompany.notes import BASS, COMP, DRUMS, MELODY
from instrument.accompany.offline import (
    accompany,
    chart_track,
    section_requests,
)
from instrument.accompany.planner import BandPlanner, Sections
from instrument.accompany.styles import STYLES, make_style
from instrument.cli import main
from instrument.errors import InstrumentError
from instrument.harmony.chart import parse_chart

CHART = """title: test
tempo: 120
meter: 4/4
| C | Am | F G | C |
| Dm7 | G7 | C/E | C |
"""


def run_style(name: str, chart_text: str = CHART, player=()):
    chart = parse_chart(chart_text)
    chords = chart_track(chart)
    planner = BandPlanner(chords, chart.beats_per_bar, make_style(name), continue_beats=0)
    return chart, chords, accompany(list(player), planner, int(chart.total_beats))


@pytest.mark.parametrize("name", sorted(STYLES))
def test_style_follows_chart_on_grid(name):
    chart, chords, band = run_style(name)
    pitched = [n for n in band if n.part in (BASS, COMP)]
    assert len(pitched) >= 2 * chart.total_beats / 4  # something in every bar
    bars_with_notes = {int(n.onset // 4) for n in pitched}
    assert bars_with_notes == set(range(len(chart.bars)))
    for n in band:
        # sixteenths, or swung eighths (2/3 of a beat) for the swing style
        assert abs(n.onset * 12 - round(n.onset * 12)) < 1e-6, n
        if name != "walking":
            assert abs(n.onset * 4 - round(n.onset * 4)) < 1e-6, n
        assert 0 <= n.onset < chart.total_beats and n.duration > 0
    off_chord = [n for n in pitched if n.pitch % 12 not in chords.at(n.onset).pcs]
    if name == "walking":
        # only the bass's chromatic approach notes: a semitone from the coming chord's root
        for n in off_chord:
            assert n.part == BASS
            nxt = chords.at(n.onset + 1)
            assert (n.pitch - nxt.bass) % 12 in (1, 11), n
        assert len(off_chord) <= 0.15 * len(pitched)
    else:
        assert off_chord == []


def test_slash_chord_puts_its_bass_lowest():
    chart, chords, band = run_style("block", "| C/E | G/B |")
    bass = [n for n in band if n.part == BASS]
    assert {n.pitch % 12 for n in bass if n.onset < 4} <= {4, 7}  # E, or the fifth G
    assert bass[0].pitch % 12 == 4
    assert [n for n in bass if n.onset == 4][0].pitch % 12 == 11


def test_sections_fill_crash_and_ending():
    s = Sections(4, intro_bars=1)
    assert s.at(0) == ("intro", False)
    assert s.at(4) == ("A", True)
    s.request("B", 9.5)  # during bar 3 (beats 8-11): fill from beat 10, B from beat 12
    assert s.at(9)[0] == "A" and s.at(10)[0] == "fill" and s.at(11)[0] == "fill"
    assert s.at(12) == ("B", True)
    s.request("ending", 13.0)
    assert [s.at(b)[0] for b in (15, 16, 19, 20)] == ["B", "ending", "ending", "stop"]
    assert s.end_beat() == 20
    with pytest.raises(InstrumentError):
        s.request("chorus", 0)


def test_chart_ending_and_drums():
    chart, chords, band = run_style("pop8")
    planner = BandPlanner(chords, 4, make_style("pop8"), continue_beats=0)
    section_requests(chart, planner.sections)
    band = accompany([], planner, int(chart.total_beats))
    last_bar = [n for n in band if n.onset >= chart.total_beats - 4]
    assert last_bar and all(n.onset == chart.total_beats - 4 for n in last_bar)  # one chord
    assert any(n.part == DRUMS for n in band)
    assert not any(n.part == MELODY for n in band)


def test_no_chord_means_no_pitched_notes():
    chart, chords, band = run_style("block", "| N | C |")
    assert all(n.onset >= 4 for n in band if n.part in (BASS, COMP))


def write_melody(path, notes):
    midi = mido.MidiFile(ticks_per_beat=480)
    t = mido.MidiTrack()
    now = 0
    for on, off, pitch in notes:
        t.append(mido.Message("note_on", note=pitch, velocity=90, time=on * 480 - now))
        t.append(mido.Message("note_off", note=pitch, velocity=0, time=(off - on) * 480))
        now = off * 480
    midi.tracks.append(t)
    midi.save(path)


def test_cli_accompany_writes_multitrack(tmp_path):
    chart = tmp_path / "chart.txt"
    chart.write_text(CHART)
    mel = tmp_path / "mel.mid"
    write_melody(mel, [(0, 1, 72), (1, 2, 76), (2, 4, 79), (4, 6, 69)])
    out = tmp_path / "out.mid"
    assert (
        main(
            [
                "accompany",
                str(mel),
                "--chart",
                str(chart),
                "-o",
                str(out),
                "--style",
                "arpeggio",
                "--continue-beats",
                "4",
            ]
        )
        == 0
    )
    midi = mido.MidiFile(str(out))
    names = [t.name for t in midi.tracks[1:]]
    assert names[:2] == ["Player", "Continuation"] and "Bass" in names and "Drums" in names
    player = midi.tracks[1 + names.index("Player")]
    ons = [m.note for m in player if m.type == "note_on" and m.velocity]
    assert ons == [72, 76, 79, 69]  # the player's part comes back unchanged
    drums = [m for m in midi.tracks[-1] if m.type == "note_on"]
    assert drums and all(m.channel == 9 for m in drums)


@pytest.mark.parametrize(
    "text, words",
    [
        ("| C | Xq7 |", "not a chord symbol"),
        ("| C | Cblah |", "unknown chord quality"),
        ("tempo: fast\n| C |", "tempo"),
        ("title: nothing", "no bars"),
        ("| - | C |", "hold"),
    ],
)
def test_malformed_chart_is_one_line_error(tmp_path, capsys, text, words):
    chart = tmp_path / "bad.txt"
    chart.write_text(text)
    mel = tmp_path / "mel.mid"
    write_melody(mel, [(0, 1, 60)])
    code = main(
        [
            "accompany",
            str(mel),
            "--chart",
            str(chart),
            "-o",
            str(tmp_path / "o.mid"),
            "--style",
            "block",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("instrument: error:") and err.count("\n") == 1
    assert words in err.lower()
    assert not (tmp_path / "o.mid").exists()


def test_unknown_style_and_missing_files(tmp_path, capsys):
    chart = tmp_path / "c.txt"
    chart.write_text(CHART)
    assert (
        main(
            [
                "accompany",
                str(tmp_path / "none.mid"),
                "--chart",
                str(chart),
                "-o",
                str(tmp_path / "o.mid"),
                "--style",
                "block",
            ]
        )
        == 2
    )
    assert "not found" in capsys.readouterr().err
    mel = tmp_path / "mel.mid"
    write_melody(mel, [(0, 1, 60)])
    assert (
        main(
            [
                "accompany",
                str(mel),
                "--chart",
                str(chart),
                "-o",
                str(tmp_path / "o.mid"),
                "--style",
                "polka",
            ]
        )
        == 2
    )
    assert "unknown style" in capsys.readouterr().err


def test_chart_sections_become_main_a_and_b():
    chart = parse_chart("[verse]\n| C | F | C | G |\n[chorus]\n| F | G | C | C |\n")
    sections = Sections(4)
    section_requests(chart, sections)
    assert sections.at(0)[0] == "A" and sections.at(13)[0] == "A"
    assert sections.at(14)[0] == "fill" and sections.at(15)[0] == "fill"
    assert sections.at(16) == ("B", True)
    assert sections.at(28)[0] == "ending" and sections.at(32)[0] == "stop"
