"""The performer with a real FluidSynth (offline, no audio driver): routing, pedal, switch."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from instrument.arrange import make_arranger
from instrument.arrange.base import Arranger, Note
from instrument.ensemble import load_ensemble
from instrument.live.performer import Performer
from instrument.synth import Synth, find_soundfont
from instrument.synth.library import fluidsynth


class ByPitchClass(Arranger):
    """A transparent arranger for these tests: part = pitch % number of parts."""

    name = "by-pitch-class"

    def reset(self) -> None:
        self.resets = getattr(self, "resets", 0) + 1

    def assign(self, note: Note) -> int:
        return note.pitch % self.n_parts


@pytest.fixture
def synth():
    s = Synth(find_soundfont(), sample_rate=44100)
    yield s
    s.close()


def test_each_note_sounds_on_its_parts_channel_and_off_follows_it(synth):
    quartet = load_ensemble("quartet")
    sent = []
    perf = Performer(synth, quartet, ByPitchClass(quartet))
    perf.add_listener(sent.append)
    for pitch in (60, 61, 62, 63):
        perf.handle([0x90, pitch, 100], 0.0)
    assert [e.channel for e in sent] == [quartet.parts[p % 4].channel for p in (60, 61, 62, 63)]
    assert synth.active_voices() > 0
    for pitch in (60, 61, 62, 63):
        perf.handle([0x80, pitch, 0], 0.5)
    assert [e.channel for e in sent[4:]] == [e.channel for e in sent[:4]]
    assert perf.sounding == {}


def test_note_off_follows_its_part_across_an_ensemble_switch(synth):
    quartet, pop = load_ensemble("quartet"), load_ensemble("pop")
    events = []
    perf = Performer(synth, quartet, ByPitchClass(quartet))
    perf.add_listener(events.append)
    perf.handle([0x90, 63, 100], 0.0)  # quartet part 3 (Cello), channel 3
    perf.switch(pop, ByPitchClass(pop))
    perf.handle([0x80, 63, 0], 0.2)
    assert events[-1].on is False and events[-1].channel == quartet.parts[3].channel
    perf.handle([0x90, 63, 100], 0.3)  # now pop part 63 % 4 = 3 (Bass)
    assert events[-1].channel == pop.parts[3].channel
    perf.handle([0x80, 63, 0], 0.4)
    assert perf.sounding == {}


def test_pedal_bend_and_mod_wheel_reach_every_part(synth):
    quartet = load_ensemble("quartet")
    perf = Performer(synth, quartet, ByPitchClass(quartet))
    perf.handle([0xB0, 64, 127])
    perf.handle([0xB0, 1, 90])
    for part in quartet.parts:
        # a string is monophonic: the performer holds its notes for the pedal itself
        assert synth._fs.get_cc(part.channel, 64) == 0
        assert synth._fs.get_cc(part.channel, 1) == 90
    pop909 = load_ensemble("pop909")
    perf.switch(pop909, ByPitchClass(pop909))
    perf.handle([0xB0, 64, 127])
    assert synth._fs.get_cc(pop909.parts[2].channel, 64) == 127  # the piano, polyphony 10
    perf.switch(quartet, ByPitchClass(quartet))
    perf.handle([0xE0, 0x00, 0x60])  # bend up
    get_bend = fluidsynth.cfunc(
        "fluid_synth_get_pitch_bend",
        ctypes.c_int,
        ("synth", ctypes.c_void_p, 1),
        ("chan", ctypes.c_int, 1),
        ("bend", ctypes.POINTER(ctypes.c_int), 1),
    )
    for part in quartet.parts:
        value = ctypes.c_int()
        get_bend(synth._fs.synth, part.channel, ctypes.byref(value))
        assert value.value == 0x60 << 7


def test_garbage_is_counted_never_raised(synth):
    quartet = load_ensemble("quartet")
    perf = Performer(synth, quartet, ByPitchClass(quartet))
    for junk in (
        [],
        [0x90],
        [0x90, 200, 1],
        [0xF0, 1, 2, 0xF7],
        [0x12, 0x34],
        [0xC0, 5],
        [0xB0, 7, 100],
        None,
        "garbage",
        [0x90, 60, 999],
        [0x90, 60, 100, 5],
    ):
        perf.handle(junk)  # type: ignore[arg-type]
    assert perf.counters.ignored == 10
    assert len(perf.sounding) == 1  # the one well-formed note-on (extra bytes ignored)
    perf.handle([0x80, 61, 0])
    assert perf.counters.orphan_offs == 1


def test_panic_and_release_all_silence_everything(synth):
    quartet = load_ensemble("quartet")
    perf = Performer(synth, quartet, make_arranger("closest", quartet))
    perf.handle([0xB0, 64, 127])
    for pitch in (40, 52, 64, 76):
        perf.handle([0x90, pitch, 110])
    assert synth.active_voices() > 0
    perf.release_all()
    assert perf.sounding == {}
    synth.render(44100)  # the releases play out
    assert np.abs(synth.render(4410)).max() < 1e-3
    for pitch in (40, 52, 64, 76):
        perf.handle([0x90, pitch, 110])
    perf.panic()
    synth.render(4410)
    assert np.abs(synth.render(4410)).max() < 1e-4


def test_arranger_restarts_after_a_pause(synth):
    quartet = load_ensemble("quartet")
    arranger = ByPitchClass(quartet)
    perf = Performer(synth, quartet, arranger, reset_after=2.0)
    perf.handle([0x90, 60, 100], 10.0)
    perf.handle([0x80, 60, 0], 10.5)
    perf.handle([0x90, 62, 100], 11.0)  # 0.5 s later: same phrase
    perf.handle([0x80, 62, 0], 11.2)
    perf.handle([0x90, 64, 100], 20.0)  # after a long pause: a new phrase
    assert perf.counters.resets == 2


class Reviser(Arranger):
    """First decision: part 0; when a second note of the chord arrives, the first moves
    to part 1 and the second takes part 0."""

    name = "reviser"

    def reset(self) -> None:
        self.chord: list[int] = []

    def assign(self, note: Note) -> int:
        self.chord.append(note.pitch)
        return 0

    def revisions(self) -> list[tuple[int, int, int]]:
        if len(self.chord) == 2:
            return [(self.chord[0], 0, 1)]
        return []


def test_a_revision_moves_the_sounding_note_and_its_note_off_follows(synth):
    quartet = load_ensemble("quartet")
    events = []
    perf = Performer(synth, quartet, Reviser(quartet))
    perf.add_listener(events.append)
    perf.handle([0x90, 67, 90], 0.0)
    perf.handle([0x90, 60, 90], 0.02)
    assert perf.counters.revised == 1
    kinds = [(e.on, e.pitch, e.channel, e.revision) for e in events]
    assert kinds == [
        (True, 67, 0, False),
        (True, 60, 0, False),
        (False, 67, 0, True),  # moved off Violin I ...
        (True, 67, 1, True),  # ... onto Violin II, keeping its onset
    ]
    assert events[-1].time == 0.0
    perf.handle([0x80, 67, 0], 0.5)
    assert (events[-1].on, events[-1].channel) == (False, 1)
    perf.handle([0x80, 60, 0], 0.5)
    assert perf.sounding == {}


def test_a_monophonic_part_never_sounds_two_notes(synth):
    quartet = load_ensemble("quartet")
    events = []
    perf = Performer(synth, quartet, ByPitchClass(quartet))  # 60 and 64: both part 0
    perf.add_listener(events.append)
    perf.handle([0x90, 60, 90], 0.0)
    perf.handle([0x90, 64, 90], 0.1)
    assert perf.counters.mono_cuts == 1
    # the new note sounds first; the old one ends right after (no added latency)
    assert [(e.on, e.pitch) for e in events] == [(True, 60), (True, 64), (False, 60)]
    perf.handle([0x80, 60, 0], 0.2)  # its key comes up: already ended, nothing more
    perf.handle([0x80, 64, 0], 0.3)
    assert [(e.on, e.pitch) for e in events[3:]] == [(False, 64)]
    assert perf.sounding == {}
    # a polyphonic part (pop909's piano, polyphony 10) keeps its chord
    pop909 = load_ensemble("pop909")
    perf.switch(pop909, ByPitchClass(pop909))
    for pitch in (62, 65, 68):  # all part 2 (pitch % 3 == 2)
        perf.handle([0x90, pitch, 90], 1.0)
    assert perf.counters.mono_cuts == 1
