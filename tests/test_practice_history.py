"""The practice history database: stored attempts, progress, and surviving a kill."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

from instrument.harmony.chart import parse_chart
from instrument.practice.engine import PracticeEngine
from instrument.practice.history import History
from instrument.practice.report import plot_progress, progress_text

CHART = parse_chart("tempo: 120\n| C | G | Am | F |")


def play_session(history, strikes, exercise="axis"):
    engine = PracticeEngine(CHART, metronome=False)
    session = history.start_session(exercise, CHART.title, engine.tempo, wait=False)
    engine.start(0.0)
    events = sorted(
        [(on, 90, p) for on, ps in strikes for p in ps]
        + [(on + 0.8, 0, p) for on, ps in strikes for p in ps]  # velocity 0: note-off
    )
    t, i = 0.0, 0
    while t <= 10.5:
        while i < len(events) and events[i][0] <= t:
            when, velocity, pitch = events[i]
            engine.note_on(pitch, velocity, when)
            i += 1
        for r in engine.process(t):
            if hasattr(r, "correct"):
                history.record(session, r)
        t = round(t + 0.01, 4)
    history.end_session(session)
    return session


def test_sessions_and_progress(tmp_path):
    with History(tmp_path / "h.sqlite") as h:
        play_session(h, [(2.0, [60, 64, 67])])  # 1 of 4
        play_session(h, [(2.0, [60, 64, 67]), (4.05, [55, 59, 62]), (6.0, [57, 60, 64])])
        stats = h.sessions("axis")
        assert [(s.chords, s.correct) for s in stats] == [(4, 1), (4, 3)]
        assert stats[1].mean_abs_timing_ms == 50 / 3
        text = progress_text(h, "axis")
        assert "accuracy 25% -> 75% over 2 sessions" in text
        assert "F (0% of 2)" in text
        png = plot_progress(stats, tmp_path / "p.png")
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert h.sessions("other") == []


WRITER = textwrap.dedent(
    """
    import sys, time
    from instrument.harmony.chart import parse_chart
    from instrument.practice.engine import PracticeEngine
    from instrument.practice.history import History

    chart = parse_chart("tempo: 120\\n" + "| C | G | Am | F |" * 50)
    h = History(sys.argv[1])
    engine = PracticeEngine(chart, metronome=False)
    session = h.start_session("long", "long", 120, False)
    engine.start(0.0)
    t = 0.0
    while True:  # forever, until killed: a missed chord every 2 s of chart time
        for r in engine.process(t):
            h.record(session, r)
            print(r.target.index, flush=True)  # acknowledged: committed before this line
        t += 0.05
    """
)


def test_killed_session_loses_nothing_and_corrupts_nothing(tmp_path):
    db = tmp_path / "h.sqlite"
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE, text=True, env=env
    )
    acked = []
    for line in proc.stdout:
        acked.append(int(line))
        if len(acked) == 40:
            break
    proc.send_signal(signal.SIGKILL)  # mid-session: no end_session, maybe mid-transaction
    proc.wait()
    proc.stdout.close()

    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = [r[0] for r in con.execute("SELECT target FROM attempts ORDER BY id")]
    assert stored[: len(acked)] == acked  # every acknowledged attempt is there, in order
    assert stored == list(range(len(stored)))  # and nothing half-written or duplicated
    con.close()
    with History(db) as h:  # reopens (WAL recovery) and reports the interrupted session
        (s,) = h.sessions()
        assert not s.finished and s.chords == len(stored) and s.correct == 0
        assert "(interrupted)" in progress_text(h)
