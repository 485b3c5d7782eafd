"""The keyboard over ALSA on the compiled note path: FluidSynth's own ``alsa_seq`` MIDI
driver reads it (its thread calls the compiled handler, no GIL), and ``MidiInput``
subscribes the chosen source to FluidSynth's sequencer port and follows it through
hot-plug.

This machine may have no ALSA sequencer (/dev/snd/seq): the control logic runs on
``FakeSequencer`` (the same ``Sequencer`` interface as libasound's ``AlsaSequencer``), and
FluidSynth's driver is stood in for by one that makes the port FluidSynth's would make.
Where the real ones cannot open, the session's fallback is tested for real.
"""

from __future__ import annotations

import ctypes
import os

import pytest

from instrument.arrange import make_arranger
from instrument.ensemble import load_ensemble
from instrument.errors import InstrumentError
from instrument.input import alsaseq
from instrument.input.alsaseq import AlsaSequencer, SeqPort, fluid_client_name
from instrument.input.midi import MidiInput
from instrument.live.compiled import CompiledPerformer
from instrument.live.session import LiveSession
from instrument.synth import find_soundfont
from instrument.synth.library import fluidsynth
from tests.support.fakes import FakeSequencer

HAS_SEQUENCER = os.path.exists("/dev/snd/seq")

THROUGH = SeqPort(14, 0, "Midi Through", "Midi Through Port-0", True, True)
KEYSTATION = SeqPort(24, 0, "Keystation 61", "Keystation 61 MIDI 1", True, True)
PADS = SeqPort(28, 0, "nanoPAD2", "nanoPAD2 PAD", True, False)


def fluid_port(seq_id: str, client: int = 129) -> SeqPort:
    """The port FluidSynth's alsa_seq driver makes for ``midi.alsa_seq.id`` = ``seq_id``
    (its ``fluid_alsa_seq_full_id`` / ``_full_name``): writable only."""
    return SeqPort(client, 0, f"FLUID Synth ({seq_id})", f"Synth input port ({seq_id}:0)",
                   False, True)  # fmt: skip


FLUID = fluid_port("test")


def opened(seq: FakeSequencer, port: str | None = None, lost: list | None = None) -> MidiInput:
    on_lost = (lambda: lost.append(True)) if lost is not None else None
    midi = MidiInput(lambda data, t: None, port=port, api="alsa", on_lost=on_lost,
                     seq_client=fluid_client_name("test"), sequencer=seq)  # fmt: skip
    midi.open()
    return midi


# -- MidiInput over the sequencer ------------------------------------------------------------
def test_the_first_hardware_keyboard_is_subscribed_to_fluidsynths_port():
    seq = FakeSequencer(THROUGH, FLUID, KEYSTATION)
    midi = opened(seq)
    assert midi.status.state == "connected" and midi.status.api == "alsa"
    assert midi.status.port == KEYSTATION.name  # not Midi Through, nor FluidSynth itself
    assert seq.subscriptions == {((24, 0), (129, 0))}
    assert midi.port_name == "FLUID Synth (test):Synth input port (test:0)"


def test_midi_in_chooses_the_source_by_a_name_substring():
    seq = FakeSequencer(THROUGH, FLUID, KEYSTATION, PADS)
    opened(seq, port="nanopad")
    assert seq.subscriptions == {((28, 0), (129, 0))}


def test_a_name_that_matches_nothing_is_a_one_line_error_and_lets_go():
    seq = FakeSequencer(THROUGH, FLUID, KEYSTATION)
    with pytest.raises(InstrumentError, match="no MIDI input matches 'roland'") as e:
        opened(seq, port="roland")
    assert KEYSTATION.name in str(e.value) and "\n" not in str(e.value)
    assert seq.closed and not seq.subscriptions


def test_without_fluidsynths_client_it_does_not_open():
    seq = FakeSequencer(THROUGH, KEYSTATION, fluid_port("someone-else"))
    with pytest.raises(InstrumentError, match=r"no ALSA sequencer client 'FLUID Synth \(test\)'"):
        opened(seq)
    assert seq.closed and not seq.subscriptions


def test_no_keyboard_leaves_fluidsynths_port_open_to_software_keyboards():
    seq = FakeSequencer(THROUGH, FLUID)
    midi = opened(seq)
    assert midi.status.state == "virtual"
    assert midi.status.port == "FLUID Synth (test):Synth input port (test:0)"
    assert not seq.subscriptions
    assert midi.poll().state == "virtual"


def test_an_unplugged_keyboard_is_lost_once_then_reconnected_under_new_numbers():
    seq = FakeSequencer(THROUGH, FLUID, KEYSTATION)
    lost: list[bool] = []
    midi = opened(seq, lost=lost)
    assert midi.poll().state == "connected" and not lost
    seq.unplug(KEYSTATION)
    assert midi.poll().state == "lost"
    assert midi.poll().state == "lost"
    assert lost == [True]  # the held notes released once, not on every poll
    assert midi.status.port == "Keystation 61:Keystation 61 MIDI 1"
    replugged = SeqPort(25, 0, KEYSTATION.client_name, KEYSTATION.port_name, True, True)
    seq.plug(replugged)
    status = midi.poll()
    assert status.state == "connected" and status.reconnects == 1
    assert status.port == replugged.name
    assert seq.subscriptions == {((25, 0), (129, 0))}
    assert lost == [True]


def test_a_sequencer_that_fails_while_playing_is_reported_not_raised():
    seq = FakeSequencer(THROUGH, FLUID, KEYSTATION)
    lost: list[bool] = []
    midi = opened(seq, lost=lost)
    seq.closed = True  # its calls now fail
    assert midi.poll().state == "lost" and lost == [True]


def test_close_ends_the_subscription_and_the_sequencer():
    seq = FakeSequencer(THROUGH, FLUID, KEYSTATION)
    midi = opened(seq)
    midi.close()
    assert not seq.subscriptions and seq.closed
    assert midi.status.state == "closed"
    assert midi.poll().state == "closed"


def test_libasounds_sequencer_as_this_machine_has_it():
    """Without a sequencer device (CI, this VM) opening it is a one-line error; where one
    exists, FluidSynth's real alsa_seq driver is found and fed. Never a skip: in CI a skip
    fails (tests/conftest.py), and a machine has one case or the other."""
    if not HAS_SEQUENCER:
        with pytest.raises(InstrumentError, match="^cannot open the ALSA sequencer: ") as e:
            AlsaSequencer()
        assert "\n" not in str(e.value)
        return
    from instrument.arrange.zone import ZoneArranger
    from instrument.input.jack import open_compiled_midi

    choir = load_ensemble("choir")
    path = CompiledPerformer(None, choir, ZoneArranger(choir), record_calls=64)
    fs = fluidsynth.Synth()
    seq_id = f"test-{os.getpid()}"
    driver, _handler = open_compiled_midi(fs, "alsa_seq", seq_id, path.handler_address(),
                                          path.user_data)  # fmt: skip
    seq = AlsaSequencer()
    try:
        ours = [p for p in seq.ports() if p.client_name == fluid_client_name(seq_id)]
        assert ours and ours[0].destination and not ours[0].source
        sources = [p for p in seq.ports() if p.source]
        if sources:
            seq.connect(sources[0], ours[0])
            seq.connect(sources[0], ours[0])  # made already: as good as ours
            seq.disconnect(sources[0], ours[0])
            seq.disconnect(sources[0], ours[0])  # gone already: no error
    finally:
        seq.close()
        fluidsynth.delete_fluid_midi_driver(driver)
        fs.delete()


# -- the session picks FluidSynth's sequencer driver ---------------------------------------
_lib = ctypes.CDLL(fluidsynth._fl._name, handle=fluidsynth._fl._handle)  # our own prototypes
_lib.new_fluid_midi_event.restype = ctypes.c_void_p
_lib.delete_fluid_midi_event.argtypes = [ctypes.c_void_p]
for _setter in ("type", "channel", "key", "value"):
    getattr(_lib, f"fluid_midi_event_set_{_setter}").argtypes = [ctypes.c_void_p, ctypes.c_int]


class StandInSeqDriver:
    """FluidSynth's ``new_fluid_midi_driver`` for ``alsa_seq`` where no sequencer exists:
    it makes the port FluidSynth would (named from ``midi.alsa_seq.id``) in ``seq``, keeps
    the handler it was given, and takes the port away when deleted."""

    def __init__(self, seq: FakeSequencer):
        self.seq = seq
        self.opened: list[tuple[object, int]] = []  # (handler, user data)
        self.port: SeqPort | None = None
        self.deleted = 0
        self.fs = None  # the pyfluidsynth synth whose settings it reads

    def new(self, settings, handler, data) -> int:
        assert self.fs is not None and settings == self.fs.settings
        if self.fs.get_setting("midi.driver") != "alsa_seq":
            return 0  # this stand-in is FluidSynth's sequencer driver only
        self.port = fluid_port(self.fs.get_setting("midi.alsa_seq.id"))
        self.seq.plug(self.port)
        self.opened.append((handler, data))
        return 0x5EC  # a driver handle nobody dereferences but delete

    def delete(self, driver) -> None:
        assert driver == 0x5EC
        self.deleted += 1
        self.seq.unplug(self.port)


@pytest.fixture
def alsa_machine(monkeypatch):
    """A machine with an ALSA sequencer (the fake) and no JACK server: its keyboard is
    plugged in; FluidSynth's sequencer driver is the stand-in."""
    monkeypatch.setenv("INSTRUMENT_ALSA_SEQ", os.devnull)  # alsa_sequencer(): there is one
    monkeypatch.setenv("JACK_DEFAULT_SERVER", f"no-such-server-{os.getpid()}")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    seq = FakeSequencer(THROUGH, KEYSTATION)
    driver = StandInSeqDriver(seq)
    monkeypatch.setattr(alsaseq, "open_sequencer", lambda: seq)
    monkeypatch.setattr(fluidsynth, "new_fluid_midi_driver", driver.new)
    monkeypatch.setattr(fluidsynth, "delete_fluid_midi_driver", driver.delete)
    return seq, driver


def _session(driver: StandInSeqDriver | None = None, **kw) -> LiveSession:
    choir = load_ensemble("choir")
    live = LiveSession(choir, make_arranger("zone", choir), find_soundfont(), audio="none", **kw)
    if driver is not None:
        driver.fs = live.synth._fs
    return live


def _midi_line(live: LiveSession) -> str:
    lines = [c for c in live.choices if c.startswith("MIDI in:")]
    assert len(lines) == 1, live.choices
    return lines[0]


def test_the_session_reads_an_alsa_keyboard_through_fluidsynths_sequencer_driver(alsa_machine):
    seq, driver = alsa_machine
    live = _session(driver)
    heard = []
    live.performer.add_listener(heard.append)
    live.start()
    try:
        assert isinstance(live.performer, CompiledPerformer)
        assert _midi_line(live) == (f"MIDI in: {KEYSTATION.name} (alsa, connected; read by "
                                    "FluidSynth's sequencer driver, no GIL)")  # fmt: skip
        fs = live.synth._fs
        assert fs.get_setting("midi.autoconnect") == 0  # it grabs no port by itself
        [(handler, data)] = driver.opened
        assert data == live.performer.user_data
        assert ctypes.cast(handler, ctypes.c_void_p).value == live.performer.handler_address()
        assert seq.subscriptions == {((24, 0), (driver.port.client, 0))}
        # A key as FluidSynth's driver thread hands it on: the compiled handler plays it.
        ev = _lib.new_fluid_midi_event()
        for name, value in (("type", 0x90), ("channel", 0), ("key", 60), ("value", 100)):
            getattr(_lib, f"fluid_midi_event_set_{name}")(ev, value)
        try:
            assert handler(data, ev) == 0
        finally:
            _lib.delete_fluid_midi_event(ev)
        assert live.performer.counters.notes == 1 and live.performer.sounding
        # The keyboard unplugged: said on the status, its held note released; back, re-fed.
        seq.unplug(KEYSTATION)
        assert live.health().midi.state == "lost"
        assert not live.performer.sounding
        live.performer.poll()
        assert [e.on for e in heard] == [True, False]
        seq.plug(KEYSTATION)
        status = live.health().midi
        assert status.state == "connected" and status.reconnects == 1
        assert seq.subscriptions == {((24, 0), (driver.port.client, 0))}
    finally:
        live.close()
    assert driver.deleted == 1 and not seq.subscriptions and seq.closed


def test_midi_api_alsa_takes_the_sequencer_driver_too(alsa_machine):
    seq, driver = alsa_machine
    live = _session(driver, midi_api="alsa", midi_in="keystation")
    live.start()
    try:
        assert "read by FluidSynth's sequencer driver" in _midi_line(live)
        assert len(driver.opened) == 1
    finally:
        live.close()


def test_the_python_path_keeps_rtmidi(alsa_machine):
    """No compiled handler to give FluidSynth: rtmidi's callback, as before (here rtmidi
    has no sequencer to open, so the computer keyboard plays)."""
    seq, driver = alsa_machine
    live = _session(driver, note_path="python")
    live.start()
    try:
        assert not driver.opened and not seq.subscriptions
        line = _midi_line(live)
        if not HAS_SEQUENCER:
            assert line.startswith("MIDI in: the computer keyboard (alsa: cannot open MIDI")
        assert "FluidSynth's sequencer" not in line
    finally:
        live.close()


@pytest.mark.skipif(HAS_SEQUENCER, reason="this machine has an ALSA sequencer")
def test_a_sequencer_that_will_not_open_frees_fluidsynths_driver_and_falls_back(
    alsa_machine, monkeypatch
):
    """FluidSynth's driver opened, but libasound (the real one) cannot open the sequencer:
    the driver is freed at once and rtmidi is tried, as without the compiled path."""
    seq, driver = alsa_machine
    monkeypatch.setattr(alsaseq, "open_sequencer", AlsaSequencer)
    live = _session(driver)
    live.start()
    try:
        assert len(driver.opened) == 1 and driver.deleted == 1
        line = _midi_line(live)
        assert line.startswith("MIDI in: the computer keyboard (alsa: cannot open MIDI (alsa)")
        assert "(FluidSynth's sequencer input failed too: cannot open the ALSA sequencer" in line
        assert live.midi is None and live.health().midi.port == "computer keyboard"
    finally:
        live.close()
    assert driver.deleted == 1  # freed once, not again on close


@pytest.mark.skipif(HAS_SEQUENCER, reason="this machine has an ALSA sequencer")
def test_without_a_sequencer_fluidsynths_real_driver_fails_and_the_keyboard_plays(
    monkeypatch,
):
    """Nothing stood in: FluidSynth's own alsa_seq driver cannot open here, nor rtmidi."""
    monkeypatch.setenv("INSTRUMENT_ALSA_SEQ", os.devnull)
    monkeypatch.setenv("JACK_DEFAULT_SERVER", f"no-such-server-{os.getpid()}")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    live = _session()
    live.start()
    try:
        line = _midi_line(live)
        assert line.startswith("MIDI in: the computer keyboard (alsa: cannot open MIDI (alsa)")
        assert ("(FluidSynth's sequencer input failed too: could not open FluidSynth's "
                "alsa_seq MIDI input)") in line  # fmt: skip
        assert not live.synth._fs.midi_driver
        live.handle([0x90, 60, 100])  # the computer keyboard's way in still plays
        assert live.performer.counters.notes == 1
    finally:
        live.close()
