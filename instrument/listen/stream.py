"""The causal listener on a live input, in its own thread, on the app's clock.

The band (``instrument jam --listen``) reads this as its beat clock and chord source. The
audio callback only copies each block into a bounded queue; a worker thread runs the
listener; readers in other threads get immutable snapshots (``Listener.state``,
``Listener.chord``), so no lock is shared with the audio or MIDI threads.

Clock: the listener reports times on its audio clock plus ``time_origin``. A block's
last sample was captured no later than the moment the block reached the worker, so
``arrival - audio_time`` bounds the origin from above; its minimum over recent blocks
(queueing only ever adds delay) puts the listener on ``time.monotonic``'s clock.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from instrument.errors import InstrumentError
from instrument.listen.tracker import ChordEvent, Listener
from instrument.timing import BeatState


def find_input(device: str | int | None) -> tuple[str | int | None, dict]:
    """The sounddevice input ``device`` (name, number or None: the default) and its info."""
    import sounddevice as sd

    if isinstance(device, str) and device.isdigit():
        device = int(device)
    try:
        return device, dict(sd.query_devices(device, "input"))
    except (ValueError, sd.PortAudioError) as e:
        name = device if device is not None else "(default)"
        raise InstrumentError(f"no audio input {name}: {e}") from None


def open_input(device: str | int | None, info: dict, block: int, callback: Callable):
    """A started-later sounddevice input stream (mono or stereo) on a found ``device``."""
    import sounddevice as sd

    channels = max(1, min(2, int(info["max_input_channels"])))
    try:
        return sd.InputStream(
            device=device, channels=channels, dtype="float32", blocksize=block, callback=callback
        )
    except sd.PortAudioError as e:
        raise InstrumentError(f"cannot open audio input {info['name']!r}: {e}") from None


class ListenStream:
    """A ``BeatClock`` and chord source that follows what an audio input hears.

    device: sounddevice input name or number (None: the default input). block: frames per
    callback. Times in and out are seconds of ``now()``'s clock. sample_rate: given, no
    device is looked up and nothing is opened until ``open`` (blocks may be ``feed`` in).
    """

    ORIGIN_WINDOW = 10.0  # s of blocks over which the clock offset's minimum is taken

    def __init__(
        self,
        device: str | int | None = None,
        block: int = 512,
        now: Callable[[], float] = time.monotonic,
        sample_rate: float | None = None,
    ):
        self.now = now
        self._queue: queue.Queue[np.ndarray] = queue.Queue(maxsize=256)
        self.dropped = 0  # blocks the analysis could not keep up with
        self.device, self.block = device, block
        self.device_name, self._info = "(none)", {}
        if sample_rate is None:  # a wrong device name fails here, before anything starts
            self.device, self._info = find_input(device)
            self.device_name = str(self._info["name"])
            sample_rate = float(self._info["default_samplerate"])
        self.stream = None
        self.listener = Listener(sample_rate)
        self._running = False
        self._thread: threading.Thread | None = None
        self._offsets: deque[tuple[float, float]] = deque()  # (arrival, arrival - audio time)
        self.on_chord: Callable[[float, str], None] | None = None  # (time, label) per change

    def _callback(self, indata, frames, time_info, status) -> None:  # audio thread
        try:
            self._queue.put_nowait(indata.copy())
        except queue.Full:
            self.dropped += 1

    def open(self) -> None:
        """Start hearing: the input stream and the listener's thread."""
        self.stream = open_input(self.device, self._info, self.block, self._callback)
        self._running = True
        self._thread = threading.Thread(target=self._work, name="listener", daemon=True)
        self._thread.start()
        self.stream.start()

    def close(self) -> None:
        self._running = False
        try:
            if self.stream is not None:
                self.stream.stop()
                self.stream.close()
        except Exception:  # noqa: BLE001 - a vanished device must not stop the shutdown
            pass
        if self._thread is not None:
            self._thread.join(timeout=2.0)

    def _work(self) -> None:
        while self._running:
            try:
                block = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            self.feed(block, self.now())

    def feed(self, block: np.ndarray, arrival: float) -> None:
        """Analyse one block that reached us at ``arrival`` (the worker's step)."""
        self._place(block, arrival)
        for event in self.listener.process(block):
            if isinstance(event, ChordEvent) and self.on_chord is not None:
                self.on_chord(event.t, event.chord)

    def _place(self, block: np.ndarray, arrival: float) -> None:
        """Move the listener's time origin to the smallest recent arrival offset."""
        lis = self.listener
        audio_end = lis.features.frames_done / lis.fps + len(block) / lis.sample_rate
        offset = arrival - audio_end
        # A sliding minimum: offsets kept increasing, so the oldest kept one is the least.
        while self._offsets and self._offsets[-1][1] >= offset:
            self._offsets.pop()
        self._offsets.append((arrival, offset))
        while self._offsets[0][0] < arrival - self.ORIGIN_WINDOW:
            self._offsets.popleft()
        lis.time_origin = self._offsets[0][1]

    # -- what the app tells the listener (any thread) ---------------------------------------
    def hear_band(self, dispatcher) -> None:
        """Tell the listener which onsets are the band's own: every note ``dispatcher`` (an
        ``accompany.band.Dispatcher``) sends is discounted in what the input hears, so a
        band audible in the room does not follow itself."""
        dispatcher.listeners.append(self._band_note)

    def _band_note(
        self, on: bool, pitch: int, velocity: int, part: int, channel: int, t: float
    ) -> None:
        if on:
            self.listener.own_note(t)

    def player_note(self, t: float, velocity: int) -> None:
        """The keyboard player struck a key at ``t`` (``now()``'s clock): an exact onset,
        fused with the room's audio so the band locks to the people."""
        self.listener.player_note(t, velocity)

    # -- what the band and the display read ------------------------------------------------
    def state(self, now: float) -> BeatState:
        """The heard beat; until a beat is heard the next beat is never (the band waits)."""
        s = self.listener.state(now)
        if s.confidence <= 0.0:
            return BeatState(s.tempo, s.beat, s.beats_per_bar, float("inf"), 0.0)
        return s

    @property
    def chord(self) -> str:
        return self.listener.chord

    @property
    def running(self) -> bool:
        """True once a beat has been heard."""
        return self.state(self.now()).confidence > 0.0

    @property
    def tempo(self) -> float:
        return self.listener.state(self.now()).tempo

    @property
    def beats_per_bar(self) -> int:
        return self.listener.state(self.now()).beats_per_bar

    @property
    def waiting(self) -> str:
        return f"listening to {self.device_name}: the band joins on the beat it hears"

    # The room sets the beat (``BeatClock``): the player's controls do not move it.
    def tap(self, now: float) -> float | None:
        """No tempo is tapped in: None."""
        return None

    def start(self, now: float) -> None:
        """The beat starts when it is heard, not when asked."""

    def stop(self) -> None:
        """The beat goes on as long as it is heard."""
