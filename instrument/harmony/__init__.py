"""Harmony: chord symbols, chord naming from notes, chord charts, the chord language model.

``chords`` (symbols), ``naming`` (chords from notes), ``chart`` (chord charts),
``imports`` (charts from other formats), ``chordlm`` (the chord language model and its
training), ``suggest`` (progressions from words), ``chorales`` and ``evaluate`` (scoring
chord naming and ``suggest``).
"""

from instrument.harmony.chart import (
    HOLD,
    Chart,
    ChordSpan,
    Section,
    chart_from_chords,
    load_chart,
    parse_chart,
    save_chart,
)
from instrument.harmony.chords import NO_CHORD, QUALITIES, Chord, parse_chord, parse_pitch_class

__all__ = [
    "HOLD",
    "NO_CHORD",
    "QUALITIES",
    "Chart",
    "Chord",
    "ChordSpan",
    "Section",
    "chart_from_chords",
    "load_chart",
    "parse_chart",
    "parse_chord",
    "parse_pitch_class",
    "save_chart",
]
