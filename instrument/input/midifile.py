"""Reading MIDI files with one clear error for anything that is not a usable MIDI file."""

from __future__ import annotations

import os

import mido

from instrument.errors import InstrumentError, untrusted


def read_midi(path: str | os.PathLike) -> mido.MidiFile:
    """Open a Standard MIDI File; InstrumentError if missing, empty, truncated or garbage."""
    with untrusted(path, "MIDI file"):
        midi = mido.MidiFile(str(path), clip=True)
    if not 0 < midi.ticks_per_beat < 0x8000:
        # 0 would divide by zero; the high bit means SMPTE time code, which mido reads as
        # negative ticks per beat and so as negative times.
        raise InstrumentError(
            f"MIDI file has an unusable time division ({midi.ticks_per_beat}): {path}"
        )
    if midi.type == 2:
        raise InstrumentError(f"MIDI type 2 (independent sequences) is not supported: {path}")
    if not any(m.type == "note_on" and m.velocity for t in midi.tracks for m in t):
        raise InstrumentError(f"MIDI file has no notes: {path}")
    return midi


def keyboard_events(midi: mido.MidiFile) -> list[tuple[float, list[int]]]:
    """All tracks and channels merged into one keyboard's stream of (seconds, message bytes).

    Notes, controllers and pitch bend are kept; meta, SysEx and program changes dropped.
    At one instant note-offs come first, then note-ons low to high, as a player's chord
    arrives at the arranger.
    """
    events: list[tuple[float, int, int, list[int]]] = []
    t = 0.0
    for msg in midi:
        t += msg.time
        if msg.is_meta or msg.type in ("sysex", "program_change"):
            continue
        data = msg.bytes()
        status = data[0] & 0xF0
        if status == 0x90 and data[2] > 0:
            order, pitch = 2, data[1]
        elif status in (0x80, 0x90):
            order, pitch = 0, data[1]
        else:
            order, pitch = 1, 0
        events.append((t, order, pitch, data))
    events.sort(key=lambda e: (round(e[0], 6), e[1], e[2]))
    return [(e[0], e[3]) for e in events]


# Tempo, time and key signature events at their times in seconds: a file's bar grid.
Conductor = list[tuple[float, mido.MetaMessage]]
CONDUCTOR_TYPES = ("set_tempo", "time_signature", "key_signature")


def conductor_of(midi: mido.MidiFile, shift: float = 0.0) -> Conductor:
    """The tempo map (and time and key signatures) of ``midi``, ``shift`` seconds later."""
    events: Conductor = []
    t = 0.0
    for msg in midi:  # all tracks merged, delta times in seconds
        t += msg.time
        if msg.type in CONDUCTOR_TYPES:
            events.append((max(0.0, t + shift), msg.copy(time=0)))
    return events


def steady_conductor(bpm: float, beats_per_bar: int = 4) -> Conductor:
    """One tempo and one meter from the start: a clock's bar grid."""
    return [
        (0.0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))),
        (0.0, mido.MetaMessage("time_signature", numerator=beats_per_bar, denominator=4)),
    ]


class TickClock:
    """Seconds -> ticks under a conductor's tempo changes (120 BPM until its first)."""

    def __init__(self, conductor: Conductor, ticks_per_beat: int):
        self.ticks_per_beat = ticks_per_beat
        # (start s, start tick, microseconds per beat) of each tempo segment
        self._segments = [(0.0, 0.0, 500000)]
        for t, msg in sorted(conductor, key=lambda e: e[0]):
            if msg.type != "set_tempo":
                continue
            s0, k0, tempo = self._segments[-1]
            tick = k0 + (t - s0) * 1e6 / tempo * ticks_per_beat
            if t == s0:
                self._segments[-1] = (s0, k0, msg.tempo)
            else:
                self._segments.append((t, tick, msg.tempo))
        self._starts = [seg[0] for seg in self._segments]

    def ticks(self, seconds: float) -> int:
        import bisect

        s0, k0, tempo = self._segments[max(0, bisect.bisect_right(self._starts, seconds) - 1)]
        return int(round(k0 + (seconds - s0) * 1e6 / tempo * self.ticks_per_beat))


def conductor_track(conductor: Conductor, clock: TickClock) -> mido.MidiTrack:
    """A conductor's events as a MIDI track, in time order, with delta ticks."""
    track = mido.MidiTrack()
    last = 0
    for t, msg in sorted(conductor, key=lambda e: e[0]):
        tick = clock.ticks(t)
        track.append(msg.copy(time=tick - last))
        last = tick
    return track


def write_parts(
    path: str | os.PathLike,
    part_names: list[str],
    programs: list[int],
    channels: list[int],
    notes: list[tuple[float, float, int, int, int]],
    ticks_per_beat: int = 480,
    tempo_bpm: float = 120.0,
    conductor: Conductor | None = None,
) -> None:
    """Write a multitrack MIDI file, one named track per part.

    notes: (onset s, end s, pitch, velocity, part index). conductor: the tempo map (and
    meter) to write the notes under, e.g. the source file's (``conductor_of``) or a
    clock's (``steady_conductor``); default ``tempo_bpm`` throughout.
    """
    out = mido.MidiFile(ticks_per_beat=ticks_per_beat)
    clock = TickClock(conductor or steady_conductor(tempo_bpm), ticks_per_beat)
    out.tracks.append(conductor_track(conductor or steady_conductor(tempo_bpm), clock))
    for k, name in enumerate(part_names):
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("track_name", name=name, time=0))
        track.append(mido.Message("program_change", channel=channels[k], program=programs[k]))
        timed = []
        for on, off, pitch, vel, part in notes:
            if part == k:
                timed.append((on, 1, pitch, vel))
                timed.append((max(off, on), 0, pitch, 0))
        timed.sort()
        last = 0
        for sec, is_on, pitch, vel in timed:
            tick = clock.ticks(sec)
            kind = "note_on" if is_on else "note_off"
            track.append(
                mido.Message(kind, channel=channels[k], note=pitch, velocity=vel, time=tick - last)
            )
            last = tick
        out.tracks.append(track)
    try:
        out.save(str(path))
    except OSError as e:
        raise InstrumentError(f"cannot write {path}: {e.strerror}") from None
