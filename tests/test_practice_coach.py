"""Practice that coaches: close calls with half credit, verdicts under their own bar, the
score on Ctrl-C, trends per exercise, best score and streak kept (and migrated), drill."""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from instrument.errors import InstrumentError
from instrument.harmony.chart import parse_chart
from instrument.harmony.chords import parse_chord
from instrument.practice.engine import ChordResult, PracticeEngine, close_call, mistakes
from instrument.practice.history import History
from instrument.practice.live import TerminalView
from instrument.practice.report import progress_figure, progress_text
from tests.test_practice_engine import perform

CHART = parse_chart("tempo: 120\n| Dm7 | G7 | Cmaj7 | C |")  # count-in 2 s, a bar 2 s


def test_close_call_gets_half_credit_and_says_what_to_add():
    assert close_call(parse_chord("Dm7"), (50, 53, 57))  # D F A: the triad
    assert not close_call(parse_chord("Dm7"), (50, 53, 57, 59))  # B is extra: wrong
    assert not close_call(parse_chord("C"), (48, 55))  # no third: not the chord at all
    assert not close_call(parse_chord("G7"), (55, 62, 65))  # no B (the third): wrong
    engine = PracticeEngine(CHART, metronome=False)
    out = perform(engine, [(2.0, [50, 53, 57]), (4.0, [43, 59, 62, 65]),
                           (6.0, [48, 64, 67]), (8.0, [48, 64, 67])], until=10.5)
    res = [r for r in out if isinstance(r, ChordResult)]
    assert [(r.correct, r.close) for r in res] == [(False, True), (True, False),
                                                   (False, True), (True, False)]
    assert mistakes(res[0]) == "close: add C" and mistakes(res[2]) == "close: add B"
    s = engine.summary()
    assert s["accuracy"] == 0.5 and s["close"] == 2 and s["score"] == 0.75


def test_an_early_chord_is_reported_under_its_own_bar():
    engine = PracticeEngine(parse_chart("tempo: 120\n| C | G | C |"), metronome=False)
    out = io.StringIO()
    view = TerminalView(out, colour=False)
    strikes = [(2.0, [48, 52, 55]), (3.8, [43, 47, 50])]  # G 200 ms early: in bar 1 still
    events = sorted([(t + 0.01 * k, p) for t, ps in strikes for k, p in enumerate(ps)])
    engine.start(0.0)
    t, i = 0.0, 0
    while t <= 7.0:
        while i < len(events) and events[i][0] <= t:
            engine.note_on(events[i][1], 90, events[i][0])
            i += 1
        for r in engine.process(t):
            if isinstance(r, ChordResult):
                view.result(r)
        view.position(engine, t)
        t = round(t + 0.005, 4)
    lines = out.getvalue().splitlines()
    bar2 = [k for k, line in enumerate(lines) if line.startswith("bar   2")]
    verdict = next(k for k, line in enumerate(lines) if line.strip().startswith("G "))
    assert len(bar2) == 1 and bar2[0] < verdict  # bar 2's line first, and only once
    assert "200 ms early" in lines[verdict]


def _finished_session(h, exercise, strikes, day_offset=0.0):
    engine = PracticeEngine(CHART, metronome=False)
    sid = h.start_session(exercise, "t", engine.tempo, False)
    for r in perform(engine, strikes, until=10.5):
        if isinstance(r, ChordResult):
            h.record(sid, r)
    h.end_session(sid)
    return sid


RIGHT = [(2.0, [50, 53, 57, 60]), (4.0, [43, 59, 62, 65]), (6.0, [48, 64, 67, 71]),
         (8.0, [48, 64, 67])]


def test_best_score_and_day_streak_per_exercise(tmp_path, monkeypatch):
    import instrument.practice.history as history

    day = 86400.0
    now = [time.mktime((2026, 3, 2, 9, 0, 0, 0, 0, -1))]  # 9:00 local time
    monkeypatch.setattr(history.time, "time", lambda: now[0])
    with History(tmp_path / "h.sqlite") as h:
        _finished_session(h, "ii-v", RIGHT[:2])  # 2 of 4
        now[0] += day
        _finished_session(h, "ii-v", RIGHT)  # 4 of 4, the next day
        now[0] += 0.25 * day  # 15:00
        _finished_session(h, "ii-v", RIGHT[:1])  # worse, later that day: best stays
        _finished_session(h, "blues", RIGHT[:3])
        now[0] += 3 * day
        _finished_session(h, "ii-v", RIGHT)  # after a gap: the streak starts again
        best = {b.exercise: b for b in h.bests()}
        assert best["ii-v"].best == 1.0 and best["ii-v"].streak == 1
        assert best["ii-v"].best_streak == 2 and best["blues"].best == 0.75
        text = progress_text(h)
        trends = text.split("trends:")[1]
        assert "ii-v: score 50% -> 100% over 4 sessions" in trends
        assert "blues: score 75% in 1 session" in trends and "best 100%, streak 1 day" in trends
        fig = progress_figure(h.sessions())
        ticks = [x for x in fig.axes[1].get_xticks() if 1 <= x <= 4]
        assert ticks and all(float(x).is_integer() for x in ticks)  # whole sessions


OLD_SCHEMA = """
CREATE TABLE sessions (id INTEGER PRIMARY KEY, exercise TEXT NOT NULL, title TEXT NOT NULL,
    started REAL NOT NULL, tempo REAL NOT NULL, wait INTEGER NOT NULL, ended REAL);
CREATE TABLE attempts (id INTEGER PRIMARY KEY, session INTEGER NOT NULL REFERENCES
    sessions(id), target INTEGER NOT NULL, attempt INTEGER NOT NULL, expected TEXT NOT NULL,
    played TEXT NOT NULL, played_chord TEXT, correct INTEGER NOT NULL, missing TEXT NOT NULL,
    extra TEXT NOT NULL, timing_ms REAL, time REAL NOT NULL, UNIQUE (session, target, attempt));
INSERT INTO sessions VALUES (1, 'axis', 'Axis', 1700000000, 120, 0, 1700000100);
INSERT INTO attempts VALUES (1, 1, 0, 1, 'C', '60 64 67', 'C', 1, '', '', 5.0, 1700000001);
INSERT INTO attempts VALUES (2, 1, 1, 1, 'G', '', NULL, 0, 'G B D', '', NULL, 1700000003);
"""


def test_a_database_of_the_old_schema_is_migrated(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    db.close()
    with History(path) as h:
        assert h.db.execute("PRAGMA user_version").fetchone()[0] == 1
        assert [b.best for b in h.bests()] == [0.5]  # the finished session, backfilled
        assert h.sessions()[0].accuracy == 0.5
        _finished_session(h, "axis", RIGHT)
        assert h.bests("axis")[0].best == 1.0
    with History(path) as h:  # opening it again changes nothing
        assert len(h.sessions()) == 2


@pytest.mark.parametrize("script, why", [
    ("CREATE TABLE attempts (id INTEGER); CREATE TABLE sessions (id INTEGER);",
     "not a readable practice history"),
    ("CREATE TABLE attempts (id INTEGER, session INTEGER); CREATE TABLE sessions (id INTEGER);",
     "lacks columns"),
    ("PRAGMA user_version = 7;", "version 7"),
])
def test_a_foreign_or_newer_database_is_refused_in_one_line(tmp_path, script, why):
    path = tmp_path / "x.sqlite"
    db = sqlite3.connect(path)
    db.executescript(script)
    db.close()
    with pytest.raises(InstrumentError, match=why) as e:
        History(path)
    assert "\n" not in str(e.value)


def test_drill_loops_the_missed_chords_and_follows_the_score():
    from instrument.practice.drill import Drill

    chart = parse_chart("tempo: 100\n| C | Am | F | G |")
    drill = Drill(chart, 1.0, rounds=3)
    engine = PracticeEngine(chart, metronome=False)
    spb = 0.6  # 100 BPM
    played = [(4 * 4 * spb * 0 + 4 * spb + 4 * spb * k, ps) for k, ps in
              enumerate([[48, 52, 55], [45, 48, 52], [41, 45, 50], [43, 47, 50]])]
    perform(engine, played, until=12.0)  # F played with D for C: wrong
    assert engine.summary()["correct"] == 3
    r2 = drill.next_round(engine)
    assert [t.chord.name for t in PracticeEngine(r2.chart).targets] == ["Am", "F"]
    assert r2.tempo_scale == pytest.approx(1.0)  # 75%: between the thresholds
    assert drill.next_scale(0.95, 1.0) == pytest.approx(1.1)
    assert drill.next_scale(0.2, 1.0) == pytest.approx(0.8)
    clean = PracticeEngine(r2.chart, metronome=False)
    perform(clean, [(2.4, [45, 48, 52]), (4.8, [41, 45, 48])], until=8.0)
    assert drill.next_round(clean) is None  # a clean round ends the drill


def test_ctrl_c_prints_the_score(tmp_path):
    env = dict(os.environ, INSTRUMENT_HOME=str(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "instrument", "practice", "ii-v-i-c", "--midi-in", "none",
         "--audio", "none", "--no-display", "--history", str(tmp_path / "h.sqlite")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env)
    try:
        for line in proc.stdout:  # wait until it is playing: the count-in line
            if line.startswith("count-in"):
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert "chords right" in out and "score" in out, (out, err)
    assert "Traceback" not in err


def test_practice_cli_drill_runs_rounds(tmp_path, capsys):
    """--drill through the command: the chart, then a round of what was missed."""
    import mido

    from instrument.cli import main

    silent = tmp_path / "silent.mid"  # played in: one note long after the end
    mid = mido.MidiFile()
    mid.tracks.append(mido.MidiTrack([mido.Message("note_on", note=60, velocity=1, time=96000)]))
    mid.save(silent)
    code = main(["practice", "| C | G |", "--midi-in", "none", "--audio", "none",
                 "--play-file", str(silent),
                 "--no-display", "--tempo-scale", "4", "--count-in", "0", "--drill", "2",
                 "--history", str(tmp_path / "h.sqlite")])
    out = capsys.readouterr().out
    assert code == 0
    assert "drill round 2: C G at" in out and out.count("chords right") == 2
    with History(tmp_path / "h.sqlite") as h:
        assert {s.exercise for s in h.sessions()} == {"inline", "inline (drill)"}


def test_the_practice_window_moves_on_to_the_drills_next_round(pygame_offscreen):
    """In the stage, a finished round hands over to the drill's next one: a new engine, a
    new history session, the count-in again; when the drill is done the window says so."""
    from instrument.display.model import StageModel
    from instrument.display.practice import PracticeView
    from instrument.ensemble import load_ensemble

    chart = parse_chart("tempo: 120\n| C | F |")
    first = PracticeEngine(chart, count_in_bars=1, metronome=False)
    second = PracticeEngine(parse_chart("tempo: 120\n| F |"), count_in_bars=1, metronome=False)
    rounds = [second]
    sessions = []
    view = PracticeView(first, lambda: sessions.append(len(sessions) + 1) or sessions[-1],
                        echo=False, next_engine=lambda: rounds.pop() if rounds else None)
    model = StageModel(load_ensemble("quartet"))
    view.enter(model)
    view.session = 1
    first.start(0.0)
    first.process(10.0)  # nothing played: the round ends, every chord missed
    assert first.finished
    view.feed.position(first, 10.0)
    view.frame(model, 10.0)
    try:
        assert view.engine is second and view.loop.engine is second
        assert sessions == [1] and model.caption == "drill: the chords you missed"
    finally:
        view.stop()
    second.start(0.0)
    second.process(10.0)
    view.feed.position(second, 10.0)
    view.frame(model, 10.0)
    assert view.next_engine is None and model.caption == "finished: F6 plays it again"
