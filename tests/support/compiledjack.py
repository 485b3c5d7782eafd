"""The test rigs' JACK process callbacks, compiled: no Python and no GIL in the cycle.

A Python process callback (``jack.Client.set_process_callback``) waits for the GIL each
cycle; on a loaded machine it runs late, and a MIDI event it writes, or a block of audio
it plays, is lost: a test then fails on timing, not on the app. These callbacks are numba
``cfunc``s that JACK calls directly, as the app's note path and its listener's input are:
they call libjack by address through ``instrument.jackcycle``'s intrinsics and read and
write only numpy arrays passed by address, in a table (``jackcycle.table``). The xrun
counter goes in through libjack's ``jack_set_xrun_callback`` the same way.

Rings (one writer each, as in ``live.rings``): the writer fills rows, then a release
fence, then bumps the ring's head; the reader reads the head first, then the rows.
- the MIDI queue (``Q_*`` columns): Python's ``Probe.send`` writes, the cycle plays. Rows
  may be published in any frame order (a note-off sent early for a later frame, a note
  sent after it for an earlier one): each cycle plays every due row, earliest frame
  first (ties in the order sent), marks it done and moves the read position past the
  leading done rows; Python reuses a row only once the read position has passed it.
- the sent ring (``T_*`` columns): the cycle writes what it played, Python drains it.
- the heard ring (``T_*`` columns too): a MIDI tap's cycle writes every event its port
  received, Python drains it.

numba caches each ``cfunc`` (``cache=True``): a cold cache costs a few seconds once, then
loading takes a fraction of one (``tests/conftest.py`` loads them at session start).
"""

from __future__ import annotations

import functools

import jack
import numpy as np
from llvmlite import ir
from numba import carray, cfunc, njit, types
from numba.extending import intrinsic

from instrument.jackcycle import (  # noqa: F401 - the rigs' one import for JACK's cycle
    FN_LAST_FRAME_TIME,
    FN_MIDI_CLEAR_BUFFER,
    FN_MIDI_EVENT_WRITE,
    FN_PORT_GET_BUFFER,
    PROCESS,
    address,
    function_addresses,
    install,
    jack_clear_midi,
    jack_frame_stamp,
    jack_get_buffer,
    jack_write_midi,
    port_audio,
    set_process,
    table,
)
from instrument.native import (
    as_voidptr,
    call_p,
    release_fence,
    table_f32_2,
    table_i64_1,
    table_i64_2,
)

MAX_BYTES = 16  # the longest MIDI message a probe sends (a short SysEx)

# MIDI queue columns: frame, length, done (played: 1), then the bytes
Q_FRAME, Q_LEN, Q_DONE, Q_DATA = 0, 1, 2, 3
# sent ring columns: frame, length, then the bytes
T_FRAME, T_LEN, T_DATA = 0, 1, 2

# Probe table rows, and its state (int64) fields
P_FNS, P_PORTS, P_STATE, P_QUEUE, P_SENT, P_RECORD, P_SCRATCH = range(7)
P_ROWS = 7
(
    S_CLIENT,  # jack_client_t *
    S_QUEUE_HEAD,  # rows Python has published (it writes)
    S_QUEUE_READ,  # rows before this are played (the cycle writes)
    S_SENT_HEAD,  # rows written to the sent ring (the cycle writes)
    S_STARTED,  # 1 once the first cycle has run
    S_START_FRAME,  # the frame of the first cycle: the recording's frame 0
    S_WRITTEN,  # frames recorded from the start (exclusive)
    S_XRUNS,  # xruns the server reported
) = range(8)
N_STATE = 8

# Player table rows, and its state fields
L_FNS, L_PORTS, L_STATE, L_AUDIO = range(4)
L_ROWS = 4
L_CLIENT, L_PLAYING, L_STARTED, L_START_FRAME, L_DONE, L_LOOP = range(6)
L_FIELDS = 6

# MIDI tap table rows, its state fields, and the libjack functions its cycle calls
M_FNS, M_PORTS, M_STATE, M_HEARD, M_EVENT = range(5)
M_ROWS = 5
M_CLIENT, M_HEAD, M_XRUNS = range(3)
M_FIELDS = 3
TAP_BUFFER, TAP_FRAME, TAP_COUNT, TAP_GET = range(4)


# -- the probe's cycle: MIDI out at exact frames, audio recorded by frame stamp ---------------
@njit(cache=True)
def _play_due(fns, state, queue, sent, scratch, scratch_at, midi, start, frames):
    """Write every queued event due before the cycle's end, earliest frame first."""
    size, end = queue.shape[0], start + frames
    head, read = state[S_QUEUE_HEAD], state[S_QUEUE_READ]
    last = 0
    while True:
        best = -1
        for i in range(read, head):
            row = queue[i % size]
            if row[Q_DONE] == 0 and row[Q_FRAME] < end:
                if best < 0 or row[Q_FRAME] < queue[best % size, Q_FRAME]:
                    best = i
        if best < 0:
            break
        row = queue[best % size]
        offset = min(max(last, row[Q_FRAME] - start), frames - 1)  # JACK wants them in order
        last = offset
        n = row[Q_LEN]
        for b in range(n):
            scratch[b] = row[Q_DATA + b]
        if jack_write_midi(fns[FN_MIDI_EVENT_WRITE], midi, offset, scratch_at, n) == 0:
            s = state[S_SENT_HEAD]
            out = sent[s % sent.shape[0]]
            out[T_FRAME] = start + offset
            out[T_LEN] = n
            for b in range(n):
                out[T_DATA + b] = row[Q_DATA + b]
            release_fence()
            state[S_SENT_HEAD] = s + 1
        row[Q_DONE] = 1
    while read < head and queue[read % size, Q_DONE] == 1:
        read += 1
    release_fence()
    state[S_QUEUE_READ] = read


def _probe_cycle(nframes, arg):
    """JackProcessCallback of a ``Probe``: ``arg`` is its table (``P_*`` rows)."""
    t = carray(arg, (P_ROWS, 3), np.int64)
    fns, ports, state = table_i64_1(t, P_FNS), table_i64_1(t, P_PORTS), table_i64_1(t, P_STATE)
    record = table_f32_2(t, P_RECORD)
    scratch = carray(as_voidptr(t[P_SCRATCH, 0]), (MAX_BYTES,), np.uint8)
    frames = np.int64(nframes)
    start = jack_frame_stamp(fns[FN_LAST_FRAME_TIME], state[S_CLIENT])
    midi = jack_get_buffer(fns[FN_PORT_GET_BUFFER], ports[0], frames)
    jack_clear_midi(fns[FN_MIDI_CLEAR_BUFFER], midi)
    queue, sent = table_i64_2(t, P_QUEUE), table_i64_2(t, P_SENT)
    _play_due(fns, state, queue, sent, scratch, t[P_SCRATCH, 0], midi, start, frames)
    if state[S_STARTED] == 0:
        state[S_START_FRAME] = start
        release_fence()
        state[S_STARTED] = 1
    # Place each block by its frame stamp, so a late or missed cycle cannot shift time.
    at = start - state[S_START_FRAME]
    n = max(0, min(frames, record.shape[0] - at))
    for k in range(ports.shape[0] - 1):
        record[at : at + n, k] = port_audio(fns, ports[1 + k], frames)[:n]
    if at + n > state[S_WRITTEN]:
        release_fence()
        state[S_WRITTEN] = at + n
    return 0


def _count_xrun(arg):
    """JackXRunCallback: one more xrun in the int64 counter at ``arg``."""
    counter = carray(arg, (1,), np.int64)
    counter[0] += 1
    return 0


# -- the player's cycle: a song placed by the cycle's frame stamp ----------------------------
def _player_cycle(nframes, arg):
    """JackProcessCallback of ``play``: ``arg`` is its table (``L_*`` rows). Silence until
    Python sets ``L_PLAYING``; then the song from that cycle on, ``L_DONE`` at its end
    (with ``L_LOOP`` set: over and over, never done)."""
    t = carray(arg, (L_ROWS, 3), np.int64)
    fns, ports, state = table_i64_1(t, L_FNS), table_i64_1(t, L_PORTS), table_i64_1(t, L_STATE)
    audio = table_f32_2(t, L_AUDIO)
    frames = np.int64(nframes)
    start = jack_frame_stamp(fns[FN_LAST_FRAME_TIME], state[L_CLIENT])
    if state[L_PLAYING] == 1 and state[L_STARTED] == 0:
        state[L_START_FRAME] = start
        state[L_STARTED] = 1
    # The song is placed by the cycle's frame stamp, not by counting cycles: a missed
    # cycle is a dropout in the room, never a stretch of the song (a slower tempo).
    pos = start - state[L_START_FRAME] if state[L_STARTED] == 1 else audio.shape[0]
    if state[L_LOOP] == 1 and state[L_STARTED] == 1:
        pos = pos % audio.shape[0]
    n = max(0, min(frames, audio.shape[0] - pos)) if pos >= 0 else 0
    for c in range(ports.shape[0]):
        out = port_audio(fns, ports[c], frames)
        out[:n] = audio[pos : pos + n, c]
        if state[L_LOOP] == 1 and state[L_STARTED] == 1:
            for k in range(n, frames):  # the song's start again
                out[k] = audio[(k - n) % audio.shape[0], c]
        else:
            out[n:] = 0.0
    if state[L_STARTED] == 1 and state[L_LOOP] == 0 and pos + frames >= audio.shape[0]:
        release_fence()
        state[L_DONE] = 1
    return 0


# -- a MIDI tap's cycle: every event its port received, with its frame ------------------------
@intrinsic
def jack_read_midi(typingctx, fn, event, buffer, index):
    """int jack_midi_event_get(jack_midi_event_t *event, void *port_buffer, uint32_t
    event_index): 0 when ``event`` (an int64 (3,): time, size, data pointer) was filled."""
    sig = types.int32(types.int64, types.int64, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        voidp = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.IntType(32), [voidp, voidp, ir.IntType(32)])
        target = builder.inttoptr(args[0], fnty.as_pointer())
        ev, buf = builder.inttoptr(args[1], voidp), builder.inttoptr(args[2], voidp)
        return builder.call(target, [ev, buf, builder.trunc(args[3], ir.IntType(32))])

    return sig, codegen


def _tap_cycle(nframes, arg):
    """JackProcessCallback of a ``MidiTap``: ``arg`` is its table (``M_*`` rows)."""
    t = carray(arg, (M_ROWS, 3), np.int64)
    fns, ports, state = table_i64_1(t, M_FNS), table_i64_1(t, M_PORTS), table_i64_1(t, M_STATE)
    heard, event = table_i64_2(t, M_HEARD), table_i64_1(t, M_EVENT)
    frames = np.int64(nframes)
    start = jack_frame_stamp(fns[TAP_FRAME], state[M_CLIENT])
    midi = jack_get_buffer(fns[TAP_BUFFER], ports[0], frames)
    for i in range(call_p(fns[TAP_COUNT], midi)):
        if jack_read_midi(fns[TAP_GET], t[M_EVENT, 0], midi, i) != 0:
            continue
        n = min(event[1], MAX_BYTES)
        data = carray(as_voidptr(event[2]), (n,), np.uint8)
        h = state[M_HEAD]
        row = heard[h % heard.shape[0]]
        row[T_FRAME] = start + (event[0] & 0xFFFFFFFF)  # the struct's time: 32 bits, padded
        row[T_LEN] = n
        for b in range(n):
            row[T_DATA + b] = data[b]
        release_fence()
        state[M_HEAD] = h + 1
    return 0


def tap_functions() -> np.ndarray:
    """The addresses of the libjack functions a tap's cycle calls (``TAP_*``)."""
    lib = jack._lib
    fns = (lib.jack_port_get_buffer, lib.jack_last_frame_time, lib.jack_midi_get_event_count,
           lib.jack_midi_event_get)  # fmt: skip
    return np.array([address(fn) for fn in fns], np.int64)


@functools.cache
def probe_cycle():
    """The compiled ``_probe_cycle`` (from numba's cache after the first compile)."""
    return cfunc(PROCESS, cache=True, error_model="numpy")(_probe_cycle)


@functools.cache
def player_cycle():
    return cfunc(PROCESS, cache=True, error_model="numpy")(_player_cycle)


@functools.cache
def tap_cycle():
    return cfunc(PROCESS, cache=True, error_model="numpy")(_tap_cycle)


@functools.cache
def xrun_counter():
    return cfunc(types.int32(types.voidptr), cache=True, error_model="numpy")(_count_xrun)


def warm_up() -> None:
    """Compile (or load from numba's cache) every callback here."""
    probe_cycle(), player_cycle(), tap_cycle(), xrun_counter()


def set_xrun(client: jack.Client, counter: np.ndarray) -> None:
    """Count the client's xruns, compiled, into ``counter`` (int64 (1,)); before ``activate``."""
    install(jack._lib.jack_set_xrun_callback, "JackXRunCallback", client, xrun_counter(), counter)
