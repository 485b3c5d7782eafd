"""The practice engine driven by scripted performances, through the same calls the live
command makes (note_on / note_off with times, process(now) on a clock tick)."""

import pytest

from instrument.harmony.chart import parse_chart
from instrument.harmony.chords import parse_chord
from instrument.practice.engine import ChordResult, Click, PracticeEngine, judge

CHART = parse_chart("tempo: 120\nmeter: 4/4\n| C | G | Am | F |")  # 0.5 s per beat


def perform(engine, strikes, until, tick=0.005, hold=0.8, start=0.0):
    """Play ``strikes`` = [(onset_s, [pitches])] (notes 10 ms apart, each held ``hold``
    seconds) into ``engine`` started at ``start``, ticking ``process`` every ``tick`` s."""
    events = []
    for onset, pitches in strikes:
        for k, p in enumerate(pitches):
            events.append((onset + 0.01 * k, 1, p))
            events.append((onset + hold, 0, p))
    events.sort()
    engine.start(start)
    out, i, t = [], 0, start
    while t <= until:
        while i < len(events) and events[i][0] <= t:
            when, on, p = events[i]
            out += engine.note_on(p, 90, when) if on else engine.note_off(p, when)
            i += 1
        out += engine.process(t)
        t = round(t + tick, 6)
    return out


def results(out):
    return [
        (
            r.target.chord.name,
            r.correct,
            sorted(r.missing),
            sorted(r.extra),
            r.timing_ms,
            r.played_chord.name if r.played_chord else None,
        )
        for r in out
        if isinstance(r, ChordResult)
    ]


def test_right_wrong_early_late_and_missed_chords():
    # count-in 4 beats = 2 s; C due at 2.0, G at 4.0, Am at 6.0, F at 8.0; ends at 10.0
    engine = PracticeEngine(CHART)
    out = perform(
        engine,
        [
            (2.0, [48, 64, 67, 72]),  # C, on time, open voicing
            (4.06, [55, 59, 62, 65]),  # G + F: 60 ms late, F extra
            (5.88, [57, 60, 64]),  # Am, 120 ms early
            # F never played
        ],
        until=10.5,
    )
    assert results(out) == [
        ("C", True, [], [], 0.0, "C"),
        ("G", False, [], [5], 60.0, "G7"),
        ("Am", True, [], [], -120.0, "Am"),
        ("F", False, [5, 9], [], None, None),
    ]
    assert engine.finished
    s = engine.summary()
    assert (s["chords"], s["correct"], s["missed"], s["accuracy"]) == (4, 2, 1, 0.5)
    assert s["mean_timing_ms"] == pytest.approx(-20.0)
    assert s["mean_abs_timing_ms"] == pytest.approx(60.0)


def test_missing_note_and_wrong_chord():
    engine = PracticeEngine(CHART)
    out = perform(engine, [(2.0, [60, 67]), (4.0, [57, 60, 64])], until=10.5)
    # C without its third: missing E; Am instead of G: missing G and B, extra A, C, E
    assert results(out)[:2] == [
        ("C", False, [4], [], 0.0, "C5"),
        ("G", False, [7, 11], [0, 4, 9], 0.0, "Am"),
    ]


def test_only_the_first_strike_per_chord_counts_and_strays_are_ignored():
    engine = PracticeEngine(CHART)
    out = perform(
        engine,
        [
            (1.0, [60, 64, 67]),  # during the count-in, before C's window: ignored
            (2.02, [60, 64, 67]),
            (3.0, [62, 65, 69]),  # second strike inside C's span: ignored
            (4.0, [55, 59, 62]),
            (6.0, [57, 60, 64]),
            (8.0, [53, 57, 60]),
        ],
        until=10.5,
    )
    assert [(r[0], r[1], r[4]) for r in results(out)] == [
        ("C", True, 20.0),
        ("G", True, 0.0),
        ("Am", True, 0.0),
        ("F", True, 0.0),
    ]


def test_metronome_and_count_in_clicks():
    engine = PracticeEngine(CHART, tempo_scale=0.5, count_in_bars=1)  # 60 BPM: 1 s a beat
    out = perform(engine, [], until=20.5)
    clicks = [e for e in out if isinstance(e, Click)]
    assert [c.time for c in clicks] == [float(i) for i in range(20)]
    assert [c.count_in for c in clicks[:5]] == [True] * 4 + [False]
    assert [c.accent for c in clicks[:5]] == [True, False, False, False, True]
    # at half tempo the C is due at 4 s: strike there and it is on time
    engine = PracticeEngine(CHART, tempo_scale=0.5)
    assert results(perform(engine, [(4.0, [60, 64, 67])], until=5.0))[0][4] == 0.0


def test_loop_a_section():
    engine = PracticeEngine(CHART, section=(1, 3), loops=2, metronome=False)
    # section = bars 1-2 (G, Am); count-in 2 s; G at 2, Am at 4, G at 6, Am at 8
    strikes = [(2.0, [55, 59, 62]), (4.0, [57, 60, 64]), (6.1, [55, 59, 62]), (8.0, [57, 60])]
    out = perform(engine, strikes, until=10.5)
    assert [(r[0], r[1], r[4]) for r in results(out)] == [
        ("G", True, 0.0),
        ("Am", True, 0.0),
        ("G", True, 100.0),
        ("Am", True, 0.0),  # A and C only: the fifth may be left out
    ]
    assert [r.target.loop for r in engine.results] == [0, 0, 1, 1]
    assert engine.finished


def test_wait_mode_holds_the_chart_until_the_right_chord():
    engine = PracticeEngine(CHART, wait=True)
    out = perform(
        engine,
        [
            (2.0, [60, 64, 67]),  # C on time
            (4.5, [55, 58, 62]),  # Gm: wrong, the chart waits at G (due 4.0)
            (5.0, [55, 59, 62]),  # G: right, 1000 ms after the chart stopped; resumes
            (7.0, [57, 60, 64]),  # Am due 2 s after G was struck: 7.0
            (9.0, [53, 57, 60]),  # F at 9.0
        ],
        until=11.5,
        hold=0.4,  # the Gm is let go before the G: held keys count as played
    )
    got = [
        (r.target.chord.name, r.correct, r.attempt, r.final, r.timing_ms) for r in engine.results
    ]
    assert got == [
        ("C", True, 1, True, 0.0),
        ("G", False, 1, False, 500.0),
        ("G", True, 2, True, 1000.0),
        ("Am", True, 1, True, 0.0),
        ("F", True, 1, True, 0.0),
    ]
    # no clicks while waiting between 4.0 and 5.0
    clicks = [e.time for e in out if isinstance(e, Click)]
    assert 4.0 in clicks and not any(4.0 < t < 5.0 for t in clicks) and 5.5 in clicks
    assert engine.summary()["accuracy"] == pytest.approx(0.75)  # 3 of 4 right first time


def test_slash_chords_need_their_bass_inversions_of_plain_chords_are_fine():
    chart = parse_chart("tempo: 120\n| C/E | G |")
    engine = PracticeEngine(chart, metronome=False)
    out = perform(engine, [(2.0, [48, 64, 67]), (4.0, [62, 67, 71])], until=6.5)
    assert [(r[0], r[1]) for r in results(out)] == [("C/E", False), ("G", True)]


def test_judge():
    assert judge(parse_chord("Cmaj7"), (48, 59, 64))[0]  # shell voicing, no fifth
    ok, missing, extra = judge(parse_chord("Cmaj7"), (48, 55, 64))
    assert not ok and missing == {11} and not extra
    assert not judge(parse_chord("C"), ())[0]


def test_a_chord_held_into_the_looped_section_is_struck_at_its_start():
    chart = parse_chart("tempo: 120\n| C | - | G |")
    engine = PracticeEngine(chart, section=(1, 3), metronome=False)
    assert [(t.chord.name, t.start, t.end, t.bar) for t in engine.targets] == [
        ("C", 4.0, 8.0, 1),
        ("G", 8.0, 12.0, 2),
    ]
