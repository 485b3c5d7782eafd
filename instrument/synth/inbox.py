"""Synth calls from Python threads, played by FluidSynth's own audio thread.

Every FluidSynth API call takes the synth's mutex (``synth.threadsafe-api``), and so does
the audio thread, for each event the keyboard sends: the compiled note path calls
``fluid_synth_noteon`` in JACK's process thread. A Python thread calling FluidSynth
directly (the band's dispatcher, the metronome, a panic) can be preempted while it holds
that mutex, and the real-time audio thread then waits for a thread of normal priority to
run again: a priority inversion, an xrun, a late note.

So while FluidSynth's driver runs, Python's calls are rows in a ring (``Inbox.push``), and
the driver's audio callback (``callback()``, a numba ``cfunc`` handed to
``new_fluid_audio_driver2``) plays them at the start of each period, after that period's
MIDI and before it renders the period with ``fluid_synth_process``. Only the audio thread
then takes the mutex while playing, besides the main thread's set-up (programs, SoundFonts).

The ring: ``rows`` (SIZE, WIDTH) int64 calls, ``counts`` [head, tail, dropped]. Producers
(any Python thread) take a Python lock among themselves, fill row ``head % SIZE``, then
store ``head + 1`` (numpy's stores land in program order: x86-64 TSO, and the compiler
cannot move them across the interpreter's calls). The audio thread reads the head, an
acquire fence, the rows, then stores the tail. When the driver stops, what is left is
played at once by the stopping thread (``Inbox.close``), and calls go straight to
FluidSynth again (``push`` returns False).
"""

from __future__ import annotations

import functools
import threading
import time

import numpy as np
from numba import carray, types

from instrument.jit import cfunc, njit
from instrument.native import (
    acquire_fence,
    as_voidptr,
    call_pi,
    call_pii,
    call_piii,
    call_piiii,
    call_process,
    fluid_address,
    resident,
    store_release,
)

SIZE = 4096  # calls: 3 s of the densest band, at one period per drain
WIDTH = 5  # kind, channel, a, b, c
NOTEON, NOTEOFF, CC, BEND, PROGRAM, NOTES_OFF, SOUNDS_OFF = range(7)
HEAD, TAIL, DROPPED = range(3)  # counts
FULL_WAIT_S = 0.25  # a full ring: the audio thread stalled; a call waits this long, then drops

# conf: the callback's user data, int64
(
    K_SYNTH,  # fluid_synth_t *
    K_ROWS,  # address of rows
    K_COUNTS,  # address of counts
    K_PROCESS,  # the C functions, by address
    K_NOTEON,
    K_NOTEOFF,
    K_CC,
    K_BEND,
    K_PROGRAM,
    K_NOTES_OFF,
    K_SOUNDS_OFF,
) = range(11)
N_CONF = 11
_FUNCTIONS = {
    K_PROCESS: "fluid_synth_process",
    K_NOTEON: "fluid_synth_noteon",
    K_NOTEOFF: "fluid_synth_noteoff",
    K_CC: "fluid_synth_cc",
    K_BEND: "fluid_synth_pitch_bend",
    K_PROGRAM: "fluid_synth_program_select",
    K_NOTES_OFF: "fluid_synth_all_notes_off",
    K_SOUNDS_OFF: "fluid_synth_all_sounds_off",
}


@njit(cache=True)
def play_pending(conf: np.ndarray) -> int:
    """Play every call in the ring, oldest first, and free their rows. Returns how many.
    Called by the audio callback each period, or by the thread that stopped the driver."""
    rows = carray(as_voidptr(conf[K_ROWS]), (SIZE, WIDTH), np.int64)
    counts = carray(as_voidptr(conf[K_COUNTS]), (3,), np.int64)
    synth = conf[K_SYNTH]
    head = counts[HEAD]
    acquire_fence()
    tail = counts[TAIL]
    played = head - tail
    while tail < head:
        row = tail % SIZE
        kind, ch, a, b, c = rows[row, 0], rows[row, 1], rows[row, 2], rows[row, 3], rows[row, 4]
        if kind == NOTEON:
            call_piii(conf[K_NOTEON], synth, ch, a, b)
        elif kind == NOTEOFF:
            call_pii(conf[K_NOTEOFF], synth, ch, a)
        elif kind == CC:
            call_piii(conf[K_CC], synth, ch, a, b)
        elif kind == BEND:
            call_pii(conf[K_BEND], synth, ch, a)
        elif kind == PROGRAM:
            call_piiii(conf[K_PROGRAM], synth, ch, a, b, c)
        elif kind == NOTES_OFF:
            call_pi(conf[K_NOTES_OFF], synth, ch)
        elif kind == SOUNDS_OFF:
            call_pi(conf[K_SOUNDS_OFF], synth, ch)
        tail += 1
    store_release(counts, TAIL, tail)
    return played


def _audio(data, frames, nfx, fx, nout, out):
    """FluidSynth's ``fluid_audio_func_t``: the calls waiting, then the period rendered.
    Without effect buffers (one stereo pair) reverb and chorus are mixed into the dry
    pair, as ``fluid_synth_write_float`` mixes them."""
    conf = carray(data, (N_CONF,), np.int64)
    play_pending(conf)
    if nfx == 0:
        return call_process(conf[K_PROCESS], conf[K_SYNTH], frames, 2, out, nout, out)
    return call_process(conf[K_PROCESS], conf[K_SYNTH], frames, nfx, fx, nout, out)


@functools.cache
def callback():
    """The compiled ``_audio`` (a numba ``cfunc``: its ``address`` goes to FluidSynth),
    compiled on first use or loaded from numba's cache: the session's prepare asks."""
    signature = types.int32(types.voidptr, types.int32, types.int32, types.voidptr,
                            types.int32, types.voidptr)  # fmt: skip
    return cfunc(signature, cache=True, error_model="numpy")(_audio)


class Inbox:
    """The ring of one synth (``synth_pointer``: its ``fluid_synth_t *``). Closed until the
    driver's callback plays it (``open``); ``dropped``: calls lost to a ring that stayed
    full for ``FULL_WAIT_S`` (an audio thread that no longer runs)."""

    def __init__(self, synth_pointer: int):
        self.rows = resident((SIZE, WIDTH), np.int64)  # resident: the audio thread reads them
        self.counts = resident(3, np.int64)
        self.conf = resident(N_CONF, np.int64)
        self.conf[K_SYNTH] = synth_pointer
        self.conf[K_ROWS] = self.rows.ctypes.data
        self.conf[K_COUNTS] = self.counts.ctypes.data
        for index, name in _FUNCTIONS.items():
            self.conf[index] = fluid_address(name)
        self._lock = threading.Lock()  # among the Python producers only
        self._open = False

    @property
    def user_data(self) -> int:
        """The pointer the callback gets: ``conf``'s address."""
        return int(self.conf.ctypes.data)

    @property
    def dropped(self) -> int:
        return int(self.counts[DROPPED])

    @property
    def is_open(self) -> bool:
        return self._open

    def open(self) -> None:
        """The driver's callback plays the ring from now on."""
        with self._lock:
            self._open = True

    def close(self) -> None:
        """The driver stopped (no callback runs any more): play what is left, here, and
        let calls go straight to FluidSynth."""
        with self._lock:
            self._open = False
            play_pending(self.conf)

    def push(self, kind: int, channel: int, a: int = 0, b: int = 0, c: int = 0) -> bool:
        """Queue one call for the audio thread. False when closed: make the call directly."""
        deadline = None
        with self._lock:
            if not self._open:
                return False
            counts = self.counts
            while counts[HEAD] - counts[TAIL] >= SIZE:
                deadline = deadline or time.monotonic() + FULL_WAIT_S
                if time.monotonic() > deadline:
                    counts[DROPPED] += 1
                    return True
                time.sleep(0.001)
            head = int(counts[HEAD])
            self.rows[head % SIZE] = (kind, channel, a, b, c)
            counts[HEAD] = head + 1
        return True
