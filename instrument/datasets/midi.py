"""Multitrack MIDI files as parts: each track with notes is one part (Lakh, NES, POP909...).

Notes come out as float arrays of shape (n, 4) with columns ``NOTE_COLUMNS`` =
(onset in seconds, end in seconds, MIDI pitch, velocity), sorted by onset then pitch.
Times follow the file's tempo map, so they are what a listener would hear.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np

from instrument.errors import InstrumentError
from instrument.input.midifile import read_midi

NOTE_COLUMNS = ("onset", "end", "pitch", "velocity")


@dataclass
class Track:
    """One track of a MIDI file: its name (may be empty), index in the file, and notes.

    notes: float64 (n, 4) array of (onset_s, end_s, pitch, velocity), sorted by onset, pitch.
    beats: float64 (n,) onsets in quarter notes (ticks / ticks_per_beat).
    """

    name: str
    index: int
    notes: np.ndarray
    beats: np.ndarray
    program: int | None = None
    is_drum: bool = False


def _tempo_map(midi: mido.MidiFile) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tick, seconds at tick, seconds per tick) at each tempo change, from tick 0."""
    changes: list[tuple[int, int]] = []
    for track in midi.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo":
                changes.append((tick, msg.tempo))
    changes.sort(key=lambda c: c[0])
    ticks, tempos = [0], [500000]
    for tick, tempo in changes:
        if tick == ticks[-1]:
            tempos[-1] = tempo
        else:
            ticks.append(tick)
            tempos.append(tempo)
    ticks_a = np.asarray(ticks, dtype=np.float64)
    spt = np.asarray(tempos, dtype=np.float64) * 1e-6 / midi.ticks_per_beat
    secs = np.concatenate([[0.0], np.cumsum(np.diff(ticks_a) * spt[:-1])])
    return ticks_a, secs, spt


def ticks_to_seconds(midi: mido.MidiFile, ticks: np.ndarray) -> np.ndarray:
    """Seconds from the start of ``midi`` at each of ``ticks`` (any shape)."""
    t0, s0, spt = _tempo_map(midi)
    ticks = np.asarray(ticks, dtype=np.float64)
    i = np.searchsorted(t0, ticks, side="right") - 1
    return s0[i] + (ticks - t0[i]) * spt[i]


def read_tracks(path: str | os.PathLike, keep_empty: bool = False) -> list[Track]:
    """The tracks of a Standard MIDI File with their notes.

    Overlapping notes of one pitch on one channel are paired first-in first-out; a note
    never released ends at the last event of the file. Tracks with no notes are dropped
    unless ``keep_empty``. A type-0 file (all channels in one track) is split by channel.
    InstrumentError for an unreadable file or one without notes.
    """
    midi = read_midi(path)
    raw: list[tuple[str, int, list[tuple[int, int, int, int]], int | None, bool]] = []
    for index, track in enumerate(midi.tracks):
        name = ""
        tick = 0
        open_notes: dict[tuple[int, int], list[tuple[int, int]]] = {}
        by_channel: dict[int, list[tuple[int, int, int, int]]] = {}
        programs: dict[int, int] = {}
        for msg in track:
            tick += msg.time
            if msg.type == "track_name" and not name:
                name = msg.name.strip()
            elif msg.type == "program_change":
                programs.setdefault(msg.channel, msg.program)
            elif msg.type == "note_on" and msg.velocity > 0:
                open_notes.setdefault((msg.channel, msg.note), []).append((tick, msg.velocity))
            elif msg.type in ("note_off", "note_on"):
                stack = open_notes.get((msg.channel, msg.note))
                if stack:
                    start, vel = stack.pop(0)
                    by_channel.setdefault(msg.channel, []).append((start, tick, msg.note, vel))
        for (channel, pitch), stack in open_notes.items():
            for start, vel in stack:
                by_channel.setdefault(channel, []).append((start, tick, pitch, vel))
        if midi.type == 0 and len(by_channel) > 1:
            groups = sorted(by_channel.items())
        else:
            groups = [(min(by_channel, default=None), [n for c in by_channel.values() for n in c])]
        for channel, notes in groups:
            label = f"{name} ch{channel + 1}" if len(groups) > 1 else name
            program = programs.get(channel) if channel is not None else None
            raw.append((label, index, notes, program, channel == 9))
    tracks = []
    for name, index, notes, program, is_drum in raw:
        if not notes and not keep_empty:
            continue
        arr = np.asarray(notes, dtype=np.float64).reshape(-1, 4)
        order = np.lexsort((arr[:, 2], arr[:, 0]))
        arr = arr[order]
        beats = arr[:, 0] / midi.ticks_per_beat
        arr[:, 0] = ticks_to_seconds(midi, arr[:, 0])
        arr[:, 1] = ticks_to_seconds(midi, arr[:, 1])
        tracks.append(Track(name, index, arr, beats, program, is_drum))
    if not tracks:
        raise InstrumentError(f"MIDI file has no notes: {path}")
    return tracks


def track_by_name(tracks: list[Track], name: str, path: str | os.PathLike) -> Track:
    """The track called ``name`` (case-insensitive); InstrumentError naming the file if none."""
    for t in tracks:
        if t.name.upper() == name.upper():
            return t
    found = ", ".join(repr(t.name) for t in tracks)
    raise InstrumentError(f"{Path(path).name}: no track named {name!r} (tracks: {found})")
