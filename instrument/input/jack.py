"""The JACK MIDI input port that FluidSynth reads in the app's own JACK client.

Under JACK the keyboard's notes reach the app through FluidSynth's MIDI driver: its port
``<client>:midi_00`` lives in the same JACK client as the audio, and FluidSynth reads it
in JACK's process thread just before it renders the period, so a note is heard in the
very period it arrives (docs/benchmarks.md). Each of its events is turned back into the
raw MIDI bytes every other input delivers (``input.midi``, ``input.keys``), for the
session's ``handle``; ``input.midi.MidiInput`` watches the port's connections.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

from instrument.errors import InstrumentError
from instrument.synth.library import fluidsynth

# The library pyfluidsynth loaded, seen again through PyDLL: calls that keep the GIL. In
# JACK's process thread a call through a plain CDLL would release the GIL and then wait
# to take it back from whatever thread grabbed it meanwhile: an xrun (see
# ``synth.fluid._held_gil``). They take microseconds.
_HELD_GIL_LIB = ctypes.PyDLL(fluidsynth._fl._name, handle=fluidsynth._fl._handle)


def _event_field(name: str) -> Callable[[int], int]:
    """A ``fluid_midi_event_get_*`` function: one field of an event, called with the GIL."""
    fn = getattr(_HELD_GIL_LIB, name)
    fn.argtypes, fn.restype = [ctypes.c_void_p], ctypes.c_int
    return fn


_event_type = _event_field("fluid_midi_event_get_type")
_event_channel = _event_field("fluid_midi_event_get_channel")
_event_key = _event_field("fluid_midi_event_get_key")  # also a bend's 14-bit value
_event_value = _event_field("fluid_midi_event_get_value")

# FluidSynth's handle_midi_event_func_t: (user data, fluid_midi_event_t *) -> status.
EventHandler = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)


def event_handler(on_message: Callable[[list[int]], None]) -> EventHandler:
    """The callback FluidSynth's MIDI driver calls with each event: it hands the event to
    ``on_message`` as raw MIDI bytes ([status, data...]), in JACK's process thread.

    Keep the returned object referenced for as long as a driver may call it.
    """

    def handle(_data: int, event: int) -> int:
        try:
            kind = _event_type(event)
            ch = _event_channel(event)
            if kind == 0xE0:  # FluidSynth keeps the 14-bit bend in param 1
                value = _event_key(event)
                on_message([kind | ch, value & 0x7F, value >> 7])
            elif kind in (0xC0, 0xD0):
                on_message([kind | ch, _event_key(event)])
            else:
                on_message([kind | ch, _event_key(event), _event_value(event)])
        except Exception:  # noqa: BLE001 - never let an exception into the audio thread
            pass
        return 0

    return EventHandler(handle)


def open_jack_midi(
    fs: fluidsynth.Synth, client_name: str, on_message: Callable[[list[int]], None]
) -> tuple[int, EventHandler]:
    """Open FluidSynth's JACK MIDI driver on ``fs`` (a pyfluidsynth Synth whose audio
    already runs on JACK as ``client_name``): the port ``<client_name>:midi_00``, not
    connected to anything, whose messages reach ``on_message`` (see ``event_handler``).

    Returns (driver, handler): FluidSynth's driver handle, and the callback, which must
    stay referenced for as long as the driver lives. InstrumentError if it cannot open.
    """
    fs.setting("midi.driver", "jack")
    fs.setting("midi.jack.id", client_name)  # same id as the audio: one shared client
    fs.setting("midi.autoconnect", 0)
    handler = event_handler(on_message)
    driver = fluidsynth.new_fluid_midi_driver(fs.settings, handler, None)
    if not driver:
        raise InstrumentError("could not open FluidSynth's JACK MIDI input")
    return driver, handler


def open_compiled_midi(
    fs: fluidsynth.Synth, driver: str, client_name: str, handler_address: int, user_data: int
) -> tuple[int, EventHandler]:
    """Open FluidSynth's MIDI driver ``driver`` ("jack": the port ``<client_name>:midi_00``
    in the audio's JACK client; "alsa_seq": an ALSA sequencer client ``client_name``) with a
    compiled handler (``live.notepath.handler()``: no Python, no GIL in the
    driver's thread) and its ``user_data`` pointer.

    Returns (driver, handler) as ``open_jack_midi`` does; the handler object wraps the
    compiled function's address (keep it referenced). InstrumentError if it cannot open.
    """
    fs.setting("midi.driver", driver)
    if driver == "jack":
        fs.setting("midi.jack.id", client_name)  # same id as the audio: one shared client
    else:
        fs.setting("midi.alsa_seq.id", client_name)
    fs.setting("midi.autoconnect", 0)
    handler = EventHandler(handler_address)
    midi = fluidsynth.new_fluid_midi_driver(fs.settings, handler, user_data)
    if not midi:
        raise InstrumentError(f"could not open FluidSynth's {driver} MIDI input")
    return midi, handler
