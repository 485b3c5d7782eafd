"""A JACK test client that plays MIDI at exact frames and records audio with frame stamps.

Used by the live-path tests and the latency benchmark: everything it measures is in JACK
frames, so the figures do not depend on when Python happened to run.
"""

from __future__ import annotations

import heapq
import itertools

import jack
import numpy as np


class Probe:
    """MIDI out port ``<name>:out`` and ``n_inputs`` audio inputs ``<name>:in_<k>``.

    ``send(data, delay_frames)`` queues a MIDI message; it goes out at an exact frame,
    ``sent`` lists (frame, bytes) as played. Audio is recorded into preallocated buffers of
    ``seconds`` seconds; ``audio()`` returns (frames, n_inputs) with ``start_frame``.
    """

    def __init__(self, name: str = "probe", n_inputs: int = 2, seconds: float = 120.0):
        self.client = jack.Client(name, no_start_server=True)
        self.rate = self.client.samplerate
        self.block = self.client.blocksize
        self.midi_out = self.client.midi_outports.register("out")
        self.inputs = [self.client.inports.register(f"in_{k}") for k in range(n_inputs)]
        self._buffer = np.zeros((int(seconds * self.rate), n_inputs), dtype=np.float32)
        self._written = 0
        self.start_frame: int | None = None
        self._queue: list[tuple[int, int, bytes]] = []  # heap of (frame, order, data)
        self._order = itertools.count()
        self.sent: list[tuple[int, bytes]] = []
        self.xruns = 0
        self.client.set_process_callback(self._process)
        self.client.set_xrun_callback(self._on_xrun)

    def _on_xrun(self, _delay: float) -> None:
        self.xruns += 1

    def _process(self, frames: int) -> None:
        start = self.client.last_frame_time
        self.midi_out.clear_buffer()
        last = 0
        while self._queue and self._queue[0][0] < start + frames:
            frame, _, data = heapq.heappop(self._queue)
            offset = min(max(last, frame - start), frames - 1)  # JACK wants them in order
            last = offset
            self.midi_out.write_midi_event(offset, data)
            self.sent.append((start + offset, data))
        if self.start_frame is None:
            self.start_frame = start
        # Place each block by its frame stamp, so a late or missed cycle cannot shift time.
        at = start - self.start_frame
        n = max(0, min(frames, len(self._buffer) - at))
        for k, port in enumerate(self.inputs):
            self._buffer[at : at + n, k] = port.get_array()[:n]
        self._written = max(self._written, at + n)

    def activate(self) -> Probe:
        self.client.activate()
        return self

    def now(self) -> int:
        """The current JACK frame time."""
        return self.client.frame_time

    def send(self, data: bytes | list[int], delay_frames: int = 0, at: int | None = None) -> int:
        """Queue ``data`` for frame ``at`` (absolute) or ``now() + block + delay``."""
        frame = at if at is not None else self.now() + self.block + delay_frames
        heapq.heappush(self._queue, (frame, next(self._order), bytes(data)))
        return frame

    def connect_to(self, midi_in: str, audio_outs: list[str]) -> None:
        self.client.connect(self.midi_out, midi_in)
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
