"""The listener as a beat clock: its beat count only moves forward, one beat at a time
(at most to the next bar line when the meter moves it), whatever the meter does."""

from __future__ import annotations

import numpy as np

from instrument.listen.tracker import BeatEvent, Listener

SR = 22050


def click_track(bpm: float, accents: list[int], seconds_each: float) -> np.ndarray:
    """Clicks at ``bpm``; a low, loud click on each bar's first beat, bars of ``accents[k]``
    beats for ``seconds_each`` s in turn."""
    period = 60.0 / bpm
    out, t0 = [], 0.0
    for beats in accents:
        n = int(seconds_each / period)
        x = np.zeros(int(n * period * SR), dtype=np.float32)
        for k in range(n):
            i = int(k * period * SR)
            down = k % beats == 0
            f, amp = (110.0, 0.9) if down else (880.0, 0.3)
            tt = np.arange(int(0.05 * SR)) / SR
            x[i : i + len(tt)] += amp * np.sin(2 * np.pi * f * tt) * np.exp(-tt * 60)
        out.append(x)
        t0 += len(x) / SR
    return np.concatenate(out)


def test_beat_count_never_runs_back_nor_leaps_when_the_meter_changes():
    audio = click_track(120.0, [4, 3, 4], 25.0)
    listener = Listener(SR)
    counts = []
    for i in range(0, len(audio), 1024):
        for e in listener.process(audio[i : i + 1024]):
            if isinstance(e, BeatEvent):
                counts.append(listener.state(e.t).beat)
    known = [c for c in counts if c >= 0]
    assert len(known) > 100
    steps = np.diff(known)
    assert steps.min() > 0, steps
    assert steps.max() <= 4 + 1e-6, steps.max()
