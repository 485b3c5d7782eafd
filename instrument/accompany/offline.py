"""``instrument accompany`` without a keyboard: a MIDI file of the player's part plus a chord
chart in, the band's accompaniment and continuation out as a multitrack MIDI file.

The input file is replayed as if played live: the planner hears each note when it starts,
plans beat ``b`` one beat before it, and a continuation note is dropped once the player
plays over it. So the file shows what ``instrument jam`` would have played. The input's
quarter notes are the chart's beats, bar 1 starting at tick 0.
"""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass, field
from pathlib import Path

import mido

from instrument.accompany.notes import (
    BASS,
    COMP,
    DRUMS,
    MELODY,
    PART_PROGRAMS,
    BandNote,
    ChordTrack,
    tones_of,
)
from instrument.accompany.planner import BandPlanner, Sections
from instrument.ensemble import DRUM_CHANNEL
from instrument.errors import InstrumentError
from instrument.input.midifile import read_midi

TICKS = 480
# Offline channels: the player's own part, then the band.
OFFLINE_CHANNELS = {"player": 0, MELODY: 1, BASS: 2, COMP: 3, DRUMS: DRUM_CHANNEL}
TRACK_NAMES = {MELODY: "Continuation", BASS: "Bass", COMP: "Comping", DRUMS: "Drums"}


@dataclass(frozen=True)
class PlayerNote:
    """A note of the player's part: onset and end in beats, MIDI pitch and velocity."""

    onset: float
    end: float
    pitch: int
    velocity: int


@dataclass
class Accompaniment:
    player: list[PlayerNote]
    band: list[BandNote]
    chords: ChordTrack
    tempo: float
    beats_per_bar: int
    total_beats: int
    stats: dict = field(default_factory=dict)


class LoopedTrack(ChordTrack):
    """A chart's chords round and round: ``intro`` beats on its first chord, then the
    chart ``loops`` times (None: for as long as the band plays).

    The changes are laid out pass by pass as the band reads ahead (``index`` grows the
    track a pass beyond what is asked), so readers of ``starts`` / ``tones`` (the jam
    view) see the passes coming like a longer chart; a track without end stays as long
    as the passes played.
    """

    def __init__(self, chart, loops: int | None = None, intro: float = 0.0):
        if loops is not None and loops < 1:
            raise InstrumentError(f"a chart loops at least once, got {loops}")
        self.period = chart.total_beats
        self.loops = loops
        self.intro = float(intro)
        self._pass = [(span.start, tones_of(span.chord)) for span in chart.spans]
        self._passes = 0
        super().__init__([(0.0, self._pass[0][1])] if intro > 0 else [])
        self._grow(self.intro)

    def _grow(self, beat: float) -> None:
        while (
            self.loops is None or self._passes < self.loops
        ) and self.intro + self._passes * self.period <= beat + self.period:
            offset = self.intro + self._passes * self.period
            for start, tones in self._pass:
                self.add(offset + start, tones)
            self._passes += 1

    def index(self, beat: float) -> int:
        self._grow(beat)
        return super().index(beat)

    def end(self) -> float:
        """Where the last pass ends (inf without a count)."""
        if self.loops is None:
            return float("inf")
        return self.intro + self.loops * self.period


def chart_track(chart, loops: int | None = 1, intro_bars: int = 0) -> ChordTrack:
    """The chord track of an ``instrument.harmony.chart.Chart`` (beats from its start):
    once through, or ``loops`` times (None: without end) after ``intro_bars`` bars on its
    first chord (``LoopedTrack``)."""
    if loops == 1 and not intro_bars:
        return ChordTrack([(span.start, tones_of(span.chord)) for span in chart.spans])
    return LoopedTrack(chart, loops, intro_bars * chart.beats_per_bar)


def read_player(path: str | os.PathLike) -> list[PlayerNote]:
    """Every note of a MIDI file (all tracks and channels but drums) in quarter notes."""
    midi = read_midi(path)
    notes: list[PlayerNote] = []
    for track in midi.tracks:
        tick = 0
        open_: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for msg in track:
            tick += msg.time
            if msg.type not in ("note_on", "note_off") or msg.channel == DRUM_CHANNEL:
                continue
            key = (msg.channel, msg.note)
            if msg.type == "note_on" and msg.velocity > 0:
                open_.setdefault(key, []).append((tick, msg.velocity))
            elif open_.get(key):
                start, vel = open_[key].pop(0)
                notes.append(
                    PlayerNote(
                        start / midi.ticks_per_beat, tick / midi.ticks_per_beat, msg.note, vel
                    )
                )
    notes.sort(key=lambda n: (n.onset, n.pitch))
    return notes


OPEN_LOOP_PASSES = 64  # a loop without a count repeats the chart's sections this often


def section_requests(chart, sections: Sections, loops: int | None = 1, intro_bars: int = 0) -> None:
    """Chart sections become arranger sections: "chorus"/"B" play Main B, others Main A,
    each change prepared by a fill, on every pass of a loop (after ``intro_bars``); the
    last bar of the last pass is the ending. A loop without a count (None) ends when the
    player asks (an ending or stop request)."""
    bpb = chart.beats_per_bar
    intro = intro_bars * bpb
    for k in range(OPEN_LOOP_PASSES if loops is None else loops):
        offset = intro + k * chart.total_beats
        for s in chart.sections[1:] if k == 0 else chart.sections:
            label = s.name.lower()
            name = "B" if "chorus" in label or label in ("b", "main b") else "A"
            sections.request(name, offset + s.start * bpb - bpb / 2)
    if loops is not None and (len(chart.bars) >= 2 or loops > 1):
        sections.request("ending", intro + loops * chart.total_beats - bpb - 0.5)


def accompany(
    player: list[PlayerNote], planner: BandPlanner, total_beats: int, lookahead: float = 1.0
) -> list[BandNote]:
    """Replay ``player`` against ``planner`` as live; returns the band's notes.

    Beat ``b`` is planned at beat ``b - lookahead`` knowing the player's notes that began
    before then. A player note drops the continuation notes from its onset on.
    """
    events = sorted([(n.onset, 1, n.pitch) for n in player] + [(n.end, 0, n.pitch) for n in player])
    band: list[BandNote] = []
    i = 0

    def feed(until: float) -> None:
        nonlocal i, band
        while i < len(events) and events[i][0] <= until:
            beat, is_on, pitch = events[i]
            i += 1
            if not is_on:
                planner.player_off(pitch, beat)
                continue
            planner.player_on(pitch, beat)
            if any(n.part == MELODY and n.onset + n.duration > beat for n in band):
                band = [_cut(n, beat) for n in band if not (n.part == MELODY and n.onset >= beat)]
                planner.forget_melody_from(beat)

    for b in range(-planner.count_in, total_beats):
        feed(b - lookahead)
        band += planner.plan(b, b - lookahead)
    feed(float("inf"))
    return sorted(band, key=lambda n: (n.onset, n.part, n.pitch))


def _cut(n: BandNote, beat: float) -> BandNote:
    if n.part == MELODY and n.onset < beat < n.onset + n.duration:
        return BandNote(n.part, n.pitch, n.velocity, n.onset, beat - n.onset)
    return n


def write_multitrack(path: str | os.PathLike, result: Accompaniment) -> Path:
    """A type-1 MIDI file: tempo/meter track, the player's part, then one track per band part."""
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS)
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(result.tempo), time=0))
    meta.append(
        mido.MetaMessage("time_signature", numerator=result.beats_per_bar, denominator=4, time=0)
    )
    midi.tracks.append(meta)
    offset = max([0.0] + [-n.onset for n in result.band])  # a count-in starts before beat 0

    def track(name: str, channel: int, program: int | None, notes) -> None:
        t = mido.MidiTrack()
        t.append(mido.MetaMessage("track_name", name=name, time=0))
        if program is not None:
            t.append(mido.Message("program_change", channel=channel, program=program, time=0))
        msgs = []
        for onset, dur, pitch, vel in notes:
            on = round((onset + offset) * TICKS)
            off = max(on + 1, round((onset + offset + dur) * TICKS))
            msgs += [(on, 1, pitch, vel), (off, 0, pitch, 0)]
        msgs.sort(key=lambda m: (m[0], m[1]))
        now = 0
        for tick, is_on, pitch, vel in msgs:
            kind = "note_on" if is_on else "note_off"
            t.append(mido.Message(kind, channel=channel, note=pitch, velocity=vel, time=tick - now))
            now = tick
        midi.tracks.append(t)

    track(
        "Player",
        OFFLINE_CHANNELS["player"],
        PART_PROGRAMS[MELODY],
        [(n.onset, n.end - n.onset, n.pitch, n.velocity) for n in result.player],
    )
    for part in (MELODY, BASS, COMP, DRUMS):
        notes = [(n.onset, n.duration, n.pitch, n.velocity) for n in result.band if n.part == part]
        if notes:
            track(TRACK_NAMES[part], OFFLINE_CHANNELS[part], PART_PROGRAMS.get(part), notes)
    p = Path(path)
    try:
        midi.save(str(p))
    except OSError as e:
        raise InstrumentError(f"cannot write {p}: {e.strerror}") from None
    return p


def pop909_example(song, out_dir: str | os.PathLike, bars: int | None = None) -> tuple[Path, Path]:
    """Write a POP909 song's melody (``melody.mid``) and its chord chart (``chart.txt``).

    ``song`` is a ``data.GridSong``; beat 0 is its first downbeat, one slot per beat.
    ``bars`` keeps only the first bars. Returns (midi path, chart path).
    """
    from instrument.accompany.notes import STEPS_PER_BEAT
    from instrument.harmony.chart import HOLD, Chart
    from instrument.harmony.chords import NO_CHORD

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    bpb = song.beats_per_bar
    n_bars = song.n_beats // bpb if bars is None else min(bars, song.n_beats // bpb)
    starts = [b for b, _ in song.symbols]
    slots: list = []
    for b in range(n_bars * bpb):
        k = bisect.bisect_right(starts, b + 1e-9) - 1
        chord = song.symbols[k][1] if k >= 0 else NO_CHORD
        slots.append(HOLD if slots and chord == _last(slots) else chord)
    grid = tuple(tuple(slots[k : k + bpb]) for k in range(0, len(slots), bpb))
    chart = Chart(grid, tempo=round(song.tempo, 1), meter=(bpb, 4), title=f"POP909 {song.id}")
    chart_path = out / "chart.txt"
    chart_path.write_text(chart.to_text())
    mel = song.part_notes((MELODY,))
    mel = mel[mel[:, 0] < n_bars * bpb * STEPS_PER_BEAT]
    player = [
        PlayerNote(r[0] / STEPS_PER_BEAT, (r[0] + r[1]) / STEPS_PER_BEAT, int(r[3]), 90)
        for r in mel
    ]
    res = Accompaniment(player, [], ChordTrack(), chart.tempo, bpb, n_bars * bpb)
    midi_path = write_multitrack(out / "melody.mid", res)
    return midi_path, chart_path


def _last(slots: list):
    return next(s for s in reversed(slots) if s is not None)
