"""The performer: every incoming MIDI message, arranged onto the ensemble and sounded.

``handle`` runs in the MIDI thread for each message. It takes no locks: the ensemble,
arranger and channel map live in one immutable ``Setup`` that the main thread replaces
whole (``switch``); the MIDI thread reads the reference once per message. Every sounding
note remembers the channel it went to, so its note-off follows it even across a switch,
and ``release_all`` / ``panic`` can always silence exactly what is sounding.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from instrument.arrange.base import Arranger, Note
from instrument.ensemble import Ensemble
from instrument.input.messages import CONTROL, NOTE_OFF, NOTE_ON, PITCH_BEND, parse
from instrument.synth.fluid import Synth

# Controllers a keyboard sends that every part should follow.
FOLLOWED_CCS = frozenset({1, 2, 4, 11, 64, 66, 67})  # mod, breath, foot, expr., pedals
CC_ALL_SOUND_OFF, CC_ALL_NOTES_OFF = 120, 123


@dataclass(frozen=True)
class Setup:
    """What the performer plays with; replaced whole, never mutated."""

    ensemble: Ensemble
    arranger: Arranger
    channels: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class NoteEvent:
    """A note as the band played it, for listeners (display, recorder, practice, jam).

    on: True for note-on. part: index in the ensemble. time: seconds (monotonic clock).
    """

    on: bool
    pitch: int
    velocity: int
    part: int
    channel: int
    time: float


@dataclass
class Counters:
    notes: int = 0
    ignored: int = 0  # garbage, SysEx, messages we do not use
    orphan_offs: int = 0  # note-offs with no sounding note
    resets: int = 0  # arranger restarts after a pause
    panics: int = 0
    decision_ms: np.ndarray = field(default_factory=lambda: np.zeros(4096))  # ring buffer

    def decision_percentiles(self) -> tuple[float, float]:
        """(p50, p99) of the arranger's decision time in ms over the recent notes."""
        n = min(self.notes, len(self.decision_ms))
        if n == 0:
            return (0.0, 0.0)
        recent = self.decision_ms[:n]
        return float(np.percentile(recent, 50)), float(np.percentile(recent, 99))


class Performer:
    """MIDI in -> arranger -> FluidSynth, one channel per part.

    reset_after: seconds of silence (no key held) after which the arranger starts a new
    phrase, so a stateful model does not carry a previous song into the next one.
    """

    def __init__(self, synth: Synth, ensemble: Ensemble, arranger: Arranger,
                 reset_after: float = 4.0, clock: Callable[[], float] = time.monotonic):
        self.synth = synth
        self.reset_after = reset_after
        self.clock = clock
        self.counters = Counters()
        self.listeners: list[Callable[[NoteEvent], None]] = []
        self.raw_listeners: list[Callable[[list[int], float], None]] = []
        # (input channel, pitch) -> (output channel, part, setup it was assigned under)
        self.sounding: dict[tuple[int, int], tuple[int, int, Setup]] = {}
        self.mpe = None  # an instrument.live.mpe.MpeRouter: per-note expression (MPE input)
        self.closed = False  # set by the session before the synth is freed
        self._t0: float | None = None
        self._last_event = -1e9
        synth.set_ensemble(ensemble)
        self.setup = Setup(ensemble, arranger, tuple(p.channel for p in ensemble.parts))

    # -- main thread -------------------------------------------------------------------------
    def switch(self, ensemble: Ensemble, arranger: Arranger) -> None:
        """Play on with another ensemble/arranger: sounding notes ring on and end normally."""
        arranger.reset()
        for part in ensemble.parts:  # a program change leaves sounding voices alone
            self.synth.program(part.channel, part.program)
            self.synth.cc(part.channel, 7, part.volume)
            self.synth.cc(part.channel, 10, part.pan)
        self.setup = Setup(ensemble, arranger, tuple(p.channel for p in ensemble.parts))
        self.synth.ensemble = ensemble

    def add_listener(self, fn: Callable[[NoteEvent], None]) -> None:
        """``fn`` runs in the MIDI thread after each note: it must only enqueue."""
        self.listeners.append(fn)

    # -- MIDI thread -------------------------------------------------------------------------
    def handle(self, data: list[int], t: float | None = None) -> None:
        """Play one raw MIDI message received at ``t`` (seconds, monotonic). Never raises."""
        if self.closed:
            return
        t = self.clock() if t is None else t
        for fn in self.raw_listeners:
            try:
                fn(data, t)
            except Exception:  # noqa: BLE001 - a broken listener must not stop the sound
                pass
        msg = parse(data)
        if msg is None:
            self.counters.ignored += 1
            return
        if self.mpe is not None and self.mpe.take(msg):  # a note's own bend or pressure
            return
        if msg.kind == NOTE_ON:
            self._note_on(msg.channel, msg.a, msg.b, t)
        elif msg.kind == NOTE_OFF:
            self._note_off(msg.channel, msg.a, t)
        elif msg.kind == CONTROL:
            if msg.a in (CC_ALL_NOTES_OFF, CC_ALL_SOUND_OFF):
                self.panic()
            elif msg.a in FOLLOWED_CCS:
                for ch in self.setup.channels:
                    self.synth.cc(ch, msg.a, msg.b)
            else:
                self.counters.ignored += 1
        elif msg.kind == PITCH_BEND:
            value = msg.a | (msg.b << 7)
            for ch in self.setup.channels:
                self.synth.pitch_bend(ch, value)
        else:
            self.counters.ignored += 1

    def _note_on(self, in_channel: int, pitch: int, velocity: int, t: float) -> None:
        setup = self.setup
        key = (in_channel, pitch)
        if key in self.sounding:  # a repeated note-on without its note-off: end the old one
            self._note_off(in_channel, pitch, t)
        if not self.sounding and t - self._last_event > self.reset_after:
            setup.arranger.reset()
            self._t0 = t
            self.counters.resets += 1
        self._last_event = t
        start = time.perf_counter()
        part = setup.arranger.assign(Note(pitch, velocity, t - (self._t0 or t)))
        c = self.counters
        c.decision_ms[c.notes % len(c.decision_ms)] = (time.perf_counter() - start) * 1e3
        c.notes += 1
        channel = setup.channels[part]
        self.synth.noteon(channel, pitch, velocity)
        self.sounding[key] = (channel, part, setup)
        self._notify(NoteEvent(True, pitch, velocity, part, channel, t))

    def _note_off(self, in_channel: int, pitch: int, t: float) -> None:
        entry = self.sounding.pop((in_channel, pitch), None)
        if entry is None:
            self.counters.orphan_offs += 1
            return
        channel, part, setup = entry
        self.synth.noteoff(channel, pitch)
        self._last_event = t
        if setup is self.setup:
            setup.arranger.release(pitch, part, t - (self._t0 or t))
        self._notify(NoteEvent(False, pitch, 0, part, channel, t))

    def _notify(self, event: NoteEvent) -> None:
        for fn in self.listeners:
            try:
                fn(event)
            except Exception:  # noqa: BLE001 - a broken listener must not stop the sound
                pass

    # -- either thread -----------------------------------------------------------------------
    def release_all(self) -> None:
        """Note-off for every sounding note (the keyboard vanished: its keys are up)."""
        t = self.clock()
        for in_channel, pitch in list(self.sounding):
            self._note_off(in_channel, pitch, t)
        for ch in self.setup.channels:
            self.synth.cc(ch, 64, 0)  # and its sustain pedal

    def panic(self) -> None:
        """Silence everything now, on every channel, and forget what was sounding."""
        self.sounding.clear()
        self.synth.panic()
        self.counters.panics += 1
