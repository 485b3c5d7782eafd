"""The performer: every incoming MIDI message, arranged onto the ensemble and sounded.

``handle`` runs in the MIDI thread for each message. It takes no locks: the ensemble,
arranger and channel map live in one immutable ``Setup`` that the main thread replaces
whole (``switch``); the MIDI thread reads the reference once per message. Every sounding
note remembers the channel it went to, so its note-off follows it even across a switch,
and ``release_all`` / ``panic`` can always silence exactly what is sounding.

A note sounds the moment it is struck, on its part after the arranger's revision of the
chord so far (``Arranger.revisions``: about 0.1 ms of work, no waiting for more notes).
When more of its chord arrives (within the arranger's onset-group window, ~50 ms), the
arranger may revise it again: the performer then moves the sounding note, note-off on
the old part's channel and note-on on the new one (for the soft attacks of a choir or
strings barely audible; ``Counters.revised``). Listeners get the move as an off/on pair
flagged ``revision`` whose on carries the note's original onset, so a recording holds
the final parts.

A part of polyphony N (``Part.polyphony``, 1 for a voice or a string) never sounds more
than N notes: a new note on a full part ends the part's oldest (``Counters.mono_cuts``).
The sustain pedal reaches the polyphonic parts as CC64; on a monophonic part the
performer holds a released note under the pedal itself, until the pedal comes up or the
part's next note takes over (legato), since a held CC64 would keep several sounding.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from instrument.arrange.base import Arranger, Note
from instrument.ensemble import Ensemble
from instrument.input.messages import CONTROL, NOTE_OFF, NOTE_ON, PITCH_BEND, parse
from instrument.synth.base import SynthPort

# Controllers a keyboard sends that every part should follow.
FOLLOWED_CCS = frozenset({1, 2, 4, 11, 64, 66, 67})  # mod, breath, foot, expr., pedals
CC_ALL_SOUND_OFF, CC_ALL_NOTES_OFF = 120, 123
CC_SUSTAIN = 64


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
    revision: this off/on pair moves a sounding note to another part (the on's time is
    the note's original onset).
    """

    on: bool
    pitch: int
    velocity: int
    part: int
    channel: int
    time: float
    revision: bool = False


@dataclass(slots=True)
class Sounding:
    """A key held down (or a note the performer holds for it): where it sounds."""

    channel: int
    part: int
    setup: Setup
    velocity: int
    onset: float
    silent: bool = False  # cut by a newer note on its monophonic part


@dataclass
class Counters:
    notes: int = 0
    ignored: int = 0  # garbage, SysEx, messages we do not use
    orphan_offs: int = 0  # note-offs with no sounding note
    resets: int = 0  # arranger restarts after a pause
    panics: int = 0
    revised: int = 0  # notes moved to another part when the rest of their chord came
    mono_cuts: int = 0  # notes ended early because their part's polyphony was reached
    decision_ms: np.ndarray = field(default_factory=lambda: np.zeros(4096))  # ring buffer

    def decision_percentiles(self) -> tuple[float, float]:
        """(p50, p99) of the arranger's decision time in ms over the recent notes."""
        n = min(self.notes, len(self.decision_ms))
        if n == 0:
            return (0.0, 0.0)
        recent = self.decision_ms[:n]
        return float(np.percentile(recent, 50)), float(np.percentile(recent, 99))


class Performer:
    """MIDI in -> arranger -> ``synth`` (a ``SynthPort``: FluidSynth, or the fan-out to
    it, a MIDI out and the take's audio), one channel per part.

    reset_after: seconds of silence (no key held) after which the arranger starts a new
    phrase, so a stateful model does not carry a previous song into the next one.
    """

    def __init__(
        self,
        synth: SynthPort,
        ensemble: Ensemble,
        arranger: Arranger,
        reset_after: float = 4.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.synth = synth
        self.reset_after = reset_after
        self.clock = clock
        self.counters = Counters()
        self.listeners: list[Callable[[NoteEvent], None]] = []
        self.raw_listeners: list[Callable[[list[int], float], None]] = []
        # (input channel, pitch) -> where it sounds (and the setup it was assigned under)
        self.sounding: dict[tuple[int, int], Sounding] = {}
        # output channel -> notes sounding on it in onset order: (key, pitch); a key of
        # None is a note the performer holds for the pedal after its key came up
        self._voices: dict[int, list[tuple[tuple[int, int] | None, int]]] = {}
        self._pedal = False
        self.mpe = None  # an instrument.live.mpe.MpeRouter: per-note expression (MPE input)
        self.closed = False  # set by the session before the synth is freed
        self._t0: float | None = None
        self._last_event = -1e9
        synth.set_ensemble(ensemble)
        self.setup = Setup(ensemble, arranger, tuple(p.channel for p in ensemble.parts))
        self._poly = self._polyphony(ensemble)

    @staticmethod
    def _polyphony(ensemble: Ensemble) -> dict[int, int]:
        return {p.channel: p.polyphony for p in ensemble.parts}

    # -- main thread -------------------------------------------------------------------------
    def switch(self, ensemble: Ensemble, arranger: Arranger) -> None:
        """Play on with another ensemble/arranger: sounding notes ring on and end normally."""
        arranger.reset()
        for part in ensemble.parts:  # a program change leaves sounding voices alone
            self.synth.program(part.channel, part.program)
            self.synth.cc(part.channel, 7, part.volume)
            self.synth.cc(part.channel, 10, part.pan)
        self._poly = self._polyphony(ensemble)
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
            self._note_on(msg.channel, msg.note, msg.velocity, t)
        elif msg.kind == NOTE_OFF:
            self._note_off(msg.channel, msg.note, t)
        elif msg.kind == CONTROL:
            if msg.control in (CC_ALL_NOTES_OFF, CC_ALL_SOUND_OFF):
                self.panic()
            elif msg.control == CC_SUSTAIN:
                self._sustain(msg.value >= 64)
            elif msg.control in FOLLOWED_CCS:
                for ch in self.setup.channels:
                    self.synth.cc(ch, msg.control, msg.value)
            else:
                self.counters.ignored += 1
        elif msg.kind == PITCH_BEND:
            value = msg.bend14
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
        part = setup.arranger.assign(Note(pitch, velocity, self._phrase_time(t)))
        c = self.counters
        c.decision_ms[c.notes % len(c.decision_ms)] = (time.perf_counter() - start) * 1e3
        c.notes += 1
        # the chord so far decided again with this note: this note takes its revised part
        # at once (no ghost attack on its first part), the earlier ones move
        moves = []
        for rev_pitch, old, new in setup.arranger.revisions():
            if rev_pitch == pitch and old == part:
                part = new
            else:
                moves.append((rev_pitch, old, new))
        channel = setup.channels[part]
        self.synth.noteon(channel, pitch, velocity)
        self.sounding[key] = Sounding(channel, part, setup, velocity, t)
        self._voices.setdefault(channel, []).append((key, pitch))
        self._notify(NoteEvent(True, pitch, velocity, part, channel, t))
        # then each part keeps to its polyphony (a move may have made room where it went)
        touched = {channel}
        for rev_pitch, old, new in moves:
            touched.add(self._move(rev_pitch, old, new, setup, t))
        for ch in touched:
            self._keep_polyphony(ch, t)

    def _phrase_time(self, t: float) -> float:
        """Seconds since the phrase began (a rendering's clock starts at 0.0: not falsy)."""
        return t - (self._t0 if self._t0 is not None else t)

    def _move(self, pitch: int, old: int, new: int, setup: Setup, t: float) -> int:
        """A revision: the sounding note ``pitch`` of part ``old`` goes to part ``new``.
        Returns the channel it went to (-1 if nothing sounded to move)."""
        for key, entry in self.sounding.items():
            if key[1] == pitch and entry.part == old and entry.setup is setup:
                break
        else:
            return -1  # already released: nothing sounds to move
        old_channel, channel = entry.channel, setup.channels[new]
        if not entry.silent:
            self._drop_voice(old_channel, key)
            self.synth.noteoff(old_channel, pitch)
        self._notify(NoteEvent(False, pitch, 0, old, old_channel, t, revision=True))
        self.synth.noteon(channel, pitch, entry.velocity)
        entry.channel, entry.part, entry.silent = channel, new, False
        self._voices.setdefault(channel, []).append((key, pitch))
        self.counters.revised += 1
        self._notify(
            NoteEvent(True, pitch, entry.velocity, new, channel, entry.onset, revision=True)
        )
        return channel

    def _keep_polyphony(self, channel: int, t: float) -> None:
        """End the oldest notes of a channel over its part's polyphony."""
        voices = self._voices.get(channel, [])
        limit = self._poly.get(channel, 16)
        while len(voices) > limit:
            key, pitch = voices.pop(0)
            self.synth.noteoff(channel, pitch)
            self.counters.mono_cuts += 1
            if key is not None:
                entry = self.sounding[key]
                entry.silent = True
                self._notify(NoteEvent(False, pitch, 0, entry.part, channel, t))

    def _drop_voice(self, channel: int, key: tuple[int, int] | None) -> None:
        voices = self._voices.get(channel, [])
        for i, (k, _) in enumerate(voices):
            if k == key:
                del voices[i]
                return

    def _sustain(self, down: bool) -> None:
        """CC64 to the polyphonic parts; the monophonic ones are held by ``_note_off``."""
        self._pedal = down
        for ch in self.setup.channels:
            if self._poly.get(ch, 1) > 1:
                self.synth.cc(ch, CC_SUSTAIN, 127 if down else 0)
        if not down:
            for ch, voices in self._voices.items():
                for held in [v for v in voices if v[0] is None]:
                    voices.remove(held)
                    self.synth.noteoff(ch, held[1])

    def _note_off(self, in_channel: int, pitch: int, t: float) -> None:
        key = (in_channel, pitch)
        entry = self.sounding.pop(key, None)
        if entry is None:
            self.counters.orphan_offs += 1
            return
        self._last_event = t
        if entry.setup is self.setup:
            entry.setup.arranger.release(pitch, entry.part, self._phrase_time(t))
        if entry.silent:
            return  # its part already ended it (and told the listeners)
        voices = self._voices.get(entry.channel, [])
        if self._pedal and self._poly.get(entry.channel, 1) == 1:
            # the pedal holds it: the part's next note or the pedal's release ends it
            for i, (k, p) in enumerate(voices):
                if k == key:
                    voices[i] = (None, p)
                    break
        else:
            self._drop_voice(entry.channel, key)
            self.synth.noteoff(entry.channel, pitch)
        self._notify(NoteEvent(False, pitch, 0, entry.part, entry.channel, t))

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
        self._sustain(False)  # and its sustain pedal

    def panic(self) -> None:
        """Silence everything now, on every channel, and forget what was sounding."""
        self.sounding.clear()
        self._voices.clear()
        self.synth.panic()
        self.counters.panics += 1
