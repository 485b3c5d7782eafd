"""Running the listener on a file or on a live input, and showing what it hears.

Live: an input that only copies each block (``stream.open_source``: a compiled JACK
capture client on a JACK server, else a sounddevice stream whose callback queues it; no
analysis, no printing, no locks in the audio thread);
the main thread takes blocks off the queue and runs the listener. If the analysis ever
falls behind, whole blocks are dropped rather than letting the queue grow; audio lost that
way, or skipped by the input itself, reaches the listener as silence of the same length
(counted, and named on stderr at the end), so its times and tempo stay true to the room.
"""

from __future__ import annotations

import json
import queue
import sys
from collections.abc import Callable
from typing import TextIO

from instrument.errors import InstrumentError
from instrument.listen.audio import blocks, read_audio
from instrument.listen.tracker import BeatEvent, ChordEvent, Listener

Sink = Callable[[list[BeatEvent | ChordEvent], Listener], None]


def json_sink(out: TextIO = sys.stdout) -> Sink:
    """One JSON line per beat and per chord change."""

    def sink(events: list[BeatEvent | ChordEvent], listener: Listener) -> None:
        for e in events:
            out.write(json.dumps(e.to_json()) + "\n")
        if events:
            out.flush()

    return sink


def origin_line(frame: int, out: TextIO = sys.stdout) -> None:
    """The JSON line that maps a JACK input's times to JACK frames: time t of the lines
    after it is JACK frame ``frame + t * rate``."""
    out.write(json.dumps({"origin_frame": frame}) + "\n")
    out.flush()


def display_sink(out: TextIO = sys.stdout) -> Sink:
    """A status line: tempo, a beat pulse per position in the bar, bar number, chord, key."""

    def sink(events: list[BeatEvent | ChordEvent], listener: Listener) -> None:
        beats = [e for e in events if isinstance(e, BeatEvent)]
        if not beats:
            return
        b = beats[-1]
        pulse = "".join("●" if i + 1 == b.beat else "○" for i in range(b.beats_per_bar))
        out.write(
            f"\r{b.t:8.2f} s  {b.bpm:6.1f} BPM  {b.beats_per_bar}/4  bar {b.bar:4d} "
            f"beat {b.beat}  {pulse:<6} chord {listener.chord:<7} "
            f"key {listener.key_label:<7} conf {b.confidence:.2f} "
        )
        out.flush()

    return sink


def line_sink(out: TextIO | None = None) -> Sink:
    """Plain mode for a file or a pipe: a line per bar and per chord change, no ``\\r``.

    out: default the ``sys.stdout`` of the moment each line is written."""

    def sink(events: list[BeatEvent | ChordEvent], listener: Listener) -> None:
        stream = out or sys.stdout
        for e in events:
            if isinstance(e, BeatEvent) and e.beat == 1:
                print(
                    f"{e.t:8.2f} s  {e.bpm:6.1f} BPM  {e.beats_per_bar}/4  bar {e.bar:4d}  "
                    f"chord {listener.chord:<7} key {listener.key_label}",
                    file=stream,
                )
            elif isinstance(e, ChordEvent):
                print(f"{e.t:8.2f} s  chord {e.chord}", file=stream)
        stream.flush()

    return sink


def summary_line(listener: Listener) -> str:
    """What the listener ended on: tempo, beats to the bar, the last chord and the key."""
    st = listener.state(listener.time)
    return (
        f"{st.tempo:.1f} BPM, {st.beats_per_bar} beats to the bar, last chord "
        f"{listener.chord}, key {listener.key_label}"
    )


def input_devices() -> list[str]:
    """One line per audio input: "number: name (channels in, rate Hz)"."""
    import sounddevice as sd

    return [
        f"{i}: {d['name']} ({d['max_input_channels']} in, {d['default_samplerate']:.0f} Hz)"
        for i, d in enumerate(sd.query_devices())
        if d["max_input_channels"] > 0
    ]


def run_file(path: str, sink: Sink, block: int = 1024) -> Listener:
    """The causal listener over a file, block by block, as fast as it goes."""
    audio, sr = read_audio(path)
    listener = Listener(sr)
    for b in blocks(audio, block):
        sink(listener.process(b), listener)
    return listener


def run_live(
    sink: Sink,
    device: str | int | None = None,
    duration: float | None = None,
    block: int = 512,
    on_origin: Callable[[int], None] | None = None,
) -> Listener:
    """Listen to an input device until ``duration`` s have been heard (or Ctrl-C).

    on_origin: called once with the JACK frame of the stream's time 0, on a JACK input
    (``AudioSource.origin_frame``), before the first block is heard."""
    from instrument.listen.stream import find_input, open_source

    device, info = find_input(device)
    source = open_source(device, info, block)
    rate = float(info["default_samplerate"])
    listener = Listener(rate)
    heard = 0  # frames of the room's time, lost audio (heard as silence) included
    source.start()
    try:
        while duration is None or heard < duration * rate:
            try:
                pieces = source.get(timeout=2.0)
            except queue.Empty:
                raise InstrumentError(f"audio input {info['name']!r} delivers nothing") from None
            if on_origin is not None and (origin := source.origin_frame()) is not None:
                on_origin(origin)
                on_origin = None
            for x in pieces:
                heard += len(x)
                sink(listener.process(x), listener)
    except KeyboardInterrupt:
        pass
    finally:
        source.close()
    if lost := source.health():
        print(f"instrument: warning: {lost}", file=sys.stderr)
    return listener
