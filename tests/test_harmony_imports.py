"""Charts imported from POP909 chord files and OpenEWLD MusicXML lead sheets; built-ins."""

import pytest

from instrument.harmony.chart import HOLD, load_chart, parse_chart
from instrument.harmony.chords import NO_CHORD, parse_chord
from instrument.harmony.imports import bar_slots, chart_from_musicxml, chart_from_pop909
from instrument.paths import data_dir
from instrument.practice.exercises import EXERCISES, exercise_names, resolve_chart

C, G, Am = parse_chord("C"), parse_chord("G"), parse_chord("Am")


def test_bar_slots():
    assert bar_slots([C, C, C, C]) == (C,)
    assert bar_slots([C, C, G, G]) == (C, G)
    assert bar_slots([C, C, C, G]) == (C, HOLD, HOLD, G)
    assert bar_slots([C, G, G]) == (C, G, HOLD)


POP909 = data_dir() / "pop909" / "POP909" / "001"
OPENEWLD = data_dir() / "openewld" / "dataset"


@pytest.mark.data
def test_pop909_chart_follows_the_chord_file():
    if not POP909.exists():
        pytest.skip("POP909 not in ../shared/data")
    chart = chart_from_pop909(POP909)
    assert chart.meter == (4, 4) and 85 < chart.tempo < 95
    # chord_midi.txt opens with a bar of N (kept: the melody counts it), then B:maj /
    # C#:maj / Bb:min / Eb:min, two beats each
    assert chart.bars[0] == (NO_CHORD,)
    assert chart.bars[1] == tuple(
        parse_chord(c)
        for c in (
            "B",
            "C#",
        )
    )
    assert chart.bars[2] == tuple(parse_chord(c) for c in ("Bb:min", "Eb:min"))
    assert parse_chart(chart.to_text()) == chart


@pytest.mark.data
def test_openewld_lead_sheet():
    sheets = sorted(OPENEWLD.glob("*/The_Bells_of_St._Mary's/*.mxl"))
    if not sheets:
        pytest.skip("OpenEWLD not in ../shared/data")
    chart = chart_from_musicxml(sheets[0])
    # the first measure has melody but no chord symbol yet: it stays, as a bar of N
    assert chart.meter == (4, 4) and len(chart.bars) == 33 and chart.bars[0] == (NO_CHORD,)
    assert [b[0].name for b in chart.bars[1:9]] == ["F", "F", "Bb", "Bb", "F", "C7", "G7", "C"]
    assert chart.bars[15] == (parse_chord("Gm"), parse_chord("C7"))


def test_builtin_exercises_parse_and_cover_the_common_progressions():
    names = exercise_names()
    assert len(names) >= 30
    for family in ("pop-axis", "ii-v-i", "blues", "fifties", "canon", "minor-pop"):
        keys = [n for n in names if n.startswith(family + "-")]
        assert len(keys) >= 2, family
    for name in names:
        chart = load_chart(EXERCISES / f"{name}.chart")
        assert chart.title and chart.key and len(chart.bars) >= 4
    blues = load_chart(EXERCISES / "blues-f.chart")
    assert [b[0].name for b in blues.bars] == "F7 F7 F7 F7 Bb7 Bb7 F7 F7 C7 Bb7 F7 C7".split()
    chart, exercise = resolve_chart("ii-v-i-bb")
    assert exercise == "ii-v-i-bb" and chart.chords[:3] == [
        parse_chord(c) for c in ("Cm7", "F7", "Bbmaj7")
    ]
