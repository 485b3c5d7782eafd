"""The compiled note path against the Python one: the same synth calls, the same parts.

The compiled path records its synth calls in its own ring (``record_calls``); the Python
``Performer`` plays into a recording stand-in for FluidSynth. Both arrange with their own
``LSTMArranger`` of the same model (time guard off), on a test piece performed with random
chord orders and spreads, pedal, bends and controllers between the notes.
"""

from __future__ import annotations

import ctypes
import time
from collections import defaultdict

import numpy as np
import pytest
from numba.core.runtime import _nrt_python as _nrt
from numba.core.runtime import rtsys

from instrument.arrange.neural import LSTMArranger
from instrument.arrange.performance import keyboard_events, perform
from instrument.arrange.zone import ZoneArranger
from instrument.datasets.corpus import Piece
from instrument.ensemble import load_ensemble
from instrument.live import notepath as N
from instrument.live import rings as R
from instrument.live.compiled import (
    CompiledPerformer,
    build_setup,
    new_keys,
    new_sink,
    python_reason,
    table_rows,
    warm_up,
)
from instrument.live.performer import Performer
from instrument.synth.library import fluidsynth
from tests.support.fakes import SilentSynth


class CallLog(SilentSynth):
    """Stands where FluidSynth stands for the Python performer: keeps the calls."""

    def __init__(self):
        self.calls: list[tuple] = []

    def noteon(self, channel, pitch, velocity):
        self.calls.append(("noteon", channel, pitch, velocity))

    def noteoff(self, channel, pitch):
        self.calls.append(("noteoff", channel, pitch))

    def cc(self, channel, control, value):
        self.calls.append(("cc", channel, control, value))

    def pitch_bend(self, channel, value14):
        self.calls.append(("pitch_bend", channel, value14))

    def panic(self):  # as Synth.panic
        for ch in range(16):
            self.calls.append(("cc", ch, 64, 0))
            self.calls.append(("all_notes_off", ch))
            self.calls.append(("all_sounds_off", ch))


def chorale(seed: int, n_chords: int = 40) -> Piece:
    """A four-part chorale-like piece: close chords that move by step, a few long notes."""
    rng = np.random.default_rng(seed)
    rows, part = [], []
    t = 0.0
    voices = np.array([72, 67, 60, 48])
    for _ in range(n_chords):
        voices = np.clip(voices + rng.integers(-2, 3, 4), [64, 57, 50, 38], [79, 72, 67, 60])
        length = 0.6 * rng.choice([1, 1, 1, 2])
        for k, pitch in enumerate(voices):
            rows.append((t, t + length, int(pitch), 64))
            part.append(k)
        t += length
    return Piece.from_notes("test", ("S", "A", "T", "B"), np.array(rows, float),
                            np.array(part))  # fmt: skip


def messages(seed: int) -> list[tuple[float, list[int]]]:
    """Two performances of the test piece as a keyboard sends it, 5 s apart (the arranger
    starts a new phrase), with bends, a mod wheel and a stray controller between the
    notes."""
    rng = np.random.default_rng(seed + 100)
    events = keyboard_events(perform(chorale(seed), rng, "random"))
    events += [(t + events[-1][0] + 5.0, data) for t, data in events]
    out = []
    for t, data in events:
        out.append((t, data))
        r = rng.random()
        if r < 0.05:
            out.append((t, [0xE0, int(rng.integers(128)), int(rng.integers(128))]))
        elif r < 0.08:
            out.append((t, [0xB0, 1, int(rng.integers(128))]))
        elif r < 0.10:
            out.append((t, [0xB0, 7, 100]))  # not followed: ignored
    return out


def by_channel(calls: list[tuple]) -> dict[int, list[tuple]]:
    """The calls of each channel in order (the channels are independent in the synth)."""
    grouped: dict[int, list[tuple]] = defaultdict(list)
    for call in calls:
        grouped[call[1]].append(call)
    return dict(grouped)


def final_parts(events) -> dict[tuple[float, int], int]:
    """(onset, pitch) -> the part the note ended on (after its revisions)."""
    parts = {}
    for e in events:
        if e.on:
            parts[(round(e.time, 9), e.pitch)] = e.part
    return parts


@pytest.fixture(scope="module")
def choir():
    warm_up()
    return load_ensemble("choir")


def _arranger(ensemble) -> LSTMArranger:
    a = LSTMArranger(ensemble)
    a.use_time_guard(False)
    return a


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_same_synth_calls_and_parts_as_the_python_performer(choir, seed):
    synth = CallLog()
    python = Performer(synth, choir, _arranger(choir))
    py_events: list = []
    python.add_listener(py_events.append)
    compiled = CompiledPerformer(None, choir, _arranger(choir), record_calls=4096)
    c_events = []
    for t, data in messages(seed):
        synth.calls.clear()
        python.handle(data, t)
        compiled.handle(data, t)
        got = compiled.reader.calls()
        assert by_channel(got) == by_channel(synth.calls), (t, data)
        c_events += compiled.reader.note_events()
    assert compiled.reader.lost == 0
    assert sorted(c_events, key=repr) == sorted(py_events, key=repr)
    assert final_parts(c_events) == final_parts(py_events)
    assert compiled.counter(R.C_MOVED) == python.counters.revised > 0  # moves were tested
    assert compiled.counter(R.C_MONO_CUTS) == python.counters.mono_cuts
    assert compiled.counter(R.C_NOTES) == python.counters.notes
    assert compiled.counter(R.C_RESETS) == python.counters.resets == 2
    assert compiled.counter(R.C_IGNORED) == python.counters.ignored > 0
    assert compiled.decision_percentiles()[1] > 0.0


def test_the_zone_split_and_garbage_as_the_python_performer(choir):
    synth = CallLog()
    python = Performer(synth, choir, ZoneArranger(choir))
    compiled = CompiledPerformer(None, choir, ZoneArranger(choir), record_calls=4096)
    junk = [[], [0x90], [0x90, 200, 1], [0xF0, 1, 2, 0xF7], [0x12, 0x34], [0xD0, 5],
            [0xB0, 7, 100], None, "garbage", [0x90, 60, 999], [0x90, 60, 100, 5]]  # fmt: skip
    for data in [*junk, [0xB0, 64, 127], [0x90, 62, 90], [0x80, 62, 0], [0x90, 64, 90],
                 [0xB0, 64, 0], [0x80, 61, 0]]:  # fmt: skip
        synth.calls.clear()
        python.handle(data, 1.0)  # type: ignore[arg-type]
        compiled.handle(data, 1.0)  # type: ignore[arg-type]
        assert by_channel(compiled.reader.calls()) == by_channel(synth.calls), data
    assert compiled.counter(R.C_IGNORED) == python.counters.ignored == 10
    assert compiled.counter(R.C_ORPHAN_OFFS) == python.counters.orphan_offs == 1


def _sounding(path: CompiledPerformer) -> dict[int, set[int]]:
    """channel -> pitches sounding, from the recorded calls (all-notes-off clears)."""
    on: dict[int, set[int]] = defaultdict(set)
    for call in path.reader.calls():
        name, ch = call[0], call[1]
        if name == "noteon":
            on[ch].add(call[2])
        elif name == "noteoff":
            on[ch].discard(call[2])
        elif name == "all_notes_off":
            on[ch].clear()
    return {ch: p for ch, p in on.items() if p}


STATES = {
    "held": [[0x90, 60, 90], [0x90, 64, 90], [0x90, 67, 90]],
    "pedalled": [[0xB0, 64, 127], [0x90, 60, 90], [0x90, 72, 90], [0x80, 60, 0],
                 [0x80, 72, 0]],
    "moved": [[0x90, 67, 90], [0x90, 48, 90], [0x90, 60, 90], [0x90, 76, 90]],
    "mono-cut": [[0x90, 72, 90], [0x90, 74, 90], [0x90, 76, 90]],
}  # fmt: skip


@pytest.mark.parametrize("state", sorted(STATES))
@pytest.mark.parametrize("silence", ["cc123", "cc120", "panic", "release_all"])
def test_panic_and_all_notes_off_leave_nothing_hanging(choir, state, silence):
    path = CompiledPerformer(None, choir, _arranger(choir), record_calls=4096)
    for k, data in enumerate(STATES[state]):
        path.handle(data, 5.0 + 0.01 * k)
    if silence == "cc123":
        path.handle([0xB0, 123, 0], 6.0)
    elif silence == "cc120":
        path.handle([0xB1, 120, 0], 6.0)
    elif silence == "panic":
        path.panic()
    else:
        path.release_all()
    assert _sounding(path) == {}
    # whatever comes after: the keys' releases are orphans, nothing sounds or hangs
    for data in STATES[state]:
        path.handle([0x80, data[1], 0], 6.5)
    path.handle([0xB0, 64, 0], 6.6)
    assert not [c for c in path.reader.calls() if c[0] == "noteon"]
    assert not path.keys.held[:, :, N.H_ACTIVE].any()
    assert path.keys.voice_n.sum() == 0


def test_moved_and_pedalled_notes_end_when_released(choir):
    path = CompiledPerformer(None, choir, _arranger(choir), record_calls=4096)
    on: dict[int, set[int]] = defaultdict(set)
    script = [*STATES["pedalled"], *STATES["moved"], [0x80, 67, 0], [0x80, 48, 0],
              [0x80, 60, 0], [0x80, 76, 0], [0xB0, 64, 0]]  # fmt: skip
    for k, data in enumerate(script):
        path.handle(data, 1.0 + 0.01 * k)
    assert path.counter(R.C_MOVED) + path.counter(R.C_MONO_CUTS) > 0
    for call in path.reader.calls():
        if call[0] == "noteon":
            on[call[1]].add(call[2])
        elif call[0] == "noteoff":
            on[call[1]].discard(call[2])
    assert not any(on.values())


def test_the_table_rebuilds_every_array(choir):
    setup = build_setup(choir, _arranger(choir), 1)
    keys, rings, sink = new_keys(4.0), R.new_rings(record_calls=8), new_sink(0)
    table = table_rows(setup, keys, rings, sink)
    rebuilt = N._unpack(table)
    flat_a: list = []
    flat_b: list = []

    def flatten(value, out):
        if isinstance(value, tuple):
            for v in value:
                flatten(v, out)
        else:
            out.append(value)

    flatten((setup, keys, rings, sink), flat_a)
    flatten(rebuilt, flat_b)
    assert len(flat_a) == len(flat_b) == N.TABLE_ROWS
    for a, b in zip(flat_a, flat_b, strict=True):
        if isinstance(a, np.ndarray):
            assert a.shape == b.shape and a.dtype == b.dtype
            assert a.ctypes.data == b.ctypes.data  # the same memory, not a copy
        else:
            assert a == b


def _fluid_event(kind: int, channel: int, key: int, value: int) -> int:
    lib = fluidsynth._fl
    lib.new_fluid_midi_event.restype = ctypes.c_void_p
    ev = lib.new_fluid_midi_event()
    for name, arg in (("type", kind), ("channel", channel), ("key", key), ("value", value)):
        fn = getattr(lib, f"fluid_midi_event_set_{name}")
        fn.argtypes = [ctypes.c_void_p, ctypes.c_int]
        fn(ev, arg)
    return ev


def test_the_driver_callback_decodes_fluidsynth_events(choir):
    """The cfunc FluidSynth's driver calls, called here as the driver would."""
    path = CompiledPerformer(None, choir, ZoneArranger(choir), record_calls=64)
    handler = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)(
        path.handler_address()
    )
    lib = fluidsynth._fl
    lib.delete_fluid_midi_event.argtypes = [ctypes.c_void_p]
    for event in ((0x90, 2, 64, 100), (0xE0, 0, 0x3000, 0), (0x80, 2, 64, 0)):
        ev = _fluid_event(*event)
        assert handler(path.user_data, ev) == 0
        lib.delete_fluid_midi_event(ev)
    channel = choir.parts[int(ZoneArranger(choir).table[64])].channel
    calls = path.reader.calls()
    assert calls[0] == ("noteon", channel, 64, 100)
    assert [c for c in calls if c[0] == "pitch_bend"][0][2] == 0x3000
    assert calls[-1] == ("noteoff", channel, 64)
    raw = path.reader.raw_messages()
    assert raw[0][0] == [0x92, 64, 100] and raw[1][0] == [0xE0, 0x00, 0x60]


def _nrt_allocations() -> int:
    """Allocations numba's runtime (NRT) has made in this process so far."""
    return rtsys.get_allocation_stats().alloc


@pytest.fixture
def nrt_counted():
    """numba counts NRT allocations only while asked to (``NUMBA_NRT_STATS`` at start-up,
    or this switch)."""
    was = _nrt.memsys_stats_enabled()
    _nrt.memsys_enable_stats()
    yield
    if not was:
        _nrt.memsys_disable_stats()


CHORDS = ([60, 64, 67, 72], [59, 62, 67, 74], [57, 60, 64, 69], [55, 59, 62, 67])


def test_notes_and_revisions_allocate_nothing_in_the_audio_thread(choir, nrt_counted):
    """The driver's callback, as FluidSynth's MIDI driver calls it in the audio thread
    (calling ``process`` from Python would count the arguments' unboxing too): after a
    warm-up, chords struck in changing finger orders, each revised as it arrives, make
    no allocation (a malloc under numba's runtime would be one)."""
    path = CompiledPerformer(None, choir, _arranger(choir), record_calls=4096)
    handler = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)(
        path.handler_address()
    )
    lib = fluidsynth._fl
    lib.delete_fluid_midi_event.argtypes = [ctypes.c_void_p]

    def play(kind: int, pitch: int, velocity: int) -> None:
        ev = _fluid_event(kind, 0, pitch, velocity)
        handler(path.user_data, ev)
        lib.delete_fluid_midi_event(ev)

    def chords(transpose: int) -> None:
        for k, chord in enumerate(CHORDS * 2):
            pitches = [p + transpose for p in chord]
            for pitch in pitches[::-1] if k % 2 else pitches:  # one chord: well within 50 ms
                play(0x90, pitch, 80)
            time.sleep(0.12)  # the next one is a new chord (features.GROUP_S apart)
            for pitch in pitches:
                play(0x80, pitch, 0)

    chords(0)  # warm-up
    revised, moved = path.counter(R.C_REVISED), path.counter(R.C_MOVED)
    before = _nrt_allocations()
    chords(2)
    assert _nrt_allocations() == before
    assert path.counter(R.C_REVISED) > revised and path.counter(R.C_MOVED) > moved


def test_python_keeps_what_the_compiled_path_cannot_play(choir):
    assert python_reason(ZoneArranger(choir)) is None
    assert python_reason(ZoneArranger(choir), mpe=True) == "MPE"
    assert python_reason(ZoneArranger(choir), fluid=False) == "a synth of its own"


def test_program_changes_and_transposition_as_the_session(choir):
    path = CompiledPerformer(None, choir, ZoneArranger(choir), record_calls=64)
    path.handle([0xC0, 5], 0.0)
    assert path.programs() == [5]
    path.transpose = 12
    path.handle([0x90, 60, 90], 0.1)
    path.transpose = 0  # changed while the key is down: its note-off still finds it
    path.handle([0x80, 60, 0], 0.2)
    calls = path.reader.calls()
    assert calls[0][:3] == ("noteon", calls[0][1], 72)
    assert calls[-1] == ("noteoff", calls[0][1], 72)
    path.transpose = 70
    path.handle([0x90, 60, 90], 0.3)  # beyond MIDI: silent, and so is its note-off
    path.handle([0x80, 60, 0], 0.4)
    assert path.reader.calls() == [] and path.counter(R.C_ORPHAN_OFFS) == 0


@pytest.mark.parametrize("silence", ["cc123", "panic", "release_all"])
def test_fluidsynth_sounds_the_compiled_calls_and_falls_silent(choir, silence):
    """With a real FluidSynth (called by address from the compiled code, no driver)."""
    from instrument.synth import Synth, find_soundfont

    synth = Synth(find_soundfont(), sample_rate=44100)
    try:
        path = CompiledPerformer(synth, choir, _arranger(choir))
        for k, data in enumerate([*STATES["pedalled"], *STATES["moved"]]):
            path.handle(data, 1.0 + 0.01 * k)
        assert synth.active_voices() > 0
        assert np.abs(synth.render(4410)).max() > 0.01
        if silence == "cc123":
            path.handle([0xB0, 123, 0], 2.0)
        elif silence == "panic":
            path.panic()
        else:
            path.release_all()
        synth.render(2 * 44100)  # the releases play out
        assert np.abs(synth.render(4410)).max() < 1e-3
    finally:
        synth.close()
