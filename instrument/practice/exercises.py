"""Finding the chart to practise: a built-in exercise, a chart file, or an import."""

from __future__ import annotations

import re
from pathlib import Path

from instrument.errors import InstrumentError
from instrument.harmony.chart import Chart, load_chart, parse_chart
from instrument.paths import CONFIGS, data_dir

EXERCISES = CONFIGS / "exercises"


def exercise_names() -> list[str]:
    return sorted(p.stem for p in EXERCISES.glob("*.chart"))


def resolve_chart(spec: str) -> tuple[Chart, str]:
    """(chart, exercise id for the history) from a built-in name (``blues-f``), a chart
    file, a MusicXML lead sheet (.mxl/.musicxml/.xml), a POP909 song folder,
    ``pop909:NNN``, or chart text itself (``"| C | Am | F G | C |"``: bars between bar
    lines, the chart format of ``instrument.harmony.chart``)."""
    from instrument.harmony import imports

    if "|" in spec:  # no file name has a bar line in it
        return parse_chart(spec.replace("\\n", "\n"), source="chart text"), "inline"
    m = re.fullmatch(r"pop909:(\d{1,3})", spec)
    if m:
        folder = data_dir() / "pop909" / "POP909" / f"{int(m.group(1)):03d}"
        return imports.chart_from_pop909(folder), f"pop909:{int(m.group(1)):03d}"
    path = Path(spec)
    builtin = EXERCISES / f"{spec}.chart"
    if not path.exists() and builtin.exists():
        return load_chart(builtin), spec
    if path.is_dir() and (path / "chord_midi.txt").exists():
        return imports.chart_from_pop909(path), f"pop909:{path.name}"
    if path.suffix.lower() in (".mxl", ".musicxml", ".xml"):
        return imports.chart_from_musicxml(path), path.stem
    if not path.exists():
        raise InstrumentError(
            f"no chart file or built-in exercise {spec!r} (see `instrument practice --list`)"
        )
    return load_chart(path), path.stem


def parse_section(spec: str, chart: Chart) -> tuple[int, int]:
    """``"verse"`` (a section name) or ``"5-8"`` (bars, from 1, inclusive) -> (first, end)."""
    m = re.fullmatch(r"(\d+)\s*-\s*(\d+)", spec)
    if m:
        first, last = int(m.group(1)), int(m.group(2))
        if not 1 <= first <= last <= len(chart.bars):
            raise InstrumentError(f"--loop bars must be within 1-{len(chart.bars)}, got {spec}")
        return first - 1, last
    s = chart.section(spec)
    return s.start, s.end
