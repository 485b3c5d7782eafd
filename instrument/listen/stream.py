"""The causal listener on a live input, in its own thread, on the app's clock.

The band (``instrument jam --listen``) reads this as its beat clock and chord source. The
input only copies each block: on a JACK server a compiled capture client fills a ring
(``jackinput``: no Python in JACK's thread, where a wait for the GIL would make the
synth's cycle late too); elsewhere sounddevice's callback puts it in a bounded queue.
A worker thread runs the listener; readers in other threads get immutable snapshots
(``Listener.state``, ``Listener.chord``), so no lock is shared with the audio or MIDI
threads.

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
from typing import Protocol

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

    try:
        return sd.InputStream(device=device, channels=input_channels(info), dtype="float32",
                              blocksize=block, callback=callback)  # fmt: skip
    except sd.PortAudioError as e:
        raise InstrumentError(f"cannot open audio input {info['name']!r}: {e}") from None


def input_channels(info: dict) -> int:
    """Mono or stereo: what the listener takes from a device that has ``info``."""
    return max(1, min(2, int(info["max_input_channels"])))


def is_jack(info: dict) -> bool:
    """Is the sounddevice input ``info`` a JACK server's (PortAudio's JACK host API)?"""
    import sounddevice as sd

    return "JACK" in str(sd.query_hostapis(int(info["hostapi"]))["name"])


class AudioInput(Protocol):
    """Where the listener's thread takes its blocks: (frames, channels) float32 each, the
    audio lost on the way handed on as silence, so time stays true to the room."""

    dropped: int  # blocks the analysis could not keep up with

    def get(self, timeout: float) -> list[np.ndarray]:
        """The next block, after silence for audio lost before it; ``queue.Empty`` after
        ``timeout`` s without one."""
        ...

    def health(self) -> str:
        """What was lost, for the status line and the closing report ("" if nothing)."""
        ...


class AudioSource(AudioInput, Protocol):
    """An ``AudioInput`` on a device: opened by ``start``, let go by ``close``."""

    def start(self) -> None: ...

    def close(self) -> None: ...

    def origin_frame(self) -> int | None:
        """On a JACK server, the JACK frame of the first frame ``get`` handed on: other
        JACK clients map the stream's times to their own frames with it. None elsewhere,
        or before the first block."""
        ...


def open_source(device: str | int | None, info: dict, block: int) -> AudioSource:
    """The input for a found ``device``, not yet started: on a JACK server the compiled
    capture client (``jackinput.JackInput``), else a sounddevice stream."""
    rate = float(info["default_samplerate"])
    if is_jack(info):
        from instrument.listen.jackinput import JackInput

        return JackInput(rate, block, input_channels(info))
    return PortAudioInput(device, info, block)


class InputBlocks:
    """The audio callback's side of a live input: blocks into a bounded queue, and the
    audio that never arrived given back as silence, so the listener's time stays true to
    the room's.

    Audio is lost two ways: the queue is full (the analysis fell behind: the block is
    dropped, counted in ``dropped``), or the input itself skipped (a JACK client woken too
    late misses whole periods; PortAudio flags an overflow). Either way the next block's
    capture time (``time_info.inputBufferAdcTime``, s) is later than the frames before it
    account for; ``get`` hands that much silence before it (counted in ``lost_frames``).
    A listener fed contiguous audio across a gap would hear the song jump ahead: its beat
    periods would shrink and its tempo come out fast.

    sample_rate: Hz. block: frames per callback (silence is handed in pieces this long).
    """

    TOLERANCE = 0.5  # blocks: capture-time jitter below this is not taken for a gap

    def __init__(self, sample_rate: float, block: int, maxsize: int = 256):
        self.sample_rate, self.block = float(sample_rate), int(block)
        self._queue: queue.Queue[tuple[float, np.ndarray]] = queue.Queue(maxsize=maxsize)
        self.dropped = 0  # blocks the analysis could not keep up with
        self.overflows = 0  # callbacks whose input PortAudio says overflowed
        self.lost_frames = 0  # frames of input that never arrived, handed on as silence
        self._start: float | None = None  # capture time of the first block (s)
        self._last = 0.0  # capture time of the latest block (s)
        self._frames = 0  # frames handed on since then, silence included
        self.stamped = True  # False once the input gives no usable capture times

    def callback(self, indata, frames, time_info, status) -> None:  # audio thread: copy only
        if status.input_overflow:
            self.overflows += 1
        self.put(indata.copy(), time_info.inputBufferAdcTime)

    def put(self, block: np.ndarray, adc_time: float) -> None:
        """What the callback does, for a block captured at ``adc_time`` (s) (tests)."""
        try:
            self._queue.put_nowait((float(adc_time), block))
        except queue.Full:
            self.dropped += 1

    def get(self, timeout: float) -> list[np.ndarray]:
        """The next block, after the silence standing for any audio lost before it; raises
        ``queue.Empty`` after ``timeout`` s without one."""
        adc, block = self._queue.get(timeout=timeout)
        gap = self._gap(adc)
        self._frames += gap + len(block)
        if not gap:
            return [block]
        self.lost_frames += gap
        shape = (self.block, *block.shape[1:])
        pieces = [np.zeros(shape, block.dtype) for _ in range(gap // self.block)]
        if gap % self.block:
            pieces.append(np.zeros((gap % self.block, *block.shape[1:]), block.dtype))
        return [*pieces, block]

    def _gap(self, adc: float) -> int:
        """Frames missing before a block captured at ``adc`` (s); 0 within the jitter."""
        if not self.stamped:
            return 0
        if self._start is None:
            self._start = self._last = adc
            return 0
        if adc <= self._last:  # some host APIs give no capture times (0): trust contiguity
            self.stamped = False
            return 0
        self._last = adc
        behind = round((adc - self._start) * self.sample_rate) - self._frames
        return behind if behind > self.TOLERANCE * self.block else 0

    @property
    def lost_seconds(self) -> float:
        return self.lost_frames / self.sample_rate

    def health(self) -> str:
        """What was lost, for the status line and the closing report ("" if nothing)."""
        parts = []
        if self.lost_frames:
            parts.append(f"{self.lost_seconds:.2f} s of input lost (heard as silence)")
        if self.dropped:
            parts.append(f"{self.dropped} blocks dropped (analysis too slow)")
        if self.overflows:
            parts.append(f"{self.overflows} input overflows")
        if not self.stamped:
            parts.append("the input gives no capture times: gaps cannot be measured")
        return ", ".join(parts)


class PortAudioInput(InputBlocks):
    """``InputBlocks`` filled by a sounddevice input stream on ``device`` (its callback
    runs in PortAudio's thread, off any JACK graph)."""

    def __init__(self, device: str | int | None, info: dict, block: int):
        super().__init__(float(info["default_samplerate"]), block)
        self._device, self._info = device, info
        self.stream = None

    def start(self) -> None:
        self.stream = open_input(self._device, self._info, self.block, self.callback)
        self.stream.start()

    def close(self) -> None:
        if self.stream is not None:
            self.stream.stop()
            self.stream.close()
            self.stream = None

    def origin_frame(self) -> int | None:
        return None  # off any JACK graph: no JACK frames


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
        self.device, self.block = device, block
        self.device_name, self._info = "(none)", {}
        if sample_rate is None:  # a wrong device name fails here, before anything starts
            self.device, self._info = find_input(device)
            self.device_name = str(self._info["name"])
            sample_rate = float(self._info["default_samplerate"])
        self.source: AudioSource | None = None  # the device's input, once opened
        self.input: AudioInput = InputBlocks(sample_rate, block)  # fed (``feed``) until then
        self.listener = Listener(sample_rate)
        self._running = False
        self._thread: threading.Thread | None = None
        self._offsets: deque[tuple[float, float]] = deque()  # (arrival, arrival - audio time)
        self.on_chord: Callable[[float, str], None] | None = None  # (time, label) per change

    @property
    def dropped(self) -> int:
        """Blocks the analysis could not keep up with (their time is heard as silence)."""
        return self.input.dropped

    def open(self) -> None:
        """Start hearing: the device's input and the listener's thread."""
        self.source = open_source(self.device, self._info, self.block)
        self.input = self.source
        self._running = True
        self._thread = threading.Thread(target=self._work, name="listener", daemon=True)
        self._thread.start()
        self.source.start()

    def close(self) -> None:
        self._running = False
        try:
            if self.source is not None:
                self.source.close()
        except Exception:  # noqa: BLE001 - a vanished device must not stop the shutdown
            pass
        if self._thread is not None:
            self._thread.join(timeout=2.0)

    def _work(self) -> None:
        while self._running:
            self.hear_next(timeout=0.2)

    def hear_next(self, timeout: float) -> bool:
        """Analyse the next block from the input (the worker's step); False if none came
        within ``timeout`` s. Audio lost before it is fed first, as silence: the clock
        stays true to the room."""
        try:
            pieces = self.input.get(timeout=timeout)
        except queue.Empty:
            return False
        arrival = self.now()
        for piece in pieces:
            self.feed(piece, arrival)
        return True

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
        lost = self.input.health()
        return f"listening to {self.device_name}: the band joins on the beat it hears" + (
            f" ({lost})" if lost else ""
        )

    # The room sets the beat (``BeatClock``): the player's controls do not move it.
    def tap(self, now: float) -> float | None:
        """No tempo is tapped in: None."""
        return None

    def start(self, now: float) -> None:
        """The beat starts when it is heard, not when asked."""

    def stop(self) -> None:
        """The beat goes on as long as it is heard."""
