"""The performance model on a small hand-made score: chord orders and spreads, tempo,
unisons struck once, keys never struck twice while held, pedal, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from instrument.arrange.performance import (
    ORDERS,
    SPREAD_MAX_S,
    chord_ids,
    keyboard_events,
    perform,
    score_performance,
)
from instrument.datasets.corpus import Piece

SEC = 60.0 / 90.0  # a quarter note of a score piece, in seconds


def hand_made() -> Piece:
    """Eight four-part chords, a quarter note each; chord 3 has a unison (A and T on 64);
    the last chord is a half note."""
    chords = [
        (72, 67, 64, 48), (74, 67, 62, 47), (76, 64, 64, 45), (74, 65, 62, 50),
        (72, 64, 60, 52), (71, 62, 55, 43), (72, 64, 55, 48), (72, 64, 55, 36),
    ]  # fmt: skip
    rows, part = [], []
    for g, chord in enumerate(chords):
        length = 2.0 if g == len(chords) - 1 else 1.0
        for k, pitch in enumerate(chord):
            rows.append((g * SEC, (g + length) * SEC, pitch, 64))
            part.append(k)
    return Piece.from_notes("hand", ("S", "A", "T", "B"), np.array(rows, float), np.array(part))


@pytest.mark.parametrize("order", ORDERS)
def test_each_chord_arrives_spread_in_the_order_asked(order):
    piece = hand_made()
    perf = perform(piece, np.random.default_rng(3), order)
    assert len(perf) == len(piece) - 1  # the unison is struck once
    assert np.all(np.diff(perf.time) >= 0)
    chord = chord_ids(piece.time)[perf.source]
    orders_seen = set()
    for g in range(8):
        members = np.flatnonzero(chord == g)
        times, pitches = perf.time[members], perf.pitch[members]
        assert times.max() - times.min() <= 0.07  # spread + melody lead, never more
        arrival = pitches[np.argsort(times, kind="stable")]
        if order == "low-high":
            assert list(arrival) == sorted(arrival)
        elif order == "high-low":
            assert list(arrival) == sorted(arrival, reverse=True)
        orders_seen.add(tuple(np.argsort(arrival)))
    if order == "random":
        assert len(orders_seen) > 2  # not one fixed roll


def test_spreads_follow_the_measured_range():
    piece = hand_made()
    rng = np.random.default_rng(0)
    spreads = []
    for _ in range(50):
        perf = perform(piece, rng, "random")
        chord = chord_ids(piece.time)[perf.source]
        for g in range(8):
            t = perf.time[chord == g]
            spreads.append(t.max() - t.min())
    spreads = np.array(spreads)
    assert spreads.max() <= SPREAD_MAX_S + 1e-9
    assert 0.005 < np.median(spreads) < 0.02  # Repp 1996: about 10-20 ms


def test_melody_lead_is_about_25_ms():
    piece = hand_made()
    rng = np.random.default_rng(1)
    leads = []
    for _ in range(30):
        perf = perform(piece, rng, "high-low")
        chord = chord_ids(piece.time)[perf.source]
        for g in range(8):
            m = np.flatnonzero(chord == g)
            top = m[np.argmax(perf.pitch[m])]
            rest = m[m != top]
            leads.append(perf.time[rest].min() - perf.time[top])
    assert 0.015 < np.mean(leads) < 0.035  # Goebl 2001: ~20-30 ms


def test_unison_is_struck_once_and_right_in_either_voice():
    piece = hand_made()
    perf = perform(piece, np.random.default_rng(2), "random")
    uni = np.flatnonzero(perf.alt_part >= 0)
    assert len(uni) == 1
    i = uni[0]
    assert perf.pitch[i] == 64 and {perf.part[i], perf.alt_part[i]} == {1, 2}
    assert perf.right(np.where(np.arange(len(perf)) == i, 1, perf.part))[i]
    assert perf.right(np.where(np.arange(len(perf)) == i, 2, perf.part))[i]
    assert not perf.right(np.where(np.arange(len(perf)) == i, 0, perf.part))[i]


def test_tempo_stays_in_60_to_140_bpm_give_or_take_rubato():
    piece = hand_made()
    for seed in range(20):
        perf = perform(piece, np.random.default_rng(seed), "random")
        first = perf.time[chord_ids(piece.time)[perf.source] == 0].min()
        last = perf.time[chord_ids(piece.time)[perf.source] == 7].min()
        bpm = 60.0 * 7 / (last - first)
        assert 40 < bpm < 180


def test_a_key_is_released_before_it_is_struck_again():
    piece = hand_made()
    for seed in range(10):
        perf = perform(piece, np.random.default_rng(seed), "random")
        assert np.all(perf.end > perf.time)
        for p in np.unique(perf.pitch):
            idx = np.flatnonzero(perf.pitch == p)
            assert np.all(perf.end[idx[:-1]] <= perf.time[idx[1:]])


def test_seed_fixes_the_performance_and_pedal_events_pair_up():
    piece = hand_made()
    a = perform(piece, np.random.default_rng(7), "random")
    b = perform(piece, np.random.default_rng(7), "random")
    np.testing.assert_array_equal(a.time, b.time)
    np.testing.assert_array_equal(a.part, b.part)
    pedals = [perform(piece, np.random.default_rng(s)).pedal for s in range(10)]
    assert any(len(p) for p in pedals) and any(not len(p) for p in pedals)
    for p in pedals:
        if len(p):
            assert p[-1, 1] == 0 and set(p[:, 1]) <= {0.0, 127.0}
    events = keyboard_events(a)
    assert sum(1 for _, d in events if d[0] == 0x90) == len(a)
    assert [t for t, _ in events] == sorted(t for t, _ in events)


def test_score_performance_keeps_every_note_low_to_high():
    piece = hand_made()
    perf = score_performance(piece)
    assert len(perf) == len(piece)
    assert perf.right(piece.part).all()
