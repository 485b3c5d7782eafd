"""Chord charts: the plain-text format that practice mode and jam mode both read.

A chart is a header, then bars of chords between bar lines::

    # Anything after a '#' that starts a word is a comment ("F#" is a chord, "# x" is not).
    title: Pop axis in C
    tempo: 120          # beats per minute
    meter: 4/4          # beats per bar / beat unit; a beat below is one counted beat
    key: C              # optional, informative
    [verse]             # optional section label: the bars that follow, up to the next one
    | C | G | Am | F |
    | C G | Am F | % | C - - G |

Rules. Chords in a bar split it evenly (``| F G |`` in 4/4: two beats each). ``-`` (or
``.``) holds the previous chord for its slot, across a bar line too (``| C - - G |``:
C three beats, G one; ``| - |``: the last chord goes on for a whole bar). A bar that is
only ``%`` repeats the previous bar, struck again. ``N`` is no chord. Bars may run over
several lines; extra header keys are kept. Errors raise InstrumentError with the line.

Times inside a chart are in beats from its start (0 = first downbeat); ``seconds`` and
``beat_at`` convert at the chart tempo.
"""

from __future__ import annotations

import bisect
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from instrument.errors import InstrumentError, untrusted
from instrument.harmony.chords import Chord, key_names, parse_chord

HOLD = None  # a slot in ``Chart.bars`` that holds the previous chord ("-")
_HEADER_RE = re.compile(r"([A-Za-z][\w ]*?)\s*:\s*(.*)")
_SECTION_RE = re.compile(r"\[\s*([^\]]+?)\s*\]")


@dataclass(frozen=True)
class ChordSpan:
    """One chord to be played: from ``start`` to ``end`` beats, struck in bar ``bar``."""

    chord: Chord
    start: float
    end: float
    bar: int

    @property
    def beats(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Section:
    """Bars ``start`` (inclusive) to ``end`` (exclusive), counted from 0."""

    name: str
    start: int
    end: int


@dataclass(frozen=True, eq=True)
class Chart:
    """A parsed chart. ``bars[i]`` is the tuple of slots of bar i: a Chord, or HOLD."""

    bars: tuple[tuple[Chord | None, ...], ...]
    tempo: float = 120.0
    meter: tuple[int, int] = (4, 4)
    title: str = ""
    key: str | None = None
    sections: tuple[Section, ...] = ()
    meta: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if not self.bars:
            raise InstrumentError("a chart needs at least one bar")
        if self.bars[0][0] is HOLD:
            raise InstrumentError("the first bar cannot start with '-' (nothing to hold)")
        if not self.tempo > 0 or self.meter[0] < 1 or self.meter[1] < 1:
            raise InstrumentError(f"bad tempo {self.tempo} or meter {self.meter}")

    @property
    def beats_per_bar(self) -> int:
        return self.meter[0]

    @property
    def total_beats(self) -> float:
        return float(len(self.bars) * self.beats_per_bar)

    @property
    def seconds_per_beat(self) -> float:
        return 60.0 / self.tempo

    def seconds(self, beat: float) -> float:
        """Seconds from the chart start to ``beat`` at the chart tempo."""
        return beat * self.seconds_per_beat

    def beat_at(self, seconds: float) -> float:
        return seconds / self.seconds_per_beat

    @cached_property
    def spans(self) -> tuple[ChordSpan, ...]:
        """The chords in time order; a held chord is one span across its slots and bars."""
        out: list[ChordSpan] = []
        bpb = self.beats_per_bar
        for b, bar in enumerate(self.bars):
            width = bpb / len(bar)
            for k, slot in enumerate(bar):
                start = b * bpb + k * width
                if slot is HOLD:
                    prev = out[-1]
                    out[-1] = ChordSpan(prev.chord, prev.start, start + width, prev.bar)
                else:
                    out.append(ChordSpan(slot, start, start + width, b))
        return tuple(out)

    @cached_property
    def _starts(self) -> list[float]:
        return [s.start for s in self.spans]

    def span_index_at(self, beat: float) -> int | None:
        """Index into ``spans`` of the chord sounding at ``beat``; None outside the chart."""
        if beat < 0 or beat >= self.total_beats:
            return None
        return bisect.bisect_right(self._starts, beat) - 1

    def span_at(self, beat: float) -> ChordSpan | None:
        i = self.span_index_at(beat)
        return None if i is None else self.spans[i]

    def chord_at(self, beat: float) -> Chord | None:
        """The chord at ``beat`` (beats from the chart start); None before or after it."""
        span = self.span_at(beat)
        return None if span is None else span.chord

    def section(self, name: str) -> Section:
        for s in self.sections:
            if s.name.lower() == name.lower():
                return s
        known = ", ".join(s.name for s in self.sections) or "none"
        raise InstrumentError(f"no section {name!r} in chart (sections: {known})")

    @property
    def chords(self) -> list[Chord]:
        """The struck chords in order (one per span)."""
        return [s.chord for s in self.spans]

    def transpose(self, semitones: int) -> Chart:
        bars = tuple(
            tuple(HOLD if c is HOLD else c.transpose(semitones) for c in bar) for bar in self.bars
        )
        return Chart(bars, self.tempo, self.meter, self.title, None, self.sections, self.meta)

    def to_text(self, bars_per_line: int = 4, names: tuple[str, ...] | None = None) -> str:
        """Serialise; ``parse_chart(chart.to_text()) == chart``. Chords are spelled with
        ``names`` (a pitch class -> name table), else for the chart's key when it has one
        (F# in E major, Gb in Db major)."""
        names = names or key_names(self.key)
        lines = []
        if self.title:
            lines.append(f"title: {self.title}")
        if self.key:
            lines.append(f"key: {self.key}")
        lines.append(f"tempo: {self.tempo:g}")
        lines.append(f"meter: {self.meter[0]}/{self.meter[1]}")
        lines += [f"{k}: {v}" for k, v in self.meta]
        starts = {s.start: s.name for s in self.sections}
        row: list[str] = []
        for b, bar in enumerate(self.bars):
            if b in starts or len(row) == bars_per_line:
                if row:
                    lines.append("| " + " | ".join(row) + " |")
                row = []
            if b in starts:
                lines.append(f"[{starts[b]}]")
            row.append(" ".join("-" if c is HOLD else c.spell(names) for c in bar))
        lines.append("| " + " | ".join(row) + " |")
        return "\n".join(lines) + "\n"


def chart_from_chords(
    chords: list[Chord],
    chords_per_bar: int = 1,
    tempo: float = 120.0,
    meter: tuple[int, int] = (4, 4),
    title: str = "",
    key: str | None = None,
) -> Chart:
    """A chart with ``chords_per_bar`` evenly spaced chords per bar (the last bar is
    filled by holding the last chord)."""
    if not chords:
        raise InstrumentError("a chart needs at least one chord")
    slots: list[Chord | None] = list(chords)
    while len(slots) % chords_per_bar:
        slots.append(HOLD)
    bars = tuple(tuple(slots[i : i + chords_per_bar]) for i in range(0, len(slots), chords_per_bar))
    return Chart(bars, tempo, meter, title, key)


def _strip_comment(line: str) -> str:
    m = re.search(r"(^|\s)#", line)
    return line if m is None else line[: m.start()]


def parse_chart(text: str, source: str = "<chart>") -> Chart:
    """Parse chart text; ``source`` names it in error messages (``source:line: ...``)."""
    header: dict[str, str] = {}
    meta: list[tuple[str, str]] = []
    bars: list[tuple[Chord | None, ...]] = []
    section_starts: list[tuple[str, int, int]] = []  # (name, first bar, line)

    for lineno, raw in enumerate(text.splitlines(), 1):
        line = _strip_comment(raw).strip()
        where = f"{source}:{lineno}"
        if not line:
            continue
        if "|" in line:
            cells = [c.strip() for c in line.split("|")]
            for cell in cells:
                if cell:
                    bars.append(_parse_bar(cell, bars, where))
            continue
        sm = _SECTION_RE.fullmatch(line)
        if sm:
            section_starts.append((sm.group(1), len(bars), lineno))
            continue
        hm = _HEADER_RE.fullmatch(line)
        if hm and len(hm.group(1).strip()) > 1:
            key, value = hm.group(1).strip().lower(), hm.group(2).strip()
            if key in ("title", "tempo", "meter", "time", "key"):
                header["meter" if key == "time" else key] = value
                header[f"_line_{key}"] = where
            else:
                meta.append((key, value))
            continue
        raise InstrumentError(
            f"{where}: expected 'key: value', '[section]' or bars between '|', got {line!r}"
        )

    if not bars:
        raise InstrumentError(f"{source}: no bars found (write chords between '|' bar lines)")
    tempo = 120.0
    if "tempo" in header:
        try:
            tempo = float(header["tempo"].split()[0])
        except (ValueError, IndexError):
            tempo = -1
        if not 1 <= tempo <= 1000:
            raise InstrumentError(f"{header['_line_tempo']}: tempo must be 1-1000 BPM")
    meter = (4, 4)
    if "meter" in header:
        mm = re.fullmatch(r"(\d+)\s*/\s*(\d+)", header["meter"])
        if not mm or not 1 <= int(mm.group(1)) <= 32 or int(mm.group(2)) not in (1, 2, 4, 8, 16):
            line = header.get("_line_meter") or header.get("_line_time")
            raise InstrumentError(f"{line}: meter must look like 4/4 or 6/8")
        meter = (int(mm.group(1)), int(mm.group(2)))
    sections = []
    for i, (name, start, lineno) in enumerate(section_starts):
        end = section_starts[i + 1][1] if i + 1 < len(section_starts) else len(bars)
        if end <= start:
            raise InstrumentError(f"{source}:{lineno}: section [{name}] has no bars")
        sections.append(Section(name, start, end))
    return Chart(
        bars=tuple(bars),
        tempo=tempo,
        meter=meter,
        title=header.get("title", ""),
        key=header.get("key") or None,
        sections=tuple(sections),
        meta=tuple(meta),
    )


def _parse_bar(cell: str, previous: list, where: str) -> tuple[Chord | None, ...]:
    tokens = cell.split()
    if tokens == ["%"]:
        if not previous:
            raise InstrumentError(f"{where}: '%' repeats the previous bar, but there is none")
        return previous[-1]
    slots: list[Chord | None] = []
    for tok in tokens:
        if tok in ("-", "."):
            if not previous and not slots:
                raise InstrumentError(
                    f"{where}: '{tok}' holds the previous chord, but there is none"
                )
            slots.append(HOLD)
        elif tok == "%":
            raise InstrumentError(f"{where}: '%' must be alone in its bar")
        else:
            try:
                slots.append(parse_chord(tok))
            except InstrumentError as e:
                raise InstrumentError(f"{where}: {e}") from None
    return tuple(slots)


def load_chart(path: str | os.PathLike) -> Chart:
    """Read a chart file; InstrumentError if missing, unreadable or malformed."""
    p = Path(path)
    with untrusted(p, "chart file"):
        return parse_chart(p.read_text(encoding="utf-8"), source=str(p))


def save_chart(chart: Chart, path: str | os.PathLike, names: tuple[str, ...] | None = None) -> Path:
    """Write ``chart.to_text(names=names)`` to ``path`` (its folder made if need be)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(chart.to_text(names=names), encoding="utf-8")
    return p
