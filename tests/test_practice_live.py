"""The live practice loop: queued key events from another thread, the terminal view and
the history, with an injected clock; and `instrument practice` end to end under JACK
with MIDI sent into its port by a probe client."""

import io
import os
import subprocess
import sys
import threading
import time

import pytest

from instrument.harmony.chart import parse_chart
from instrument.practice.engine import PracticeEngine
from instrument.practice.history import History
from instrument.practice.live import KeyEvent, PracticeLoop, TerminalView, TypedChords


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


# C 30 ms late (count-in 2 s from 100.0), released; then Gm 100 ms early for G
KEYS = [(102.03, True, 60), (102.04, True, 64), (102.05, True, 67),
        (102.9, False, 60), (102.9, False, 64), (102.9, False, 67),
        (103.9, True, 55), (103.91, True, 58), (103.92, True, 62)]  # fmt: skip


def test_loop_feeds_engine_from_another_thread_sounds_clicks_stores_and_prints(tmp_path):
    chart = parse_chart("tempo: 120\n| C | G |")
    clock, sounded, out = Clock(), [], io.StringIO()
    with History(tmp_path / "h.sqlite") as history:
        session = history.start_session("t", "t", 120, False)
        loop = PracticeLoop(
            PracticeEngine(chart), history, session, TerminalView(out, colour=False),
            sound=lambda ch, p, v: sounded.append((ch, p, v)), clock=clock,
        )  # fmt: skip
        loop.start()

        def keyboard():  # the MIDI thread: only enqueues
            for t, on, p in KEYS:
                loop.put(KeyEvent(on, p, 90 if on else 0, t))

        thread = threading.Thread(target=keyboard)
        thread.start()
        thread.join()
        while loop.tick():
            clock.now = round(clock.now + 0.01, 4)
        rows = history.attempts(session)
    assert [(r[2], r[4], r[5]) for r in rows] == [("C", 1, 30.0), ("G", 0, -100.0)]
    text = out.getvalue()
    assert "C        right: played C    30 ms late" in text
    assert "G        wrong: played Gm   100 ms early  (missing B, extra Bb)" in text
    assert "count-in ... first chord C" in text and "bar   2: play G   next (end)" in text
    clicks = [s for s in sounded if s[0] == 9 and s[2] > 0]
    assert len(clicks) == 12 and clicks[0] == (9, 76, 110) and clicks[1] == (9, 77, 80)


def test_typed_chord_voicing():
    assert TypedChords.voicing("C/E") == [52, 60, 64, 67]
    assert TypedChords.voicing("Am7") == [57, 60, 64, 67, 69]
    assert TypedChords.voicing("N") == []


@pytest.mark.jack
def test_practice_command_under_jack_with_midi_from_a_probe(jack_server, tmp_path):
    from tests.support.jackclients import ports_appear
    from tests.support.jackprobe import Probe

    chart = tmp_path / "two.chart"
    chart.write_text("tempo: 60\n| C G | Am F |\n")  # 2 s a chord after a 4 s count-in
    db = tmp_path / "h.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "instrument", "practice", str(chart), "--audio", "jack",
         "--midi-api", "jack", "--history", str(db), "--no-display"],  # reads the terminal
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    try:
        assert ports_appear(["instrument:midi_00"], 30, proc), proc.stderr.read()
        probe = Probe("keys", n_inputs=0).activate()
        probe.connect_to("instrument:midi_00", [])
        for line in proc.stdout:  # the count-in starts as this line is printed
            if line.startswith("count-in"):
                break
        start = time.monotonic()

        def strike(at, pitches, hold=1.2):
            time.sleep(max(0.0, start + at - time.monotonic()))
            for p in pitches:
                probe.send([0x90, p, 100])
            time.sleep(hold)
            for p in pitches:
                probe.send([0x80, p, 0])

        strike(4.0, [48, 64, 67])  # C, right
        strike(6.0, [55, 59, 62, 65])  # G7 for G: wrong (extra F)
        strike(8.0, [57, 60, 64])  # Am, right; F (due at 10 s) never played
        rest, err = proc.communicate(timeout=30)
        probe.close()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "2 of 4 chords right (50%), 1 missed" in rest
    with History(db) as h:
        (s,) = h.sessions()
        rows = h.attempts(s.id)
    assert [(r[2], r[4]) for r in rows] == [("C", 1), ("G", 0), ("Am", 1), ("F", 0)]
    assert all(abs(r[5]) < 250 for r in rows[:3])  # wall-clock scheduling: loose
    assert s.finished
