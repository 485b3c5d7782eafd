"""The sessions' shared pieces: the one file feeder, the declared beat clock, and the jam
session's lifecycle (prepare, start, close twice) with no device."""

from __future__ import annotations

import threading

import pytest

from instrument.accompany.clock import InternalClock
from instrument.input.feeder import feed_in_background, keyboard_file, write_keyboard_file
from instrument.timing import BeatClock


def test_a_written_performance_is_played_back_in_order_once_its_origin_is_known(tmp_path):
    path = write_keyboard_file(tmp_path / "p.mid", [(0.0, 0.5, 60, 90), (0.25, 0.5, 64, 80)])
    events = keyboard_file(path)
    assert [(round(t, 3), d) for t, d in events] == [
        (0.0, [0x90, 60, 90]),
        (0.25, [0x90, 64, 80]),
        (0.5, [0x80, 60, 0]),  # at one instant the note-offs come first, low to high
        (0.5, [0x80, 64, 0]),
    ]
    sent: list[list[int]] = []
    asked = iter([None, None, 0.0])  # unknown twice (a count-in not started), then known
    # the origin long past: everything is due at once, nothing waits on the wall clock
    thread = feed_in_background(events, sent.append, lambda: next(asked))
    thread.join(timeout=10)
    assert not thread.is_alive() and sent == [d for _, d in events]


def test_a_closed_session_ends_the_feed():
    sent: list[list[int]] = []
    closed = threading.Event()

    def send(data: list[int]) -> None:
        sent.append(data)
        closed.set()  # the session closes after the first message

    events = [(0.0, [0x90, 60, 90]), (0.0, [0x80, 60, 0])]
    thread = feed_in_background(events, send, 0.0, stopped=closed.is_set)
    thread.join(timeout=10)
    assert sent == [[0x90, 60, 90]]


def test_both_clocks_implement_the_declared_beat_clock():
    from instrument.listen.stream import ListenStream

    members = [m for m in dir(BeatClock) if not m.startswith("_")]
    assert set(members) >= {"state", "start", "stop", "tap", "running", "tempo", "waiting"}
    for clock in (InternalClock(120, 4), ListenStream(sample_rate=48000.0)):
        for name in members:
            assert hasattr(clock, name), (type(clock).__name__, name)
    assert InternalClock(120, 4).waiting == ""
    room = ListenStream(sample_rate=48000.0)
    assert room.waiting and room.tap(1.0) is None  # the room sets the beat, not a tap


def test_jam_session_prepares_starts_and_closes_twice_without_devices():
    from instrument.accompany.options import BandOptions
    from instrument.arrange import make_arranger
    from instrument.ensemble import load_ensemble
    from instrument.errors import InstrumentError
    from instrument.live.jam import JamSession
    from instrument.live.session import LiveSession
    from instrument.practice.exercises import resolve_chart
    from instrument.synth import find_soundfont

    try:
        soundfont = find_soundfont()
    except InstrumentError as e:
        pytest.skip(str(e))
    quartet = load_ensemble("quartet")
    zone = make_arranger("zone", quartet)
    live = LiveSession(quartet, zone, soundfont, audio="none", midi_in="none")
    chart, _ = resolve_chart("ii-v-i-c")
    jam = JamSession(live, BandOptions(style="block"), chart)
    assert jam.count_in == 1 and jam.tempo == chart.tempo  # a chart: a bar of count-in
    jam.prepare()
    jam.start(stepped=True)  # wired, no thread: the clock waits
    assert jam.hear_key in live.performer.raw_listeners and not jam.clock.running
    jam.close()
    jam.close()
    assert live.closed
