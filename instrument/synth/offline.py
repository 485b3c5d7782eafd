"""Offline rendering: timed events played on a Synth, with the audio between them rendered.

The one loop behind ``instrument render`` (the live path, faster than real time) and the
listener's annotated test renders. Each event is played at its sample, ``round(t * rate)``,
after everything before it has been rendered, so the same events give the same audio.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

import mido
import numpy as np

from instrument.synth.fluid import Synth

Event = TypeVar("Event")


def render_events(
    synth: Synth,
    events: Iterable[tuple[float, Event]],
    play: Callable[[float, Event], None],
    until: float | None = None,
    tail: float = 0.0,
) -> np.ndarray:
    """Render ``synth`` while playing ``events``; returns float32 (frames, 2) from time 0.

    events: (time s, event) in time order; ``play(time, event)`` sounds one at its sample.
    until: s; the events from then on are not played, and audio runs through
    ``round(until * rate)``. tail: s of audio kept after that (or after the last event),
    ``int(tail * rate)`` frames, for the releases to ring out.
    """
    rate = synth.sample_rate
    chunks: list[np.ndarray] = []
    pos = 0  # frames rendered so far

    def render_to(frame: int) -> None:
        nonlocal pos
        if frame > pos:
            chunks.append(synth.render(frame - pos))
            pos = frame

    for t, event in events:
        if until is not None and t >= until:
            break
        render_to(int(round(t * rate)))
        play(t, event)
    if until is not None:
        render_to(int(round(until * rate)))
    render_to(pos + int(tail * rate))
    return np.concatenate(chunks) if chunks else np.zeros((0, 2), np.float32)


def play_message(synth: Synth, msg: mido.Message) -> None:
    """Play one mido channel message on ``synth`` (meta and system messages are ignored)."""
    kind = msg.type
    if kind == "note_on":
        if msg.velocity:
            synth.noteon(msg.channel, msg.note, msg.velocity)
        else:
            synth.noteoff(msg.channel, msg.note)
    elif kind == "note_off":
        synth.noteoff(msg.channel, msg.note)
    elif kind == "control_change":
        synth.cc(msg.channel, msg.control, msg.value)
    elif kind == "program_change":
        synth.program(msg.channel, msg.program)
    elif kind == "pitchwheel":
        synth.pitch_bend(msg.channel, msg.pitch + 8192)
