"""Playing a MIDI file through the live path, faster than real time.

The file is turned into one keyboard's event stream and fed to the same note path the
live loop uses (the compiled one, ``live.notepath``, when it can play the arranger; else
the Python ``Performer``: ``Rendering.note_path`` says which), with a simulated clock;
FluidSynth renders the audio between events.
The arranger's time guard is off (``Arranger.use_time_guard(False)``): a busy machine
must not change the parts. Given the same file, ensemble, arranger and SoundFont, the
output is identical. Notes hold their final parts (after any revision).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from instrument.arrange.base import Arranger, Note
from instrument.ensemble import Ensemble
from instrument.input.midifile import keyboard_events, read_midi
from instrument.live.compiled import CompiledPerformer, python_reason
from instrument.live.performer import NoteEvent, Performer
from instrument.synth.fluid import Synth
from instrument.synth.offline import render_events


@dataclass
class Rendering:
    audio: np.ndarray  # float32 (frames, 2)
    sample_rate: int
    notes: list[tuple[float, float, int, int, int]]  # (onset s, end s, pitch, velocity, part)
    performer: Performer | CompiledPerformer
    # revisions: (onset s, moved at s, pitch, from part, to part), in the order made
    moves: list[tuple[float, float, int, int, int]]
    note_path: str = "python"  # "compiled", or "python (why)"


def render_file(
    path: str | os.PathLike,
    ensemble: Ensemble,
    arranger: Arranger,
    soundfont: str | os.PathLike,
    sample_rate: int = 44100,
    gain: float = 0.5,
    tail: float = 1.5,
) -> Rendering:
    """Arrange and render a MIDI file as if it were played live."""
    events = keyboard_events(read_midi(path))
    arranger.use_time_guard(False)
    arranger.plan(file_notes(events))  # an offline arranger sees the whole file first
    now = [0.0]
    synth = Synth(soundfont, sample_rate=sample_rate, gain=gain)
    reason = python_reason(arranger)
    if reason is None:
        performer = CompiledPerformer(synth, ensemble, arranger, clock=lambda: now[0])
    else:
        performer = Performer(synth, ensemble, arranger, clock=lambda: now[0])
    note_path = "compiled" if reason is None else f"python ({reason})"
    open_notes: dict[tuple[int, int], int] = {}  # (channel, pitch) -> index in notes
    notes: list[tuple[float, float, int, int, int]] = []

    moved: dict[int, tuple[int, float]] = {}  # pitch -> (note index, when) while it moves
    moves: list[tuple[float, float, int, int, int]] = []

    def collect(ev: NoteEvent) -> None:
        key = (ev.channel, ev.pitch)
        if ev.revision and not ev.on and key in open_notes:
            moved[ev.pitch] = (open_notes.pop(key), ev.time)
        elif ev.revision and ev.on and ev.pitch in moved:
            i, when = moved.pop(ev.pitch)  # the same note, on its final part
            on, _, pitch, vel, old = notes[i]
            notes[i] = (on, on, pitch, vel, ev.part)
            open_notes[key] = i
            moves.append((on, when, pitch, old, ev.part))
        elif ev.on:
            open_notes[key] = len(notes)
            notes.append((ev.time, ev.time, ev.pitch, ev.velocity, ev.part))
        elif key in open_notes:
            i = open_notes.pop(key)
            on, _, pitch, vel, part = notes[i]
            notes[i] = (on, ev.time, pitch, vel, part)

    performer.add_listener(collect)

    def play(t: float, data: list[int] | None) -> None:
        now[0] = t
        if data is None:  # after the file's last event
            performer.release_all()
        else:
            performer.handle(data, t)
        if isinstance(performer, CompiledPerformer):
            performer.poll()  # its notes to ``collect``, between the chunks

    end = events[-1][0] if events else 0.0
    try:
        audio = render_events(synth, [*events, (end, None)], play, tail=tail)
    finally:
        synth.close()
    for i in list(open_notes.values()):  # notes the file never ended
        on, _, pitch, vel, part = notes[i]
        notes[i] = (on, end, pitch, vel, part)
    return Rendering(audio, sample_rate, notes, performer, moves, note_path)


def file_notes(events: list[tuple[float, list[int]]]) -> list[Note]:
    """The notes of a keyboard event stream in playing order, each with its release time."""
    notes: list[Note] = []
    open_notes: dict[int, list[int]] = {}  # pitch -> indices of notes still held
    for t, data in events:
        status = data[0] & 0xF0
        if status == 0x90 and data[2] > 0:
            open_notes.setdefault(data[1], []).append(len(notes))
            notes.append(Note(data[1], data[2], t))
        elif status in (0x80, 0x90) and open_notes.get(data[1]):
            i = open_notes[data[1]].pop(0)
            n = notes[i]
            notes[i] = Note(n.pitch, n.velocity, n.time, end=t)
    return notes


PEAK_CEILING_DB = -1.0  # headroom a limiter leaves for lossy encoders and resampling


def limit_peak(audio: np.ndarray, ceiling_db: float = PEAK_CEILING_DB) -> tuple[np.ndarray, float]:
    """``audio`` scaled down as a whole when its peak passes ``ceiling_db`` dBFS, so that
    no sample clips; and the gain applied in dB (0.0: left as it was). One gain for the
    whole file keeps the dynamics exactly as played."""
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    ceiling = 10.0 ** (ceiling_db / 20.0)
    if peak <= ceiling:
        return audio, 0.0
    gain = ceiling / peak
    return (audio * np.float32(gain)).astype(np.float32), 20.0 * float(np.log10(gain))
