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
        raise InstrumentError(f"MIDI file has an unusable time division "
                              f"({midi.ticks_per_beat}): {path}")
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


def write_parts(path: str | os.PathLike, part_names: list[str], programs: list[int],
                channels: list[int], notes: list[tuple[float, float, int, int, int]],
                ticks_per_beat: int = 480, tempo_bpm: float = 120.0) -> None:
    """Write a multitrack MIDI file, one named track per part.

    notes: (onset s, end s, pitch, velocity, part index).
    """
    out = mido.MidiFile(ticks_per_beat=ticks_per_beat)
    tempo = mido.bpm2tempo(tempo_bpm)
    conductor = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=tempo, time=0)])
    out.tracks.append(conductor)
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
            tick = int(round(mido.second2tick(sec, ticks_per_beat, tempo)))
            kind = "note_on" if is_on else "note_off"
            track.append(mido.Message(kind, channel=channels[k], note=pitch, velocity=vel,
                                      time=tick - last))
            last = tick
        out.tracks.append(track)
    try:
        out.save(str(path))
    except OSError as e:
        raise InstrumentError(f"cannot write {path}: {e.strerror}") from None
