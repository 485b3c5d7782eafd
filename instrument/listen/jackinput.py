"""The listener's audio input on a JACK server, captured by a compiled process callback.

PortAudio's JACK host calls sounddevice's Python callback from JACK's real-time thread.
That callback needs the GIL, and while it waits for it (the display, the band's planner
or the listener's own analysis hold it for milliseconds at a time) the whole graph's
cycle is late: FluidSynth, which plays the player's notes in the same cycle, counts an
xrun. So on JACK the input is this client, ``instrument-listen``: its cycle is a numba
``cfunc`` (``jackcycle``) that copies each port's block into a ring and nothing more;
the listener's thread reads the ring (``get``), as it read PortAudio's blocks.

Ring (one writer, the cycle): ``ring`` holds the last ``RING_S`` seconds, (frames,
channels) float32; the cycle writes its block, then a release fence, then moves
``state[HEAD]`` (frames written since the start, a count that only grows). Time stays
true to the room: a cycle that comes later than the frames before it account for
(JACK's frame stamp jumped: the client missed cycles) writes that much silence first
(``LOST``). But a client that JACK wakes late reads the *next* cycle's stamp
(``jack_last_frame_time`` is the server's latest) over this cycle's audio, and the next
cycle then reads that same stamp again: silence written for that jump would push the
stream a period behind the room for good (seen: 16 ms in 10 s on a loaded machine, 60 ms
in 20 s in the app). So a jump's silence is held for one cycle (``PENDING``): a stamp
behind the expected one takes it back, any other writes it before its block (the block
after a real miss lands one period early, and time is true again after it). A reader
that falls more than the ring behind gets silence for what was overwritten (counted in
``dropped``).
"""

from __future__ import annotations

import functools
import queue
import time

import jack
import numpy as np
from numba import carray

from instrument.errors import InstrumentError
from instrument.jackcycle import (
    FN_LAST_FRAME_TIME,
    PROCESS,
    address,
    function_addresses,
    jack_frame_stamp,
    port_audio,
    set_process,
    table,
)
from instrument.jit import cfunc, njit
from instrument.native import release_fence, resident, table_f32_2, table_i64_1

CLIENT_NAME = "instrument-listen"
RING_S = 8.0  # seconds the ring holds: the listener's thread may stall this long
WRAP = 1 << 32  # jack_nframes_t wraps here

# table rows, and the state fields (int64)
T_FNS, T_PORTS, T_STATE, T_RING = range(4)
T_ROWS = 4
# READY: the ports are in the table (set after they are registered, on an active client,
# so a patchbay that connects them on sight finds them connectable); NEXT: the frame
# stamp the next cycle should have; ORIGIN: the stamp of the first cycle, the stream's
# frame 0; PENDING: frames of a stamp's jump not yet written as silence
CLIENT, READY, STARTED, NEXT, HEAD, LOST, ORIGIN, PENDING = range(8)
N_STATE = 8


@njit(cache=True)
def advance(state, ring_frames, start, frames):
    """The frames of silence that go before the block of a cycle stamped ``start``
    (``frames`` long): those of a jump in the stamps held since the cycle before, unless
    this stamp took them back (module docstring); at most a ring's worth."""
    gap = 0
    if state[STARTED] == 0:
        state[ORIGIN] = start
        state[STARTED] = 1
    else:
        jump = (start - state[NEXT]) % WRAP
        if jump >= WRAP // 2:  # behind the expected stamp
            behind = WRAP - jump
            if behind <= state[PENDING]:  # the cycle before ran late: nothing was missed
                state[PENDING] -= behind
            else:  # far behind: a server restart, not a gap
                state[PENDING] = 0
        else:
            gap = min(state[PENDING], ring_frames)
            state[PENDING] = min(jump, ring_frames)
    state[NEXT] = (start + frames) % WRAP
    state[LOST] += gap
    return gap


@njit(cache=True)
def store(ring, head, gap, k, block):
    """Silence for ``gap`` frames, then ``block`` (frames,) in channel ``k`` of the ring,
    after the ``head`` frames already published (the head moves after every channel)."""
    n = ring.shape[0]
    for i in range(gap):
        ring[(head + i) % n, k] = 0.0
    at = head + gap
    for i in range(block.shape[0]):
        ring[(at + i) % n, k] = block[i]


def _capture_cycle(nframes, arg):
    """JackProcessCallback of ``JackInput``: ``arg`` is its table (``T_*`` rows)."""
    t = carray(arg, (T_ROWS, 3), np.int64)
    fns, ports, state = table_i64_1(t, T_FNS), table_i64_1(t, T_PORTS), table_i64_1(t, T_STATE)
    if state[READY] == 0:
        return 0
    ring = table_f32_2(t, T_RING)
    frames = np.int64(nframes)
    start = jack_frame_stamp(fns[FN_LAST_FRAME_TIME], state[CLIENT])
    gap = advance(state, ring.shape[0], start, frames)
    for k in range(ports.shape[0]):
        store(ring, state[HEAD], gap, k, port_audio(fns, ports[k], frames))
    release_fence()  # the rows before the head that shows them
    state[HEAD] += gap + frames
    return 0


@functools.cache
def capture_cycle():
    """The compiled capture cycle (from numba's cache after the first compile)."""
    return cfunc(PROCESS, cache=True, error_model="numpy")(_capture_cycle)


class JackInput:
    """The listener's input as a JACK client with ``channels`` input ports ``in_1``...,
    connected to the server's physical capture ports as PortAudio's would be.

    ``get`` hands blocks of ``block`` frames (block, channels) float32, as
    ``stream.InputBlocks.get`` does; ``start`` opens the client, ``close`` ends it.
    sample_rate: the server's, Hz (read at ``start``; given: checked against it).
    """

    def __init__(self, sample_rate: float, block: int, channels: int):
        self.sample_rate, self.block, self.channels = float(sample_rate), int(block), channels
        frames = int(RING_S * self.sample_rate) // self.block * self.block
        # resident: the cycle writes them (stereo at 48 kHz fills a fresh page every 11 ms)
        self.ring = resident((frames, channels), np.float32)
        self.state = resident(N_STATE, np.int64)
        self.dropped = 0  # blocks overwritten before the listener's thread read them
        self._read = 0  # frames handed on (silence included)
        self._client: jack.Client | None = None
        self._keep: tuple = ()  # what the cycle reads by address, alive while it runs

    @property
    def lost_frames(self) -> int:
        """Frames the client's cycle missed, handed on as silence."""
        return int(self.state[LOST])

    def origin_frame(self) -> int | None:
        """The JACK frame of the stream's first frame (None before the first cycle)."""
        return int(self.state[ORIGIN]) if self.state[STARTED] else None

    def start(self) -> None:
        """Open the client, connect it to the capture ports and start capturing."""
        try:
            client = jack.Client(CLIENT_NAME, no_start_server=True)
        except jack.JackError as e:
            raise InstrumentError(f"cannot open the JACK audio input: {e}") from None
        if client.samplerate != self.sample_rate:
            client.close()
            raise InstrumentError(
                f"the JACK server runs at {client.samplerate} Hz, not {self.sample_rate:.0f}"
            )
        self.state[CLIENT] = address(client._ptr)
        fns, port_table = function_addresses(), np.zeros(self.channels, np.int64)
        cycle_table = table(fns, port_table, self.state, self.ring)
        self._keep = (fns, port_table, cycle_table, capture_cycle())
        set_process(client, capture_cycle(), cycle_table)
        client.activate()
        self._client = client
        ports = [client.inports.register(f"in_{k + 1}") for k in range(self.channels)]
        port_table[:] = [address(p._ptr) for p in ports]
        self.state[READY] = 1  # after the table's rows (x86-64 TSO: stores stay in order)
        capture = client.get_ports(is_audio=True, is_output=True, is_physical=True)
        for src, dst in zip(capture, ports, strict=False):
            try:
                client.connect(src, dst)
            except jack.JackError:  # a patchbay connected it first, or will: not an error
                pass

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.deactivate()
                self._client.close()
            except jack.JackError:  # the server went first: nothing left to close
                pass
            self._client = None  # the cycle runs no more: ``_keep`` may go

    def get(self, timeout: float) -> list[np.ndarray]:
        """The next block (and silence for any blocks overwritten before it); raises
        ``queue.Empty`` after ``timeout`` s without one."""
        deadline = time.monotonic() + timeout
        n = self.ring.shape[0]
        while True:
            head = int(self.state[HEAD])  # first the head, then the rows it covers
            if head - self._read > n - self.block:  # the cycle wrote over unread rows
                behind = head - self._read - (n - 2 * self.block)
                behind -= behind % self.block
                self.dropped += behind // self.block
                self._read += behind
                return [np.zeros((self.block, self.channels), np.float32)
                        for _ in range(behind // self.block)]  # fmt: skip
            if head - self._read >= self.block:
                idx = np.arange(self._read, self._read + self.block) % n
                out = self.ring[idx]
                if int(self.state[HEAD]) - self._read > n - self.block:
                    continue  # overwritten while copied: taken as dropped, above
                self._read += self.block
                return [out]
            left = deadline - time.monotonic()
            if left <= 0:
                raise queue.Empty
            time.sleep(min(left, self.block / self.sample_rate / 2))

    def health(self) -> str:
        """What was lost, for the status line and the closing report ("" if nothing)."""
        parts = []
        if self.lost_frames:
            parts.append(f"{self.lost_frames / self.sample_rate:.2f} s of input lost "
                         "(heard as silence)")  # fmt: skip
        if self.dropped:
            parts.append(f"{self.dropped} blocks dropped (analysis too slow)")
        return ", ".join(parts)
