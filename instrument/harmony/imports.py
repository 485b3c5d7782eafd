"""Charts from annotated music: POP909 chord files and MusicXML lead sheets (OpenEWLD).

Both importers first sample the chord on every beat of every bar, then write each bar
as simply as its beats allow: one chord, two halves, or one slot per beat with ``-``
holding (``bar_slots``). Chord changes off the beat are moved to the beat they fall in.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from instrument.errors import InstrumentError, untrusted
from instrument.harmony.chart import HOLD, Chart
from instrument.harmony.chords import NO_CHORD, QUALITIES, Chord, closest_quality, parse_chord


def bar_slots(beats: Sequence[Chord]) -> tuple[Chord | None, ...]:
    """The fewest even slots that reproduce the per-beat chords of one bar.

    ``[C, C, G, G]`` -> ``(C, G)``; ``[C, C, C, G]`` -> ``(C, HOLD, HOLD, G)``.
    """
    n = len(beats)
    for k in range(1, n + 1):
        if n % k:
            continue
        w = n // k
        if all(beats[i] == beats[(i // w) * w] for i in range(n)):
            slots = [beats[i * w] for i in range(k)]
            break
    return tuple(
        HOLD if i > 0 and slots[i] == slots[i - 1] else slots[i] for i in range(len(slots))
    )


def _trim(bars: list[tuple[Chord | None, ...]]) -> list[tuple[Chord | None, ...]]:
    """Drop the bars of silence at the end. Those at the start stay: bar 1 of the chart
    is the song's first measure, so the chart keeps time with the song's own melody (a
    pickup bar with no chord is still a bar the melody counts)."""
    silent = [all(c in (NO_CHORD, HOLD) for c in bar) for bar in bars]
    if all(silent):
        return bars
    last = len(silent) - 1 - silent[::-1].index(False)
    return bars[: last + 1]


def chart_from_pop909(song: str | os.PathLike, title: str = "") -> Chart:
    """A chart of a POP909 song folder (``.../POP909/NNN``) from ``beat_midi.txt`` and
    ``chord_midi.txt``. Bars are the measures the data set marks (or pairs of them where
    its measures are 2 beats long); tempo is the median beat rate."""
    with untrusted(song, "POP909 song folder"):
        return _pop909_chart(Path(song), title)


def _pop909_chart(folder: Path, title: str) -> Chart:
    from instrument.datasets.pop909 import read_beats, read_spans

    beats_file, chords_file = folder / "beat_midi.txt", folder / "chord_midi.txt"
    if not beats_file.exists() or not chords_file.exists():
        raise InstrumentError(f"not a POP909 song folder (no beat/chord files): {folder}")
    times, downbeats, hyper = read_beats(beats_file)
    spans = read_spans(chords_file)
    starts = np.flatnonzero(downbeats)
    if len(starts) < 2:
        raise InstrumentError(f"{beats_file}: fewer than two measures")
    if np.median(np.diff(starts)) < 3 and hyper.any():
        starts = np.flatnonzero(hyper)  # 2-beat measures: bars of 4/4 are every second one
    per_bar = int(np.median(np.diff(starts)))
    span_starts = np.array([s for s, _, _ in spans])
    labels = [parse_chord(label) for _, _, label in spans]

    def chord_at(t: float) -> Chord:
        i = int(np.searchsorted(span_starts, t + 1e-3, side="right")) - 1
        return labels[i] if i >= 0 and t < spans[i][1] else NO_CHORD

    bars = []
    for b in starts:
        if b + per_bar > len(times):
            break
        bars.append(bar_slots([chord_at(times[b + k]) for k in range(per_bar)]))
    tempo = 60.0 / float(np.median(np.diff(times)))
    key = None
    if (folder / "key_audio.txt").exists():
        keys = read_spans(folder / "key_audio.txt")
        if keys:  # "Gb:maj" -> "Gb", "E:min" -> "Em"
            tonic, _, mode = keys[0][2].partition(":")
            key = tonic + ("m" if mode.startswith("min") else "")
    return Chart(
        tuple(_trim(bars)),
        tempo=round(tempo, 1),
        meter=(per_bar, 4),
        title=title or f"POP909 {folder.name}",
        key=key,
    )


# MusicXML <kind> values -> qualities here (music21's ChordSymbol.chordKind).
_KINDS = {
    "major": "maj", "minor": "min", "augmented": "aug", "diminished": "dim",
    "dominant": "7", "dominant-seventh": "7", "major-seventh": "maj7", "minor-seventh": "m7",
    "diminished-seventh": "dim7", "half-diminished": "m7b5", "major-minor": "mMaj7",
    "minor-major": "mMaj7", "major-sixth": "6", "minor-sixth": "m6", "dominant-ninth": "9",
    "major-ninth": "maj9", "minor-ninth": "m9", "dominant-11th": "11", "minor-11th": "m11",
    "dominant-13th": "13", "suspended-second": "sus2", "suspended-fourth": "sus4",
    "power": "5",
}  # fmt: skip


def chord_from_music21(cs) -> Chord:
    """A ``music21.harmony.ChordSymbol`` as a Chord (NO_CHORD for "N.C.")."""
    from music21 import harmony

    if isinstance(cs, harmony.NoChord) or cs.root() is None:
        return NO_CHORD
    root = cs.root().pitchClass
    bass = cs.bass().pitchClass if cs.bass() is not None else None
    quality = _KINDS.get(cs.chordKind or "")
    has_degrees = bool(cs.chordStepModifications)  # every music21 Harmony has the list
    if quality is None or has_degrees:
        intervals = frozenset((p.pitchClass - root) % 12 for p in cs.pitches)
        quality = closest_quality(intervals)
    return Chord(root, quality if quality in QUALITIES else "maj", bass)


def chart_from_musicxml(path: str | os.PathLike, title: str = "") -> Chart:
    """A chart of the chord symbols of a MusicXML lead sheet (.mxl / .musicxml / .xml).

    The meter is the first time signature; a pickup bar without chords is dropped.
    """
    p = Path(path)
    if not p.exists():
        raise InstrumentError(f"lead sheet not found: {p}")
    with untrusted(p, "MusicXML lead sheet"):
        return _musicxml_chart(p, title)


def _musicxml_chart(p: Path, title: str) -> Chart:
    import music21

    score = music21.converter.parse(str(p))
    part = score.parts[0] if score.parts else score
    measures = list(part.getElementsByClass(music21.stream.Measure))
    symbols = list(part.recurse().getElementsByClass(music21.harmony.ChordSymbol))
    if not measures or not symbols:
        raise InstrumentError(f"{p}: no measures with chord symbols")
    ts = part.recurse().getElementsByClass(music21.meter.TimeSignature).first()
    num, den = (ts.numerator, ts.denominator) if ts else (4, 4)
    quarter_per_beat = 4.0 / den
    tempo_mark = part.recurse().getElementsByClass(music21.tempo.MetronomeMark).first()
    tempo = float(tempo_mark.number) if tempo_mark and tempo_mark.number else 100.0

    # (absolute quarter offset, chord), in time order
    changes = sorted(
        ((float(cs.getOffsetInHierarchy(part)), chord_from_music21(cs)) for cs in symbols),
        key=lambda t: t[0],
    )
    times = [t for t, _ in changes]
    bars = []
    for m in measures:
        start = float(m.getOffsetInHierarchy(part))
        length = float(m.barDuration.quarterLength)
        if float(m.duration.quarterLength) < length - 1e-6 and not bars:
            if not any(start <= t < start + m.duration.quarterLength for t in times):
                continue  # pickup without chords
        beats = []
        for k in range(num):
            t = start + k * quarter_per_beat
            i = int(np.searchsorted(times, t + 1e-6, side="right")) - 1
            beats.append(changes[i][1] if i >= 0 else NO_CHORD)
        bars.append(bar_slots(beats))
    name = title or (score.metadata.title if score.metadata and score.metadata.title else "")
    name = name or p.stem.replace("_", " ")
    return Chart(tuple(_trim(bars)), tempo=tempo, meter=(num, den), title=str(name))
