"""The compiled note path's owner: builds its state and stands where ``Performer`` stands.

``CompiledPerformer`` keeps the arrays ``live.notepath`` plays on (the arranger's own
arrays, shared, not copied), the table of their addresses the driver's callback reads,
and a ``rings.RingReader`` that brings what happened back to Python. Its interface is the
part of ``Performer``'s that the session, the display, the recorder and the band use:
``handle``, ``switch``, ``panic``, ``release_all``, ``add_listener``, ``raw_listeners``,
``decision_percentiles``, ``closed``, ``setup``, plus ``poll`` (run the listeners; any
thread but the audio thread) and ``programs`` (program changes for the main thread).

It plays the online LSTM and the zone split. ``python_reason`` says why a set-up keeps the
Python ``Performer`` instead (another arranger, MPE input, outputs other than FluidSynth),
for the status line: "note path: python (MPE)".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from instrument.arrange import features as F
from instrument.arrange.base import Arranger, ArrangerStats
from instrument.arrange.fast import GROUP_CAP, History, Net, Rules, new_chord
from instrument.arrange.neural import LSTMArranger
from instrument.arrange.zone import ZoneArranger
from instrument.ensemble import Ensemble
from instrument.errors import InstrumentError
from instrument.live import notepath as N
from instrument.live import rings as R
from instrument.live.performer import NoteEvent, Setup
from instrument.native import clock_address, fluid_address
from instrument.synth.base import SynthPort
from instrument.synth.fluid import Synth

NOT_GUARDED = 1 << 62  # a budget no decision reaches: the time guard off
COMPILED_ARRANGERS = ("lstm", "zone")  # the arrangers the compiled path plays, by name


def python_reason(arranger: Arranger, mpe: bool = False, fluid: bool = True) -> str | None:
    """Why the compiled path cannot play this set-up (None: it can). fluid: the session
    plays FluidSynth's own ``Synth`` (the path calls libfluidsynth itself, so a subclass
    that logs its calls, as the soak's, would miss them)."""
    if mpe:
        return "MPE"
    if not fluid:
        return "a synth of its own"
    if type(arranger) not in (LSTMArranger, ZoneArranger):
        return f"{arranger.name} arranger"
    return None


def fluid_synth_pointer(synth: Synth) -> int:
    """The ``fluid_synth_t *`` of an ``instrument.synth.fluid.Synth`` (its pyfluidsynth
    synth), for the compiled calls."""
    return int(synth._fs.synth)


def _dummy_net(n_parts: int, n_features: int) -> Net:
    """A 1-unit net for the zone split: the kernels' types stay the same for every set-up."""
    z = np.zeros
    f4 = np.float32
    return Net(1, z((128, 4), f4), z((4, n_features), f4), z((4, 1), f4), z((1, 4, 2), f4),
               z((1, 4), f4), z((n_parts, 1), f4), z(n_parts, f4), z(2, f4), z(4, f4),
               z(n_parts, f4))  # fmt: skip


def _history(n_parts: int) -> History:
    f4 = np.float32
    return History(F.new_state(n_parts), np.zeros((1, 1), f4), np.zeros((1, 1), f4))


def build_setup(ensemble: Ensemble, arranger: Arranger, gen: int) -> N.Setup:
    """The compiled ``Setup`` of ``ensemble`` played by ``arranger`` (an LSTMArranger, whose
    arrays it shares, or a ZoneArranger), generation ``gen``."""
    n_parts = len(ensemble)
    channels = np.array([p.channel for p in ensemble.parts], np.int64)
    poly = np.zeros(N.N_CHANNELS, np.int64)
    for p in ensemble.parts:
        poly[p.channel] = p.polyphony
    scratch = (np.zeros(GROUP_CAP, np.int64), np.zeros((GROUP_CAP, 3), np.int64),
               np.zeros((GROUP_CAP, 3), np.int64))  # fmt: skip
    if isinstance(arranger, LSTMArranger):
        a = arranger
        conf = np.array([gen, N.KIND_LSTM, a.revise, a.use_velocity, a.budget_ns], np.int64)
        return N.Setup(conf, np.zeros(2, np.int64), channels, poly, a.zone.table,
                       a.first.net, a.fast.net, a.arrival, a.before, a.as_revised, a.chord,
                       a.rules, a.first.x, a.xr, *scratch)  # fmt: skip
    if not isinstance(arranger, ZoneArranger):
        raise TypeError(f"the compiled path plays no {arranger.name} arranger")
    nf = F.n_online_features(n_parts)
    conf = np.array([gen, N.KIND_ZONE, 0, 0, NOT_GUARDED], np.int64)
    net = _dummy_net(n_parts, nf)
    rules = Rules(np.zeros((128, n_parts), np.float32), np.ones(n_parts, np.int64),
                  np.zeros(2, np.int64), np.zeros(1, np.float32))  # fmt: skip
    return N.Setup(conf, np.zeros(2, np.int64), channels, poly, arranger.table, net, net,
                   _history(n_parts), _history(n_parts), _history(n_parts), new_chord(nf, n_parts),
                   rules, np.zeros(nf, np.float32), np.zeros(nf, np.float32), *scratch)  # fmt: skip


def new_keys(reset_after: float) -> N.Keys:
    i8 = np.int64
    return N.Keys(np.zeros((16, 128, 6), i8), np.zeros((16, 128)), np.zeros((16, N.VOICES), i8),
                  np.zeros((16, N.VOICES), i8), np.zeros(16, i8), np.zeros(17, i8),
                  np.zeros(16, i8), np.zeros((16, 128), i8),
                  np.array([0.0, -1e9, reset_after]), np.zeros(5, i8))  # fmt: skip


def new_sink(synth_pointer: int) -> N.Sink:
    """The C functions the path calls; ``synth_pointer`` 0: record the calls only."""
    fns = np.zeros(N.N_FNS, np.int64)
    fns[N.FN_SYNTH] = synth_pointer
    names = {
        N.FN_NOTEON: "fluid_synth_noteon",
        N.FN_NOTEOFF: "fluid_synth_noteoff",
        N.FN_CC: "fluid_synth_cc",
        N.FN_BEND: "fluid_synth_pitch_bend",
        N.FN_NOTES_OFF: "fluid_synth_all_notes_off",
        N.FN_SOUNDS_OFF: "fluid_synth_all_sounds_off",
        N.FN_EV_TYPE: "fluid_midi_event_get_type",
        N.FN_EV_CHANNEL: "fluid_midi_event_get_channel",
        N.FN_EV_KEY: "fluid_midi_event_get_key",
        N.FN_EV_VALUE: "fluid_midi_event_get_value",
    }
    for index, name in names.items():
        fns[index] = fluid_address(name)
    fns[N.FN_CLOCK] = clock_address()
    return N.Sink(fns, np.zeros(2, np.int64))


def _flatten(value, rows: list[tuple[int, int, int, int]]) -> None:
    if isinstance(value, tuple):  # a named tuple: its fields in order
        for field in value:
            _flatten(field, rows)
    elif isinstance(value, np.ndarray):
        if not value.flags.c_contiguous:
            raise ValueError("the note path's arrays must be C-contiguous")
        shape = (*value.shape, 0, 0, 0)[:3]
        rows.append((value.ctypes.data, *shape))
    else:  # an int field (Net.layers)
        rows.append((int(value), 0, 0, 0))


def table_rows(setup: N.Setup, keys: N.Keys, rings: R.Rings, sink: N.Sink) -> np.ndarray:
    """(TABLE_ROWS, 4) int64: the address and shape of every array, as ``notepath._unpack``
    reads them. The arrays must outlive the table (the owner keeps them)."""
    rows: list[tuple[int, int, int, int]] = []
    _flatten((setup, keys, rings, sink), rows)
    if len(rows) != N.TABLE_ROWS:
        raise AssertionError(f"table of {len(rows)} rows, notepath reads {N.TABLE_ROWS}")
    return np.array(rows, np.int64)


class PathCounters:
    """``Performer.counters`` as the compiled path keeps them (read from its rings)."""

    def __init__(self, rings: R.Rings, reader: R.RingReader):
        self._c, self._reader = rings.counters, reader

    notes = property(lambda self: int(self._c[R.C_NOTES]))
    ignored = property(lambda self: int(self._c[R.C_IGNORED]))
    orphan_offs = property(lambda self: int(self._c[R.C_ORPHAN_OFFS]))
    resets = property(lambda self: int(self._c[R.C_RESETS]))
    panics = property(lambda self: int(self._c[R.C_PANICS]))
    revised = property(lambda self: int(self._c[R.C_MOVED]))
    mono_cuts = property(lambda self: int(self._c[R.C_MONO_CUTS]))

    def decision_percentiles(self) -> tuple[float, float]:
        """(p50, p99) in ms of the decisions, timed by the compiled path where they ran."""
        return self._reader.decision_percentiles()


def forward_calls(calls: list[tuple], outputs: tuple) -> None:
    """Replay the path's recorded synth calls on other part outputs (a MIDI out, a take's
    audio): what FluidSynth got, a pump interval later. A panic (all notes off on channel
    0, then the rest) becomes one ``panic``."""
    for call in calls:
        name, channel, args = call[0], call[1], call[2:]
        for out in outputs:
            if name == "noteon":
                out.noteon(channel, *args)
            elif name == "noteoff":
                out.noteoff(channel, *args)
            elif name == "cc":
                out.cc(channel, *args)
            elif name == "pitch_bend":
                out.pitch_bend(channel, *args)
            elif name == "all_notes_off" and channel == 0:
                out.panic()


class CompiledPerformer:
    """MIDI in -> the compiled note path -> FluidSynth (``synth``: an
    ``instrument.synth.fluid.Synth``; None with ``record_calls`` rows: the calls are only
    recorded, for tests). outputs: where the set-up calls go (the ensemble's programs on a
    switch; default ``synth``: a session's ``PartOutputs``). reset_after: seconds of
    silence after which the arranger starts a new phrase. clock: the time of a message
    handled without one (seconds, monotonic)."""

    def __init__(
        self,
        synth: Synth | None,
        ensemble: Ensemble,
        arranger: Arranger,
        reset_after: float = 4.0,
        record_calls: int = 0,
        clock: Callable[[], float] = time.monotonic,
        outputs: SynthPort | None = None,
    ):
        self.synth = synth
        self.outputs = outputs if outputs is not None else synth  # program changes & co.
        self.clock = clock
        self.keys = new_keys(reset_after)
        self.rings = R.new_rings(record_calls=record_calls)
        self.sink = new_sink(fluid_synth_pointer(synth) if synth is not None else 0)
        self.reader = R.RingReader(self.rings)
        self.counters = PathCounters(self.rings, self.reader)
        self._pump: threading.Thread | None = None
        self._pump_stop = threading.Event()
        self._pump_lock = threading.Lock()  # one reader of the rings at a time (Python side)
        self._outputs: Callable[[], tuple] | None = None  # set by ``pump``
        self.slot = np.zeros(1, np.int64)  # the driver's user data: the current table
        self._tables: list[tuple[N.Setup, np.ndarray]] = []  # every table stays alive
        self._gen = 0
        if self.outputs is not None:
            self.outputs.set_ensemble(ensemble)
        self._use(ensemble, arranger)

    def _use(self, ensemble: Ensemble, arranger: Arranger) -> None:
        self._gen += 1
        compiled = build_setup(ensemble, arranger, self._gen)
        table = table_rows(compiled, self.keys, self.rings, self.sink)
        self._tables.append((compiled, table))
        self.compiled = compiled
        self.setup = Setup(ensemble, arranger, tuple(p.channel for p in ensemble.parts))
        self.slot[0] = table.ctypes.data  # one aligned store: the next event plays it

    # -- what the driver needs ---------------------------------------------------------------
    @property
    def user_data(self) -> int:
        """The pointer FluidSynth hands the callback: the slot's address."""
        return int(self.slot.ctypes.data)

    @staticmethod
    def handler_address() -> int:
        """The ``handle_midi_event_func_t`` to give FluidSynth's MIDI driver."""
        return int(N.handler().address)

    # -- main thread -------------------------------------------------------------------------
    def switch(self, ensemble: Ensemble, arranger: Arranger) -> None:
        """Play on with another ensemble/arranger: sounding notes ring on and end normally.
        InstrumentError for an arranger the compiled path cannot play."""
        reason = python_reason(arranger)
        if reason is not None:
            raise InstrumentError(f"the compiled note path cannot play the {reason} "
                                  "(play with --note-path python)")  # fmt: skip
        N.reset_arranger(build_setup(ensemble, arranger, 0), self.keys)
        out = self.outputs
        if out is not None:
            for part in ensemble.parts:  # a program change leaves sounding voices alone
                out.program(part.channel, part.program)
                out.cc(part.channel, 7, part.volume)
                out.cc(part.channel, 10, part.pan)
            out.ensemble = ensemble
        self._use(ensemble, arranger)

    @property
    def closed(self) -> bool:
        return bool(self.keys.flags[N.F_CLOSED])

    @closed.setter
    def closed(self, value: bool) -> None:
        self.keys.flags[N.F_CLOSED] = 1 if value else 0

    @property
    def transpose(self) -> int:
        return int(self.keys.flags[N.F_TRANSPOSE])

    @transpose.setter
    def transpose(self, semitones: int) -> None:
        self.keys.flags[N.F_TRANSPOSE] = semitones

    def add_listener(self, fn: Callable[[NoteEvent], None]) -> None:
        """``fn`` runs in the thread that calls ``poll``, never in the audio thread."""
        self.reader.listeners.append(fn)

    @property
    def sounding(self) -> dict[tuple[int, int], int]:
        """(input channel, pitch) -> output channel of every key held (a snapshot)."""
        held = self.keys.held
        return {(int(c), int(p)): int(held[c, p, N.H_CHANNEL])
                for c, p in zip(*np.nonzero(held[:, :, N.H_ACTIVE]), strict=True)}  # fmt: skip

    @property
    def listeners(self) -> list[Callable[[NoteEvent], None]]:
        return self.reader.listeners

    @property
    def raw_listeners(self) -> list[Callable[[list[int], float], None]]:
        return self.reader.raw_listeners

    def poll(self) -> None:
        """Hand the listeners what the path did since the last poll."""
        self.reader.poll()

    def pump(self, outputs: Callable[[], tuple] = tuple, every: float = 0.002) -> None:
        """Start a thread that, every ``every`` s, replays the recorded calls on the
        ``outputs()`` beside FluidSynth (``forward_calls``) and runs the listeners."""

        self._outputs = outputs

        def run() -> None:
            while not self._pump_stop.wait(every):
                self.pump_once(outputs())

        self._pump = threading.Thread(target=run, name="note-path-pump", daemon=True)
        self._pump.start()

    def pump_once(self, outputs: tuple = ()) -> None:
        """Replay the recorded calls on ``outputs`` and run the listeners, now."""
        with self._pump_lock:
            calls = self.reader.calls()
            if outputs and calls:
                forward_calls(calls, outputs)
            self.reader.poll()

    def stop_pump(self) -> None:
        """Stop the pump thread (after one last round: nothing is left unread)."""
        if self._pump is not None:
            self._pump_stop.set()
            self._pump.join(1.0)
            self._pump = None

    def programs(self) -> list[int]:
        """Program changes the keyboard sent since the last call (for registrations)."""
        return self.reader.programs()

    def counter(self, index: int) -> int:
        """One of the path's counters (``rings.C_*``)."""
        return int(self.rings.counters[index])

    def decision_percentiles(self) -> tuple[float, float]:
        """(p50, p99) in ms of the decisions, as the path timed them where they ran."""
        return self.reader.decision_percentiles()

    def stats(self) -> ArrangerStats:
        """The arranger's figures as the compiled path counted them."""
        budget = int(self.compiled.conf[N.S_BUDGET_NS])
        c = self.rings.counters
        return ArrangerStats(int(c[R.C_STEPS]), int(c[R.C_FALLBACKS]), int(c[R.C_REVISED]),
                             budget if budget < NOT_GUARDED else 0)  # fmt: skip

    # -- any thread but the audio thread (each takes the path's lock) ------------------------
    def handle(self, data: list[int], t: float | None = None) -> None:
        """Play one raw MIDI message received at ``t`` (seconds, monotonic). Never raises."""
        t = self.clock() if t is None else t
        try:
            if not data or not all(isinstance(x, int) and 0 <= x <= 255 for x in data):
                raise ValueError
            status, body = data[0], list(data[1:3])
        except (TypeError, ValueError):
            status, body = 0, []  # not MIDI: counted as ignored
        n = len(body)
        body += [0, 0]
        N.process(self.compiled, self.keys, self.rings, self.sink, status, body[0], body[1],
                  n, float(t))  # fmt: skip
        self._tell()

    def release_all(self) -> None:
        """Note-off for every sounding note (the keyboard vanished: its keys are up)."""
        N.release_all(self.compiled, self.keys, self.rings, self.sink, float(self.clock()))
        self._tell()

    def panic(self) -> None:
        """Silence everything now, on every channel, and forget what was sounding."""
        N.panic(self.keys, self.rings, self.sink)
        self._tell()

    def _tell(self) -> None:
        """Pumped (a session): what a call from Python did reaches the other outputs and
        the listeners at once, in the calling thread, as the Python performer's would."""
        if self._outputs is not None:
            self.pump_once(self._outputs())


def open_compiled_input(
    synth: Synth, path: CompiledPerformer, driver: str, client_name: str
) -> None:
    """FluidSynth's MIDI driver ``driver`` ("jack" or "alsa_seq") on ``synth`` (a started
    ``instrument.synth.fluid.Synth``) with the compiled handler playing ``path``; the
    synth frees it with its audio driver (``stop_driver``) or abandons it with it."""
    from instrument.input.jack import open_compiled_midi

    fs = synth._fs  # the pyfluidsynth synth, whose midi_driver the Synth's stop_driver frees
    fs.midi_driver, synth._midi_handler = open_compiled_midi(
        fs, driver, client_name, path.handler_address(), path.user_data
    )


def warm_up() -> None:
    """Compile the note path now (or load it from numba's cache), not on the first note:
    every entry played once on a throwaway zone set-up that records its calls."""
    from instrument.ensemble import load_ensemble

    ensemble = load_ensemble("choir")
    path = CompiledPerformer(None, ensemble, ZoneArranger(ensemble), record_calls=64)
    for data in ([0x90, 60, 90], [0xB0, 64, 127], [0x80, 60, 0], [0xB0, 64, 0], [0xE0, 0, 64],
                 [0xB0, 1, 10], [0xC0, 3], [0xB0, 123, 0]):  # fmt: skip
        path.handle(data, 0.0)
    path.handler_address()  # the driver's callback
    path.release_all()
    path.switch(ensemble, ZoneArranger(ensemble))
    path.poll()
