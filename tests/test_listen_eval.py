"""The listener's evaluation: beat files, chord steadiness, change delays, unseen renders."""

from __future__ import annotations

import numpy as np
import pytest

from instrument.errors import InstrumentError
from instrument.listen.estimate import Estimate, Reference, chord_spans
from instrument.listen.evaluate import (
    change_delays,
    chord_steadiness,
    pool,
    read_beats,
    score,
    score_beats,
)


def _estimate(changes: list[tuple[float, str]], duration: float, beats=()) -> Estimate:
    iv, labels = chord_spans(changes, duration)
    return Estimate(np.asarray(beats, float), np.zeros(0), 120.0, iv, labels)


def test_read_beats_takes_the_first_column_and_rejects_junk(tmp_path):
    good = tmp_path / "a.beats"
    good.write_text("0.50 1\n1.00 2\n\n1.50 3\n")
    assert read_beats(good).tolist() == [0.5, 1.0, 1.5]
    for text in ("", "0.5\n", "1.0\n0.5\n", "x y\n1 2\n", "0.5\nnan\n"):
        bad = tmp_path / "b.beats"
        bad.write_text(text)
        with pytest.raises(InstrumentError, match="not a beat annotation file"):
            read_beats(bad)
    with pytest.raises(InstrumentError):
        read_beats(tmp_path / "missing.beats")


def test_score_beats_perfect_and_half_tempo():
    ref = np.arange(0.0, 30.0, 0.5)  # 120 BPM
    exact = score_beats(ref, 120.0, Estimate(ref, np.zeros(0), 120.0, np.zeros((0, 2)), []))
    assert exact["beat_f"] == pytest.approx(1.0) and exact["tempo_acc1"] == 1.0
    half = score_beats(ref, 120.0, Estimate(ref[::2], np.zeros(0), 60.0, np.zeros((0, 2)), []))
    assert half["beat_f"] < 0.7 and half["tempo_acc1"] == 0.0 and half["tempo_acc2"] == 1.0


def test_chord_steadiness_counts_flicker():
    steady = _estimate([(1.0, "C:maj"), (5.0, "G:maj")], 60.0)
    s = chord_steadiness(steady, 60.0)
    assert s["changes_per_min"] == pytest.approx(2.0) and s["short_chords"] == 0.0
    flicker = _estimate([(1.0 + 0.1 * k, "C:maj" if k % 2 else "A:min") for k in range(40)],
                        60.0)  # fmt: skip
    f = chord_steadiness(flicker, 60.0)
    assert f["changes_per_min"] == pytest.approx(40.0)
    assert f["short_chords"] > 0.9  # all but the first (N) and the last span


def _ref(changes: list[tuple[float, str]], duration: float) -> Reference:
    times = [t for t, _ in changes] + [duration]
    iv = np.array([[times[i], times[i + 1]] for i in range(len(changes))])
    beats = np.arange(0.0, duration, 0.5)
    return Reference(beats, beats[::4], iv, [c for _, c in changes], duration, 120.0)


def test_change_delays_measure_when_the_new_chord_is_named():
    ref = _ref([(0.0, "C:maj"), (2.0, "G:maj"), (4.0, "G:7"), (6.0, "A:min")], 8.0)
    # G named 0.12 s late, the G7 (same chord under majmin) not a change, A:min never named.
    est = _estimate([(0.05, "C:maj"), (2.12, "G:maj"), (6.3, "F:maj")], 8.0)
    delays, n = change_delays(ref, est)
    assert n == 2 and delays == [pytest.approx(0.12)]
    row = score(ref, est)
    p = pool([row])
    assert p["change_delay_median"] == pytest.approx(0.12) and p["changes_named"] == 0.5
    assert p["changes_within_1.5x"] == 1.0  # 3 changes against 3 in the annotation


def test_unseen_variation_is_fixed_per_song_and_keeps_drums():
    from instrument.listen.renders import OTHER_PROGRAMS, variation_for

    a, b = variation_for("002"), variation_for("002")
    assert a == b and variation_for("003") != a
    assert len(a.programs) == 16 and all(p in OTHER_PROGRAMS for p in a.programs)
    assert 0.08 <= a.echo_s <= 0.3 and 0 < a.echo_gain < 0.5


def test_unseen_soundfont_missing_is_one_clear_error(tmp_path):
    from instrument.listen.renders import unseen_soundfont

    with pytest.raises(InstrumentError, match="unseen SoundFont not found"):
        unseen_soundfont(tmp_path / "nope.sf2")


def test_stretched_time_speeds_up_only_after_the_change():
    from instrument.listen.renders import stretched_time

    assert stretched_time(35.0, 30.0, None) == 35.0
    assert stretched_time(35.0, 30.0, (10.0, 1.1)) == 35.0  # before 30 + 10 s
    assert stretched_time(51.0, 30.0, (10.0, 1.1)) == pytest.approx(40.0 + 11.0 / 1.1)
    t = stretched_time(np.array([35.0, 51.0]), 30.0, (10.0, 0.9))
    assert t.tolist() == pytest.approx([35.0, 40.0 + 11.0 / 0.9])
