"""What the compiled note path did, told through lock-free single-producer rings.

The note path (``live.notepath``) runs in the audio thread and may call no Python, so it
never calls a listener: it writes what happened into rings, numpy arrays that a Python
reader in another thread drains (``RingReader.poll``), turning rows back into the
``NoteEvent``s and raw messages that the recorder, the display, the band and the status
line consume.

Each ring has one writer (the note path, which runs under its own spinlock) and any
number of readers that only read. The writer fills row ``head % size``, then a release
fence (``native.release_fence``), then bumps ``heads[ring]``: a reader that reads the
head first and the rows after sees complete rows (x86-64 TSO; on ARM the Python read of
the head would need an acquire load). A reader that falls more than ``size`` rows behind
lost the oldest ones; it rereads the head after copying and drops rows the writer may
have overwritten meanwhile, and counts them (``RingReader.lost``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from instrument.jit import njit
from instrument.live.performer import NoteEvent
from instrument.native import release_fence, resident

# ring indices into ``Rings.heads``
NOTES, TIMING, RAW, PROGRAMS, CALLS = range(5)
# Rings.notes columns (float64): time s, pitch, velocity, input channel, part, channel,
# on (1/0), revision (1/0)
N_TIME, N_PITCH, N_VELOCITY, N_IN_CHANNEL, N_PART, N_CHANNEL, N_ON, N_REVISION = range(8)
# Rings.raw columns (float64): time s, status, data1, data2, data bytes (1 or 2)
# Rings.calls columns (int64): kind, channel, a, b; kinds:
CALL_NOTEON, CALL_NOTEOFF, CALL_CC, CALL_BEND, CALL_NOTES_OFF, CALL_SOUNDS_OFF = range(6)
CALL_NAMES = ("noteon", "noteoff", "cc", "pitch_bend", "all_notes_off", "all_sounds_off")

# Rings.counters
(
    C_NOTES,  # note-ons decided
    C_IGNORED,  # garbage, SysEx, messages not used
    C_ORPHAN_OFFS,  # note-offs with no sounding note
    C_RESETS,  # arranger restarts after a pause
    C_PANICS,
    C_MOVED,  # sounding notes moved to another part by a revision
    C_MONO_CUTS,  # notes ended early because their part's polyphony was reached
    C_STEPS,  # LSTM first decisions
    C_FALLBACKS,  # notes the budget guard sent to the zone split
    C_REVISED,  # notes whose part a revision changed
) = range(10)
N_COUNTERS = 10

RING_SIZE = 4096


class Rings(NamedTuple):
    """The note path's rings. heads: (5,) int64 rows written so far to each ring.
    notes: (R, 8) float64 note events. timing: (R,) int64 ns of each decision (assign and
    revision: the work before a note sounds). raw: (R, 5) float64 every message as it
    came. programs: (R,) int64 program changes for the main thread. calls: (C, 4) int64
    the synth calls, when recorded (tests; no rows otherwise). counters: (N_COUNTERS,)."""

    heads: np.ndarray
    notes: np.ndarray
    timing: np.ndarray
    raw: np.ndarray
    programs: np.ndarray
    calls: np.ndarray
    counters: np.ndarray


def new_rings(size: int = RING_SIZE, record_calls: int = 0) -> Rings:
    """Empty rings of ``size`` rows; ``record_calls`` rows of synth calls (0: none)."""
    return Rings(  # resident: the note path's thread writes them, and must not fault
        resident(5, np.int64),
        resident((size, 8)),
        resident(size, np.int64),
        resident((size, 5)),
        resident(size, np.int64),
        resident((record_calls, 4), np.int64),
        resident(N_COUNTERS, np.int64),
    )


# -- writers (compiled, the note path's thread) ----------------------------------------------
@njit(cache=True)
def push_note(rings, time, pitch, velocity, in_channel, part, channel, on, revision):
    head = rings.heads[NOTES]
    row = rings.notes[head % rings.notes.shape[0]]
    row[N_TIME] = time
    row[N_PITCH] = pitch
    row[N_VELOCITY] = velocity
    row[N_IN_CHANNEL] = in_channel
    row[N_PART] = part
    row[N_CHANNEL] = channel
    row[N_ON] = 1.0 if on else 0.0
    row[N_REVISION] = 1.0 if revision else 0.0
    release_fence()
    rings.heads[NOTES] = head + 1


@njit(cache=True)
def push_timing(rings, ns):
    head = rings.heads[TIMING]
    rings.timing[head % rings.timing.shape[0]] = ns
    release_fence()
    rings.heads[TIMING] = head + 1


@njit(cache=True)
def push_raw(rings, time, status, data1, data2, n_data):
    head = rings.heads[RAW]
    row = rings.raw[head % rings.raw.shape[0]]
    row[0] = time
    row[1] = status
    row[2] = data1
    row[3] = data2
    row[4] = n_data
    release_fence()
    rings.heads[RAW] = head + 1


@njit(cache=True)
def push_program(rings, program):
    """A program change, for the main thread (it recalls a registration)."""
    head = rings.heads[PROGRAMS]
    rings.programs[head % rings.programs.shape[0]] = program
    release_fence()
    rings.heads[PROGRAMS] = head + 1


@njit(cache=True)
def push_call(rings, kind, channel, a, b):
    """A synth call, in the recording mode the tests use (no rows: not recorded)."""
    size = rings.calls.shape[0]
    if size == 0:
        return
    head = rings.heads[CALLS]
    row = rings.calls[head % size]
    row[0] = kind
    row[1] = channel
    row[2] = a
    row[3] = b
    release_fence()
    rings.heads[CALLS] = head + 1


# -- the reader (Python, any thread but the audio thread) ------------------------------------
class RingReader:
    """Drains the rings into Python: note listeners get ``NoteEvent``s, raw listeners the
    messages as bytes, ``programs`` the program changes; ``decision_percentiles`` reads
    the timing ring. One reader per rings (its read positions are its own)."""

    def __init__(self, rings: Rings):
        self.rings = rings
        self.read = np.zeros(5, np.int64)
        self.lost = 0  # rows overwritten before they were read
        self.listeners: list[Callable[[NoteEvent], None]] = []
        self.raw_listeners: list[Callable[[list[int], float], None]] = []

    def _take(self, ring: int, rows: np.ndarray) -> np.ndarray:
        """The rows written since the last take (copied), oldest first."""
        size = rows.shape[0]
        if size == 0:  # a ring without rows (the calls, when not recorded)
            return rows[:0]
        head = int(self.rings.heads[ring])
        start = max(int(self.read[ring]), head - size)
        idx = np.arange(start, head)
        got = rows[idx % size].copy()
        after = int(self.rings.heads[ring])  # rows the writer reused meanwhile are stale
        stale = max(0, after - size - start)
        self.lost += (start - int(self.read[ring])) + min(stale, len(idx))
        self.read[ring] = head
        return got[stale:]

    def note_events(self) -> list[NoteEvent]:
        rows = self._take(NOTES, self.rings.notes)
        return [
            NoteEvent(
                bool(r[N_ON]),
                int(r[N_PITCH]),
                int(r[N_VELOCITY]),
                int(r[N_PART]),
                int(r[N_CHANNEL]),
                float(r[N_TIME]),
                bool(r[N_REVISION]),
            )
            for r in rows
        ]

    def raw_messages(self) -> list[tuple[list[int], float]]:
        rows = self._take(RAW, self.rings.raw)
        return [([int(r[1]), int(r[2]), int(r[3])][: 1 + int(r[4])], float(r[0])) for r in rows]

    def programs(self) -> list[int]:
        return [int(p) for p in self._take(PROGRAMS, self.rings.programs)]

    def calls(self) -> list[tuple]:
        """The synth calls recorded (tests): (name, channel, ...) as a Performer makes them."""
        out = []
        for kind, ch, a, b in self._take(CALLS, self.rings.calls):
            name = CALL_NAMES[kind]
            args = {CALL_NOTEON: (a, b), CALL_NOTEOFF: (a,), CALL_CC: (a, b), CALL_BEND: (a,)}
            out.append((name, int(ch), *(int(x) for x in args.get(int(kind), ()))))
        return out

    def poll(self) -> None:
        """Hand everything new to the listeners (a broken listener is skipped)."""
        for data, t in self.raw_messages():
            for fn in self.raw_listeners:
                try:
                    fn(data, t)
                except Exception:  # noqa: BLE001 - one broken listener must not stop the rest
                    pass
        for event in self.note_events():
            for fn in self.listeners:
                try:
                    fn(event)
                except Exception:  # noqa: BLE001
                    pass

    def decision_percentiles(self) -> tuple[float, float]:
        """(p50, p99) in ms of the decisions in the timing ring (the latest ``R``)."""
        n = min(int(self.rings.heads[TIMING]), self.rings.timing.shape[0])
        if n == 0:
            return (0.0, 0.0)
        ms = self.rings.timing[:n] / 1e6
        return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))
