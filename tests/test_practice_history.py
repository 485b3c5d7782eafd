"""The practice history database: stored attempts, progress, and surviving a kill."""

import os
import re
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
        assert "axis: score 25% -> 75% over 2 sessions" in text
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


KILLED_WRITER = textwrap.dedent(
    """
    import sys
    from instrument.harmony.chart import parse_chart
    from instrument.practice.engine import PracticeEngine
    from instrument.practice.history import History

    chart = parse_chart("tempo: 120\\n" + "| C | G | Am | F |" * 50)
    per = int(sys.argv[2])
    h = History(sys.argv[1])
    while True:  # sessions of ``per`` judged chords each, until killed
        engine = PracticeEngine(chart, metronome=False)
        s = h.start_session("kills", "kills", 120, False)
        print("start", s, flush=True)
        engine.start(0.0)
        t, n = 0.0, 0
        while n < per:
            for r in engine.process(t)[: per - n]:
                h.record(s, r)
                print("rec", s, r.target.index, flush=True)  # acknowledged once committed
                n += 1
            t += 0.05
        h.end_session(s)
        print("end", s, flush=True)
    """
)
PER_SESSION = 7
ACK = re.compile(r"(start|rec|end) \d+( \d+)?\n")


def _read_back(db) -> tuple[dict[int, list[tuple]], set[int]]:
    """Every stored attempt per session, and the sessions marked finished; checks the
    file's integrity and that each stored row is whole."""
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        sessions = dict(con.execute("SELECT id, ended FROM sessions").fetchall())
        rows: dict[int, list[tuple]] = {s: [] for s in sessions}
        for row in con.execute("SELECT session, target, attempt, expected, played, correct, "
                               "missing FROM attempts ORDER BY id"):  # fmt: skip
            rows[row[0]].append(row[1:])
    finally:
        con.close()
    whole = _whole_rows()
    for s, attempts in rows.items():
        # in order, none missing, none doubled, none half-written
        assert [a[0] for a in attempts] == list(range(len(attempts))), (s, attempts)
        assert all(a[1:] == whole[a[0] % 4] for a in attempts), attempts
        assert a_whole_session_if_ended(sessions[s], attempts)
    return rows, {s for s, ended in sessions.items() if ended is not None}


def _whole_rows() -> list[tuple]:
    """(attempt, expected, played, correct, missing) as the writer stores each missed chord
    of its | C | G | Am | F | chart, computed here the same way."""
    from instrument.harmony.chords import PITCH_NAMES

    engine = PracticeEngine(parse_chart("tempo: 120\n| C | G | Am | F |"), metronome=False)
    engine.start(0.0)
    results, t = [], 0.0
    while len(results) < 4:
        results += engine.process(t)
        t += 0.05
    return [(1, r.target.chord.name, "", 0, " ".join(PITCH_NAMES[pc] for pc in sorted(r.missing)))
            for r in results]  # fmt: skip


def a_whole_session_if_ended(ended, attempts) -> bool:
    return ended is None or len(attempts) == PER_SESSION


def test_repeated_kills_mid_write_keep_the_database_consistent(tmp_path):
    """SIGKILL the writer again and again at random moments (while opening, inside a
    transaction, between them) on the same database: after every kill it reads back whole,
    with every acknowledged write there and nothing committed earlier lost or changed."""
    import random
    import time

    db = tmp_path / "h.sqlite"
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    rng = random.Random(8)
    acked: dict[int, list[int]] = {}
    acked_end: set[int] = set()
    before: dict[int, list[tuple]] = {}
    for round_ in range(14):
        proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(db), str(PER_SESSION)],
                                stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
        want = 0 if round_ % 5 == 0 else rng.randint(1, 25)  # 0: killed while starting up
        lines = [proc.stdout.readline() for _ in range(want)]
        time.sleep(rng.uniform(0.0, 0.004))  # land anywhere in the next write
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        lines += proc.stdout.readlines()  # acknowledged before the kill, still in the pipe
        proc.stdout.close()
        for line in lines:
            if not ACK.fullmatch(line):  # cut short by the kill: not an acknowledgement
                continue
            kind, s, *rest = line.split()
            if kind == "rec":
                acked.setdefault(int(s), []).append(int(rest[0]))
            elif kind == "end":
                acked_end.add(int(s))
        if not db.exists():
            continue
        rows, ended = _read_back(db)
        for s, targets in acked.items():
            stored = [a[0] for a in rows[s]]
            assert stored[: len(targets)] == targets  # everything acknowledged is there
            assert len(stored) - len(targets) <= 1  # at most the one not yet acknowledged
        assert acked_end <= ended
        for s, old in before.items():
            assert rows[s][: len(old)] == old  # earlier rounds' rows untouched
        before = rows
    assert sum(len(v) for v in acked.values()) > 50 and len(acked_end) >= 3
    with History(db) as h:  # and the app opens it and reports every session
        stats = h.sessions("kills")
        assert len(stats) == sum(1 for v in before.values() if v)
        assert {s.id for s in stats if s.finished} == {s for s in ended if before[s]}
