"""Per-message cost of the note path: the compiled one (``live.notepath``) against Python.

    .venv/bin/python bench/bench_notepath.py [--ensemble choir] [--chords 400] [--no-write]

Pinned to one CPU core, the same keyboard stream (a four-part chorale-like piece
performed by ``arrange.performance``: random chord order and spreads, pedal; seeded) is
played through:

- ``python``: ``Performer.handle`` + ``LSTMArranger`` (time guard off) into a synth that
  does nothing; per note-on, wall clock of ``handle``, and the arranger's own work
  (``last_step_ns``: assign + revisions, what comes before the note sounds);
- ``compiled, from Python``: ``CompiledPerformer.handle`` (numba's dispatch of the state
  from Python included), no synth;
- ``compiled, as the driver calls it``: ``notepath.handler()`` called through
  ctypes with FluidSynth MIDI events made beforehand (the call FluidSynth's MIDI driver
  makes; ctypes adds about a microsecond), no synth. The handler reads the real clock,
  so these events are sent in real time (the first ``--driver-chords`` chords);
- ``python, paced``: the Python performer on the driver's stream, in real time too;
- ``compiled, in the path``: the decision times the path writes to its timing ring
  (assign + revisions, timed with CLOCK_MONOTONIC where they run): the status line's
  "decide p99".

Writes docs/benchmarks.md (section notepath) unless --no-write. Speed only: the tests
(tests/test_notepath.py) show the paths make the same calls.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import os
import platform
import time

import _root  # noqa: F401 - the repository root on sys.path, for tests.support
import numpy as np

from instrument.arrange.neural import LSTMArranger
from instrument.arrange.performance import keyboard_events, perform
from instrument.datasets.corpus import Piece
from instrument.ensemble import load_ensemble
from instrument.live import rings as R
from instrument.live.compiled import CompiledPerformer, warm_up
from instrument.live.performer import Performer
from instrument.report import markdown_table, write_section
from instrument.synth.library import fluidsynth
from tests.support.fakes import SilentSynth


def chorale_stream(chords: int, seed: int = 0) -> list[tuple[float, list[int]]]:
    """A four-part piece of ``chords`` chords moving by step, as a keyboard plays it."""
    rng = np.random.default_rng(seed)
    rows, part, t = [], [], 0.0
    voices = np.array([72, 67, 60, 48])
    for _ in range(chords):
        voices = np.clip(voices + rng.integers(-2, 3, 4), [64, 57, 50, 38], [79, 72, 67, 60])
        length = 0.5 * rng.choice([1, 1, 2])
        for k, pitch in enumerate(voices):
            rows.append((t, t + length, int(pitch), 64))
            part.append(k)
        t += length
    piece = Piece.from_notes("bench", ("S", "A", "T", "B"), np.array(rows, float),
                             np.array(part))  # fmt: skip
    return keyboard_events(perform(piece, np.random.default_rng(seed + 1), "random"))


def stats(ns: np.ndarray) -> list[object]:
    us = np.asarray(ns) / 1e3
    return [f"{np.percentile(us, 50):.1f}", f"{np.percentile(us, 90):.1f}",
            f"{np.percentile(us, 99):.1f}", f"{us.max():.1f}", len(us)]  # fmt: skip


def _arranger(ensemble) -> LSTMArranger:
    a = LSTMArranger(ensemble)
    a.use_time_guard(False)
    return a


def time_python(ensemble, stream, paced: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Per note-on: ``Performer.handle``'s wall clock and the arranger's work; ``paced``:
    each message at its time from now, as the driver's run."""
    arranger = _arranger(ensemble)
    perf = Performer(SilentSynth(), ensemble, arranger)  # the synth's cost is not measured
    wall, work = [], []
    start = time.monotonic() - stream[0][0]
    for t, data in stream:
        while paced and (ahead := start + t - time.monotonic()) > 0:
            time.sleep(ahead)
        t0 = time.perf_counter_ns()
        perf.handle(data, time.monotonic() if paced else t)
        dt = time.perf_counter_ns() - t0
        if data[0] & 0xF0 == 0x90 and data[2] > 0:
            wall.append(dt)
            work.append(arranger.last_step_ns)
    return np.array(wall), np.array(work)


def time_compiled(ensemble, stream) -> tuple[np.ndarray, np.ndarray]:
    path = CompiledPerformer(None, ensemble, _arranger(ensemble))
    wall = []
    for t, data in stream:
        t0 = time.perf_counter_ns()
        path.handle(data, t)
        dt = time.perf_counter_ns() - t0
        if data[0] & 0xF0 == 0x90 and data[2] > 0:
            wall.append(dt)
    n = min(int(path.rings.heads[R.TIMING]), len(path.rings.timing))
    return np.array(wall), path.rings.timing[:n].copy()


def time_driver_call(ensemble, stream) -> tuple[np.ndarray, np.ndarray]:
    """The cfunc called as FluidSynth's driver calls it, on events made beforehand, each
    at its time in ``stream`` from now (the handler stamps events with the real clock).
    Returns the calls' wall clock per note-on and the path's own decision times."""
    lib = fluidsynth._fl
    lib.new_fluid_midi_event.restype = ctypes.c_void_p
    lib.delete_fluid_midi_event.argtypes = [ctypes.c_void_p]
    setters = {n: getattr(lib, f"fluid_midi_event_set_{n}") for n in ("type", "channel", "key",
                                                                      "value")}  # fmt: skip
    for fn in setters.values():
        fn.argtypes = [ctypes.c_void_p, ctypes.c_int]
    events = []
    for t, data in stream:
        ev = lib.new_fluid_midi_event()
        kind = data[0] & 0xF0
        if kind == 0x90 and data[2] == 0:
            kind = 0x80
        for name, value in (("type", kind), ("channel", data[0] & 15), ("key", data[1]),
                            ("value", data[2])):  # fmt: skip
            setters[name](ev, value)
        events.append((t, ev, kind == 0x90))
    path = CompiledPerformer(None, ensemble, _arranger(ensemble))
    handler = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)(
        path.handler_address()
    )
    user = ctypes.c_void_p(path.user_data)
    wall = []
    start = time.monotonic() - stream[0][0]
    try:
        for t, ev, is_on in events:
            while (ahead := start + t - time.monotonic()) > 0:
                time.sleep(ahead)
            t0 = time.perf_counter_ns()
            handler(user, ev)
            dt = time.perf_counter_ns() - t0
            if is_on:
                wall.append(dt)
    finally:
        for _, ev, _ in events:
            lib.delete_fluid_midi_event(ev)
    n = min(int(path.rings.heads[R.TIMING]), len(path.rings.timing))
    return np.array(wall), path.rings.timing[:n].copy()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ensemble", default="choir")
    ap.add_argument("--chords", type=int, default=400)
    ap.add_argument("--driver-chords", type=int, default=80)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    warm_up()
    ensemble = load_ensemble(args.ensemble)
    stream = chorale_stream(args.chords)
    py_wall, py_work = time_python(ensemble, stream)
    c_wall, c_work = time_compiled(ensemble, stream)
    paced = chorale_stream(args.driver_chords)
    d_wall, d_work = time_driver_call(ensemble, paced)
    p_wall, p_work = time_python(ensemble, paced, paced=True)
    rows = [
        ["python: Performer.handle, per note-on", *stats(py_wall)],
        ["python: the arranger's work (assign + revisions)", *stats(py_work)],
        ["compiled, from Python: CompiledPerformer.handle", *stats(c_wall)],
        ["compiled, as the driver calls it (ctypes call of the cfunc)", *stats(d_wall)],
        ["compiled, in the path: assign + revisions (timing ring)", *stats(c_work)],
        ["compiled, in the path, paced in real time (the driver's run)", *stats(d_work)],
        ["python, paced in real time: Performer.handle", *stats(p_wall)],
        ["python, paced in real time: the arranger's work", *stats(p_work)],
    ]
    table = markdown_table(["per note-on (µs)", "p50", "p90", "p99", "max", "n"], rows)
    print(table)
    if not args.no_write:
        write_section("benchmarks.md", "notepath", section(args, table))
    return 0


def section(args, table: str) -> str:
    cpu = platform.processor() or platform.machine()
    return f"""## The note path: compiled (live/notepath.py) against Python

`.venv/bin/python bench/bench_notepath.py --ensemble {args.ensemble} --chords {args.chords} \
--driver-chords {args.driver_chords}`
({datetime.date.today()}, {cpu}, {os.cpu_count()} CPUs shared with other work, pinned to one
core; no synth: the arranging and routing only). The compiled path runs without the GIL in
FluidSynth's MIDI driver thread; "in the path" is what the status line's decide p99 reads.
The rows played back to back run with warm caches; the driver's rows are paced in real
time (a note every ~0.1 s, the machine's other work in between), as a player plays.

{table}
"""


if __name__ == "__main__":
    raise SystemExit(main())
