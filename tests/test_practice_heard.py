"""Practice with chords heard through the listener (`instrument practice --listen`).

A performance of a chart (piano chords: right, wrong, late) is rendered with FluidSynth
and fed block by block through the same path the live input takes: ``ListenStream.feed``
(the real causal listener), ``HeardChords``, the ``PracticeLoop`` and its engine. Only the
clock is simulated: each block "arrives" when its last sample would have been captured,
and no audio device is opened (the JACK tests open one).
"""

from __future__ import annotations

import numpy as np

from instrument.harmony.chart import parse_chart
from instrument.practice.engine import PracticeEngine, triad_of
from instrument.practice.live import HeardChords, PracticeLoop, TypedChords

CHART = """title: heard
tempo: 90
meter: 4/4
| Dm | G7 | C | Am |
"""
SR, BLOCK = 48000, 512


class Quiet:
    """A view that keeps the results instead of printing them."""

    def __init__(self):
        self.results = []

    def position(self, engine, now):
        pass

    def result(self, r):
        self.results.append(r)

    def summary(self, s):
        pass


def render_performance(engine: PracticeEngine, plan: list[tuple[str, float]]) -> np.ndarray:
    """(chord name, seconds late) per target, each held to the next target's start."""
    from instrument.synth import Synth, find_soundfont

    synth = Synth(find_soundfont(), sample_rate=SR, gain=0.5)
    synth.program(0, 0)  # piano
    starts = [engine.time_of(t.start) - engine.origin for t in engine.targets]
    end = engine.time_of(engine.end_beat) - engine.origin + 2.0
    events = []
    for k, (name, late) in enumerate(plan):
        on = starts[k] + late
        off = starts[k + 1] + plan[k + 1][1] if k + 1 < len(plan) else end - 1.0
        for p in TypedChords.voicing(name):
            events += [(on, 1, p), (off - 0.02, 0, p)]
    out, pos = [], 0
    for t, on, p in sorted(events):
        due = int(t * SR)
        if due > pos:
            out.append(synth.render(due - pos))
            pos = due
        synth.noteon(0, p, 90) if on else synth.noteoff(0, p)
    out.append(synth.render(int(end * SR) - pos))
    synth.close()
    return np.concatenate(out)


def test_heard_chords_are_judged_right_wrong_and_late():
    from instrument.listen.stream import ListenStream

    chart = parse_chart(CHART)
    engine = PracticeEngine(chart, count_in_bars=1, metronome=False, heard=True)
    clock = [100.0]
    view = Quiet()
    loop = PracticeLoop(engine, view=view, clock=lambda: clock[0])
    loop.start()
    # Dm on time, G7 played as G (a triad: right for a heard chord), F instead of C
    # (wrong), Am 0.4 s late.
    plan = [("Dm", 0.0), ("G", 0.0), ("F", 0.0), ("Am", 0.4)]
    audio = render_performance(engine, plan)
    stream = ListenStream(now=lambda: clock[0], sample_rate=SR)
    stream.on_chord = HeardChords(loop.put).chord
    for i in range(0, len(audio) - BLOCK, BLOCK):
        clock[0] = engine.origin + (i + BLOCK) / SR
        stream.feed(audio[i : i + BLOCK], clock[0])
        loop.tick()
    stream.close()
    first = {r.target.index: r for r in view.results if r.attempt == 1}
    assert sorted(first) == [0, 1, 2, 3]
    assert [first[k].correct for k in range(4)] == [True, True, False, True]
    assert first[2].missing == triad_of(chart.spans[2].chord) - {5, 9, 0}  # heard F: no E, no G
    on_time = [first[k].timing_ms for k in (0, 1)]
    assert all(abs(t) < 200 for t in on_time), on_time
    assert first[3].timing_ms > 200, first[3].timing_ms
