"""The JACK MIDI port's events, decoded: FluidSynth's MIDI events back into raw MIDI bytes.

The events are made with FluidSynth's own API, as its JACK driver's parser fills them; the
handler is called as the driver calls it. The port itself is tested with a JACK server
in test_live_jack.py.
"""

from __future__ import annotations

import ctypes
import sys

import pytest

from instrument.input.jack import event_handler
from instrument.input.messages import parse
from instrument.synth.library import fluidsynth

_lib = ctypes.CDLL(fluidsynth._fl._name, handle=fluidsynth._fl._handle)  # our own prototypes
_lib.new_fluid_midi_event.restype = ctypes.c_void_p
_lib.delete_fluid_midi_event.argtypes = [ctypes.c_void_p]
for _setter in ("type", "channel", "key", "value", "pitch"):
    getattr(_lib, f"fluid_midi_event_set_{_setter}").argtypes = [ctypes.c_void_p, ctypes.c_int]


@pytest.fixture
def event():
    """event(kind, channel, param1, param2): a FluidSynth MIDI event (freed afterwards)."""
    made = []

    def make(kind: int, channel: int, param1: int, param2: int = 0) -> int:
        e = _lib.new_fluid_midi_event()
        made.append(e)
        _lib.fluid_midi_event_set_type(e, kind)
        _lib.fluid_midi_event_set_channel(e, channel)
        if kind == 0xE0:
            _lib.fluid_midi_event_set_pitch(e, param1)  # the 14-bit value, in param 1
        else:
            _lib.fluid_midi_event_set_key(e, param1)
            _lib.fluid_midi_event_set_value(e, param2)
        return e

    yield make
    for e in made:
        _lib.delete_fluid_midi_event(e)


def test_each_kind_of_event_becomes_its_raw_message(event):
    got: list[list[int]] = []
    handler = event_handler(got.append)
    for e in (
        event(0x90, 3, 60, 100),  # note on
        event(0x80, 3, 60, 0),  # note off
        event(0xA0, 0, 61, 40),  # poly aftertouch
        event(0xB0, 15, 64, 127),  # sustain down
        event(0xC0, 9, 40),  # program change: one data byte
        event(0xD0, 2, 77),  # channel pressure: one data byte
        event(0xE0, 1, 8192 + 1000),  # bend: the 14-bit value split into its two bytes
    ):
        assert handler(None, e) == 0
    assert got == [
        [0x93, 60, 100],
        [0x83, 60, 0],
        [0xA0, 61, 40],
        [0xBF, 64, 127],
        [0xC9, 40],
        [0xD2, 77],
        [0xE1, (8192 + 1000) & 0x7F, (8192 + 1000) >> 7],
    ]
    assert parse(got[-1]).pitch == 1000  # what the session reads from it


def test_an_exception_in_the_session_never_reaches_the_audio_thread(event, monkeypatch):
    def fails(_data: list[int]) -> None:
        raise RuntimeError("a bug downstream")

    escaped = []  # what a ctypes callback lets out goes to sys.unraisablehook
    monkeypatch.setattr(sys, "unraisablehook", escaped.append)
    assert event_handler(fails)(None, event(0x90, 0, 60, 100)) == 0
    assert escaped == []
