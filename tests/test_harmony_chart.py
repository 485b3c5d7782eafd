"""The text chart format shared by practice and jam mode."""

import pytest

from instrument.errors import InstrumentError
from instrument.harmony.chart import (
    HOLD,
    chart_from_chords,
    load_chart,
    parse_chart,
    save_chart,
)
from instrument.harmony.chords import NO_CHORD, parse_chord

TEXT = """\
# a comment line
title: Test song   # trailing comment
tempo: 96
meter: 4/4
key: C
composer: nobody
[verse]
| C | Am | F G | C - - G |
| % | - |
[chorus]
| F#m7b5 Bb/D | N |
"""


def spans(chart):
    return [(s.chord.name, s.start, s.end, s.bar) for s in chart.spans]


def test_parse_header_bars_and_spans():
    chart = parse_chart(TEXT)
    assert chart.title == "Test song" and chart.tempo == 96 and chart.meter == (4, 4)
    assert chart.key == "C" and dict(chart.meta) == {"composer": "nobody"}
    assert len(chart.bars) == 8 and chart.total_beats == 32
    assert spans(chart) == [
        ("C", 0, 4, 0),
        ("Am", 4, 8, 1),
        ("F", 8, 10, 2),
        ("G", 10, 12, 2),
        ("C", 12, 15, 3),
        ("G", 15, 16, 3),
        ("C", 16, 19, 4),  # '%' repeats bar 3 ...
        ("G", 19, 24, 4),  # ... and '-' then holds its last chord for bar 5
        ("F#m7b5", 24, 26, 6),
        ("Bb/D", 26, 28, 6),
        ("N", 28, 32, 7),
    ]
    assert [(s.name, s.start, s.end) for s in chart.sections] == [
        ("verse", 0, 6),
        ("chorus", 6, 8),
    ]


def test_chord_at():
    chart = parse_chart(TEXT)
    assert chart.chord_at(0) == parse_chord("C")
    assert chart.chord_at(9.99) == parse_chord("F")
    assert chart.chord_at(10) == parse_chord("G")
    assert chart.chord_at(23.5) == parse_chord("G")
    assert chart.chord_at(30) == NO_CHORD
    assert chart.chord_at(-0.1) is None and chart.chord_at(32) is None
    assert chart.seconds(96) == pytest.approx(60.0)


def test_round_trip_through_text(tmp_path):
    chart = parse_chart(TEXT)
    again = parse_chart(chart.to_text())
    assert again == chart and spans(again) == spans(chart)
    path = save_chart(chart, tmp_path / "x.chart")
    assert load_chart(path) == chart


def test_three_chords_split_a_bar_evenly_in_three_four():
    chart = parse_chart("meter: 3/4\n| C F G |\n| Am . |")
    assert spans(chart) == [
        ("C", 0, 1, 0),
        ("F", 1, 2, 0),
        ("G", 2, 3, 0),
        ("Am", 3, 6, 1),
    ]
    assert chart.bars[1] == (parse_chord("Am"), HOLD)


def test_chart_from_chords_fills_the_last_bar():
    chart = chart_from_chords([parse_chord(c) for c in "C G Am".split()], chords_per_bar=2)
    assert spans(chart) == [("C", 0, 2, 0), ("G", 2, 4, 0), ("Am", 4, 8, 1)]


@pytest.mark.parametrize(
    "text, message",
    [
        ("| C | Cq7 |", "bad.chart:1: unknown chord quality 'q7'"),
        ("tempo: 120\n\n| C | H |", "bad.chart:3: not a chord symbol"),
        ("tempo: fast\n| C |", "bad.chart:1: tempo"),
        ("meter: 4\n| C |", "bad.chart:1: meter"),
        ("| - | C |", "bad.chart:1: '-' holds the previous chord"),
        ("| % |", "bad.chart:1: '%' repeats the previous bar"),
        ("| C % |", "bad.chart:1: '%' must be alone"),
        ("title: x\nplay C then G\n| C |", "bad.chart:2: expected"),
        ("title: only a title", "bad.chart: no bars"),
        ("[intro]\n[verse]\n| C |", "bad.chart:1: section [intro] has no bars"),
    ],
)
def test_malformed_charts_name_the_line(text, message):
    with pytest.raises(InstrumentError) as err:
        parse_chart(text, source="bad.chart")
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(InstrumentError, match="not found"):
        load_chart(tmp_path / "nope.chart")


def test_chords_are_spelled_for_the_key():
    chart = parse_chart("key: Db\n| Db | Gb | Ab7 | Bbm |")
    assert chart.to_text().splitlines()[-1] == "| Db | Gb | Ab7 | Bbm |"
    sharp = parse_chart("key: E\n| E | A#dim | D#m7b5 | F#/A# |")
    assert sharp.to_text().splitlines()[-1] == "| E | A#dim | D#m7b5 | F#/A# |"
    assert parse_chart(sharp.to_text()) == sharp
