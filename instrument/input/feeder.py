"""A MIDI file played in as the keyboard: ``play``/``jam``/``practice --play-file``.

One thread sends the file's keyboard stream (``midifile.keyboard_events``: all tracks
merged, note-offs first at one instant) in real time to ``send``, the same entry a
keyboard's messages take (the MIDI input, or the session's handler when there is no MIDI
thread). Its time 0 is an ``origin`` on ``time.monotonic()``'s clock, given now or found
later (practice: the count-in's start, known once the window is up).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from instrument.input.midifile import keyboard_events, read_midi

Events = list[tuple[float, list[int]]]  # (seconds from the file's start, MIDI bytes)
ORIGIN_POLL_S = 0.005  # how often a feeder waiting for its origin looks again


def keyboard_file(path: str | os.PathLike) -> Events:
    """A MIDI file's keyboard stream; read at once, so a bad file is a one-line error
    (``InstrumentError``) before anything plays."""
    return keyboard_events(read_midi(path))


def write_keyboard_file(
    path: str | os.PathLike, notes: list[tuple[float, float, int, int]]
) -> Path:
    """A scripted performance as a MIDI file for ``--play-file``: notes (start s, end s,
    pitch, velocity) on channel 1 at 120 BPM, 960 ticks a second (the benches' and the
    screenshots' players). At one instant note-offs come first."""
    import mido

    events = []
    for start, end, pitch, velocity in notes:
        events += [(start, "note_on", pitch, velocity), (end, "note_off", pitch, 0)]
    events.sort(key=lambda e: (e[0], e[1] == "note_on"))
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000)])  # 0.5 s a beat
    midi.tracks.append(track)
    last = 0
    for t, kind, pitch, velocity in events:
        tick = round(t * 960)
        track.append(mido.Message(kind, note=pitch, velocity=velocity, time=tick - last))
        last = tick
    midi.save(path)
    return Path(path)


def feed_in_background(
    events: Events,
    send: Callable[[list[int]], None],
    origin: float | Callable[[], float | None],
    stopped: Callable[[], bool] = lambda: False,
) -> threading.Thread:
    """Send ``events`` to ``send`` at ``origin + t`` each, from a daemon thread (started).

    origin: monotonic seconds, or a function returning them once known (None until then;
    asked every ``ORIGIN_POLL_S``). stopped: asked before each message; True ends the feed
    (the session was closed).
    """

    def feed() -> None:
        start = origin() if callable(origin) else origin
        while start is None:
            time.sleep(ORIGIN_POLL_S)
            start = origin()
        for t, data in events:
            delay = start + t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if stopped():
                return
            send(data)

    thread = threading.Thread(target=feed, name="play-file", daemon=True)
    thread.start()
    return thread
