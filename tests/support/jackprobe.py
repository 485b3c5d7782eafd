"""JACK test clients: one plays MIDI at exact frames and records audio with frame stamps,
one keeps every MIDI message it receives.

Used by the live-path tests and the latency benchmark: everything it measures is in JACK
frames, so the figures do not depend on when Python happened to run.
"""

from __future__ import annotations

import errno

import jack
import numpy as np

from instrument.native import resident
from tests.support import compiledjack as cj

QUEUE_ROWS = 8192  # events sent and not yet played (a far-future one holds its row)
SENT_ROWS = 1 << 16  # events played and not yet read through ``sent``

# the arrays of every probe whose client may still call its cycle: a probe that is never
# closed (its server died: ``forget_jack_client``) keeps them until the process ends
_LIVE: dict[int, tuple[np.ndarray, ...]] = {}


class Probe:
    """MIDI out port ``<name>:out`` and ``n_inputs`` audio inputs ``<name>:in_<k>``.

    ``send(data, delay_frames)`` queues a MIDI message; it goes out at an exact frame,
    ``sent`` lists (frame, bytes) as played. Audio is recorded into preallocated buffers of
    ``seconds`` seconds; ``audio()`` returns (frames, n_inputs) with ``start_frame``.
    The process callback is compiled (``compiledjack``): no Python, no GIL, so a loaded
    machine cannot make it miss a cycle. ``send`` and ``sent`` are for one thread.
    """

    def __init__(self, name: str = "probe", n_inputs: int = 2, seconds: float = 120.0):
        self.client = jack.Client(name, no_start_server=True)
        self.rate = self.client.samplerate
        self.block = self.client.blocksize
        self.midi_out = self.client.midi_outports.register("out")
        self.inputs = [self.client.inports.register(f"in_{k}") for k in range(n_inputs)]
        # resident: the cycle records into it, and a page fault there is a late cycle
        self._buffer = resident((int(seconds * self.rate), n_inputs), np.float32)
        self._state = resident(cj.N_STATE, np.int64)
        self._state[cj.S_CLIENT] = cj.address(self.client._ptr)
        self._queue = resident((QUEUE_ROWS, cj.Q_DATA + cj.MAX_BYTES), np.int64)
        self._sent_ring = resident((SENT_ROWS, cj.T_DATA + cj.MAX_BYTES), np.int64)
        self._sent_read = 0
        self._sent: list[tuple[int, bytes]] = []
        ports = [cj.address(p._ptr) for p in (self.midi_out, *self.inputs)]
        scratch = np.zeros(cj.MAX_BYTES, np.uint8)  # the bytes of the event being written
        fns, ports = cj.function_addresses(), np.array(ports, np.int64)
        arrays = (fns, ports, self._state, self._queue, self._sent_ring, self._buffer, scratch)
        self._table = cj.table(*arrays)
        _LIVE[id(self)] = (self._table, *arrays)
        cj.set_process(self.client, cj.probe_cycle(), self._table)
        cj.set_xrun(self.client, self._state[cj.S_XRUNS :])

    @property
    def start_frame(self) -> int | None:
        """The JACK frame of the probe's first cycle (the recording's frame 0)."""
        return int(self._state[cj.S_START_FRAME]) if self._state[cj.S_STARTED] else None

    @property
    def _written(self) -> int:
        return int(self._state[cj.S_WRITTEN])

    @property
    def xruns(self) -> int:
        """The xruns the server reported since this probe was made."""
        return int(self._state[cj.S_XRUNS])

    @property
    def sent(self) -> list[tuple[int, bytes]]:
        """(frame, bytes) of every event played so far, in the order played."""
        head = int(self._state[cj.S_SENT_HEAD])
        if head - self._sent_read > SENT_ROWS:
            raise RuntimeError(f"the probe played over {SENT_ROWS} events unread: read sent")
        for i in range(self._sent_read, head):
            row = self._sent_ring[i % SENT_ROWS]
            n = int(row[cj.T_LEN])
            self._sent.append(
                (int(row[cj.T_FRAME]), bytes(row[cj.T_DATA : cj.T_DATA + n].tolist()))
            )
        self._sent_read = head
        return self._sent

    def activate(self) -> Probe:
        self.client.activate()
        return self

    def now(self) -> int:
        """The current JACK frame time."""
        return self.client.frame_time

    def send(self, data: bytes | list[int], delay_frames: int = 0, at: int | None = None) -> int:
        """Queue ``data`` for frame ``at`` (absolute) or ``now() + block + delay``."""
        data = bytes(data)
        if not 0 < len(data) <= cj.MAX_BYTES:
            raise ValueError(f"a probe sends 1 to {cj.MAX_BYTES} bytes, not {len(data)}")
        frame = at if at is not None else self.now() + self.block + delay_frames
        head = int(self._state[cj.S_QUEUE_HEAD])
        if head - int(self._state[cj.S_QUEUE_READ]) >= QUEUE_ROWS:
            raise RuntimeError(f"the probe has {QUEUE_ROWS} events queued, none played yet")
        row = self._queue[head % QUEUE_ROWS]
        row[cj.Q_FRAME], row[cj.Q_LEN], row[cj.Q_DONE] = frame, len(data), 0
        row[cj.Q_DATA : cj.Q_DATA + len(data)] = list(data)
        # the row is complete before the cycle can see it (x86-64 TSO: stores stay in order)
        self._state[cj.S_QUEUE_HEAD] = head + 1
        return frame

    def connect_to(self, midi_in: str, audio_outs: list[str]) -> None:
        """Play into ``midi_in`` and record ``audio_outs``. The app may have connected the
        probe first: it takes a MIDI output that appears while it opens as a keyboard."""
        try:
            self.client.connect(self.midi_out, midi_in)
        except jack.JackErrorCode as e:
            if e.code != errno.EEXIST:
                raise
        for src, dst in zip(audio_outs, self.inputs, strict=False):
            self.client.connect(src, dst)

    def audio(self) -> np.ndarray:
        return self._buffer[: self._written]

    def recorded_until(self) -> int:
        """The JACK frame the recording has reached (exclusive); ``start_frame`` before."""
        return (self.start_frame or 0) + self._written

    def audio_between(self, a: int, b: int) -> np.ndarray:
        """What was recorded from JACK frame ``a`` to ``b`` (frames, n_inputs); a test waits
        until ``recorded_until() >= b`` first, so the window is of sound, not of when
        Python ran (a cycle the probe missed reads as zeros)."""
        start = self.start_frame or 0
        return self._buffer[max(0, a - start) : max(0, min(b, self.recorded_until()) - start)]

    def first_sound(self, frame: int, threshold: float) -> np.ndarray:
        """Seconds from JACK ``frame`` to each input's first recorded sample over
        ``threshold`` (n_inputs,); NaN where none has been recorded yet."""
        loud = np.abs(self.audio_between(frame, self.recorded_until())) > threshold
        if not len(loud):  # the recording has not reached ``frame`` yet
            return np.full(len(self.inputs), np.nan)
        first = np.where(loud.any(axis=0), loud.argmax(axis=0), -1)
        return np.where(first >= 0, first / self.rate, np.nan)

    def seconds(self, s: float) -> int:
        """``s`` seconds in frames."""
        return round(s * self.rate)

    def level(self, last_frames: int, channel: int | None = None) -> float:
        """Peak absolute level over the most recent ``last_frames`` recorded (one input or all)."""
        a = self._buffer[max(0, self._written - last_frames) : self._written]
        if channel is not None:
            a = a[:, channel]
        return float(np.abs(a).max()) if len(a) else 0.0

    def close(self) -> None:
        try:
            self.client.deactivate()
        finally:
            self.client.close()
            _LIVE.pop(id(self), None)  # the cycle runs no more


class MidiTap:
    """MIDI in port ``<name>:in`` that keeps every message it receives: the external synth,
    or a tap on a wire, the ground truth of what a port carried.

    The process callback is compiled (``compiledjack``), as ``Probe``'s is: a Python one
    waits for the GIL, and on a loaded machine a cycle it runs too late is one whose
    events it never reads. ``xruns`` counts the cycles the server reported late: in one,
    a client downstream of a late one may miss that cycle's events, this tap included.
    """

    def __init__(self, name: str, rows: int = 1 << 16):
        self.client = jack.Client(name, no_start_server=True)
        self.port = self.client.midi_inports.register("in")
        self._state = resident(cj.M_FIELDS, np.int64)
        self._state[cj.M_CLIENT] = cj.address(self.client._ptr)
        self._ring = resident((rows, cj.T_DATA + cj.MAX_BYTES), np.int64)
        self._read = 0
        self._heard: list[tuple[int, bytes]] = []
        event = resident(3, np.int64)  # jack_midi_event_t, filled by the cycle
        ports = np.array([cj.address(self.port._ptr)], np.int64)
        arrays = (cj.tap_functions(), ports, self._state, self._ring, event)
        self._table = cj.table(*arrays)
        _LIVE[id(self)] = (self._table, *arrays)
        cj.set_process(self.client, cj.tap_cycle(), self._table)
        cj.set_xrun(self.client, self._state[cj.M_XRUNS :])

    def activate(self) -> MidiTap:
        self.client.activate()
        return self

    @property
    def xruns(self) -> int:
        """The xruns the server reported since this tap was made."""
        return int(self._state[cj.M_XRUNS])

    def heard(self) -> list[tuple[int, bytes]]:
        """(frame, bytes) of every event received so far, in the order received."""
        head = int(self._state[cj.M_HEAD])
        if head - self._read > len(self._ring):
            raise RuntimeError(f"the tap heard over {len(self._ring)} events unread")
        for i in range(self._read, head):
            row = self._ring[i % len(self._ring)]
            n = int(row[cj.T_LEN])
            self._heard.append(
                (int(row[cj.T_FRAME]), bytes(row[cj.T_DATA : cj.T_DATA + n].tolist()))
            )
        self._read = head
        return self._heard

    def seen(self) -> list[tuple[int, ...]]:
        """Every message received so far, as tuples of bytes."""
        return [tuple(data) for _frame, data in self.heard()]

    def note_ons(self) -> list[int]:
        """The pitches of the note-ons (velocity > 0) received so far."""
        return [m[1] for m in self.seen() if len(m) == 3 and m[0] & 0xF0 == 0x90 and m[2] > 0]

    def close(self) -> None:
        try:
            self.client.deactivate()
        finally:
            self.client.close()
            _LIVE.pop(id(self), None)


def onset_latencies(
    audio: np.ndarray, start_frame: int, sent_frames: list[int], threshold: float, early: int = 0
) -> np.ndarray:
    """Frames from each sent note-on to the first recorded sample above ``threshold``.

    audio: (frames,) or (frames, channels) recorded from ``start_frame``. The search starts
    ``early`` frames before the note-on: a synth that renders a live event from the start
    of the period it arrives in sounds up to a period "early", which shows as a negative
    latency. A note whose onset never crosses the threshold before the next note: NaN.
    """
    mono = np.abs(audio).max(axis=1) if audio.ndim == 2 else np.abs(audio)
    loud = mono > threshold
    out = np.full(len(sent_frames), np.nan)
    bounds = [*sent_frames[1:], start_frame + len(mono)]
    for i, (frame, nxt) in enumerate(zip(sent_frames, bounds, strict=True)):
        a, b = frame - start_frame - early, min(nxt - start_frame, len(mono))
        if a < 0 or a >= b:
            continue
        hits = np.flatnonzero(loud[a:b])
        if len(hits):
            out[i] = hits[0] - early
    return out
