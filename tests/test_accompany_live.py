"""The live band's timing and behaviour: clock, tap tempo, count-in, sync start, fingered
chords, continuation that starts when the player stops and stops when they play again.

The band runs its real worker (``Band.step``) and dispatcher (``Dispatcher.dispatch``) on
a virtual clock, so the tests are exact and independent of machine speed. The synth is a
recorder standing in for FluidSynth, because the test must see what was sent and when.
"""

from __future__ import annotations

import pytest

from instrument.accompany.band import Band, band_channels
from instrument.accompany.clock import InternalClock, TapTempo
from instrument.accompany.fingered import FingeredChords, match_chord
from instrument.accompany.notes import BASS, COMP, MELODY, ChordTrack
from instrument.accompany.offline import PlayerNote, accompany, chart_track
from instrument.accompany.planner import BandPlanner
from instrument.accompany.styles import make_style
from instrument.errors import InstrumentError
from instrument.harmony.chart import parse_chart
from tests.support.fakes import SilentSynth

CH = band_channels(None)


class RecordingSynth(SilentSynth):
    """Records (time, kind, channel, pitch) of what the band sends."""

    def __init__(self, now):
        self.now = now
        self.events: list[tuple[float, str, int, int]] = []

    def noteon(self, channel, pitch, velocity):
        self.events.append((self.now(), "on", channel, pitch))

    def noteoff(self, channel, pitch):
        self.events.append((self.now(), "off", channel, pitch))

    def ons(self, part):
        return [(t, p) for t, k, ch, p in self.events if k == "on" and ch == CH[part]]


class VirtualTime:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def run(band, clock_time, until, inputs=(), tick=0.005):
    """Advance virtual time to ``until``, feeding (time, fn, args) inputs when due."""
    pending = sorted(inputs, key=lambda x: x[0])
    while clock_time.t < until:
        while pending and pending[0][0] <= clock_time.t:
            _, fn, args = pending.pop(0)
            fn(*args)
        band.step()
        band.dispatcher.dispatch(clock_time.t)
        clock_time.t += tick


def make_band(chords=None, style="block", count_in=0, detector=None, tempo=120.0, **kw):
    now = VirtualTime()
    clock = InternalClock(tempo, 4, count_in_bars=count_in)
    planner = BandPlanner(
        chords if chords is not None else ChordTrack(),
        4,
        make_style(style),
        count_in=count_in * 4,
        **kw,
    )
    synth = RecordingSynth(now)
    band = Band(synth, clock, planner, detector, now=now, sync_start=detector is not None)
    return band, clock, synth, now


# -- the clock ------------------------------------------------------------------------------
def test_internal_clock_count_in_and_tempo_change():
    clock = InternalClock(120, 4, count_in_bars=1)
    assert not clock.running and clock.state(5.0).beat == -4
    clock.start(10.0)
    assert clock.state(10.0).beat == -4
    assert clock.state(12.0).beat == pytest.approx(0.0)  # count-in: one bar at 120 BPM
    s = clock.state(12.25)
    assert s.beat == pytest.approx(0.5) and s.next_beat_time == pytest.approx(12.5)
    clock.set_tempo(60, 13.0)  # at beat 2
    assert clock.state(14.0).beat == pytest.approx(3.0)  # no jump, then one beat per second
    assert clock.time_of(4.0) == pytest.approx(15.0)
    with pytest.raises(InstrumentError):
        clock.set_tempo(0, 14.0)


def test_tap_tempo():
    taps = TapTempo()
    assert taps.tap(0.0) is None
    assert taps.tap(0.5) == pytest.approx(120)
    assert taps.tap(1.0) == pytest.approx(120)
    assert taps.tap(5.0) is None  # a long pause starts a new series
    assert taps.tap(5.4) == pytest.approx(150)


def test_tap_changes_running_clock_and_pulls_phase():
    clock = InternalClock(120, 4)
    clock.start(0.0)
    for t in (10.0, 10.8, 11.6, 12.4):  # 75 BPM taps
        clock.tap(t)
    assert clock.tempo == pytest.approx(75)
    assert clock.state(13.2).beat - clock.state(12.4).beat == pytest.approx(1.0)
    clock = InternalClock(120, 4)
    clock.start(0.0)
    clock.tap(10.05)
    clock.tap(10.55)  # a tap a fifth of a beat late: the beat moves onto the tap
    assert clock.state(10.55).beat == pytest.approx(21.0)


def test_tap_tempo_slows_the_band():
    chords = chart_track(parse_chart("| C | C | C | C | C | C | C | C | C | C |"))
    band, clock, synth, now = make_band(chords, continue_beats=0)
    clock.start(0.5)
    taps = [(t, clock.tap, (t,)) for t in (4.5, 5.5, 6.5, 7.5)]  # 60 BPM, on beats
    run(band, now, 14.0, taps)
    assert clock.tempo == pytest.approx(60)
    times = [t for t, _ in synth.ons(COMP)]
    gaps = [(a, b) for a, b in zip(times, times[1:], strict=False) if b - a > 0.1]
    early = [b - a for a, b in gaps if b < 4.0]
    late = [b - a for a, b in gaps if a > 9.0]
    assert early and all(d == pytest.approx(0.5, abs=0.011) for d in early)  # 120 BPM
    assert late and all(d == pytest.approx(1.0, abs=0.011) for d in late)  # after the taps
    assert band.stats.late_notes == 0 and band.stats.late_plans == 0


def test_count_in_clicks_then_band():
    chords = chart_track(parse_chart("| C | F |"))
    band, clock, synth, now = make_band(chords, count_in=1, continue_beats=0)
    clock.start(0.5)
    run(band, now, 4.0)
    clicks = [t for t, k, ch, p in synth.events if k == "on" and ch == 9 and t < 2.5]
    assert [round(t, 2) for t in clicks] == [0.5, 1.0, 1.5, 2.0]
    assert min(t for t, _ in synth.ons(BASS)) == pytest.approx(2.5, abs=0.006)


# -- fingered chords ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "keys, name",
    [
        ([48, 52, 55], "C"),
        ([52, 55, 60], "C/E"),
        ([43, 48, 52], "C/G"),
        ([45, 48, 52, 55], "Am7"),
        ([48, 52, 55, 57], "C6"),
        ([50, 53, 57, 60], "Dm7"),
        ([43, 47, 50, 53], "G7"),
        ([47, 50, 53], "Bdim"),
        ([48, 55], "C5"),
    ],
)
def test_fingered_chord_names(keys, name):
    chord, tones = match_chord(keys)
    assert chord.name == name
    assert {k % 12 for k in keys} <= set(tones.pcs)


def test_fingered_hold_settle_and_crossing_melody():
    d = FingeredChords(split=60, settle=0.03)
    for k in (48, 52, 55):
        d.note_on(k, 1.0)
    assert d.chord(1.01) is None  # still settling (a rolled chord is read once)
    assert d.chord(1.05)[0].name == "C"
    for k in (48, 52, 55):
        d.note_off(k, 2.0)
    assert d.chord(2.5)[0].name == "C"  # held after release
    for k in (48, 52, 55):
        d.note_on(k, 3.0)
    d.note_on(53, 3.1)  # a melody note dips into the lower zone: C E F G is no chord
    assert d.chord(3.5)[0].name == "C"
    d.note_on(72, 3.6)  # upper zone: ignored
    assert d.chord(3.7)[0].name == "C"
    d.note_off(53, 3.8)
    for k in (48, 52, 55):
        d.note_off(k, 3.8)
    for k in (53, 57, 60 - 12):
        d.note_on(k, 4.0)
    assert d.chord(4.1)[0].name == "F/C"


def test_sync_start_and_chord_change_replans():
    detector = FingeredChords(split=60)
    band, clock, synth, now = make_band(detector=detector, continue_beats=0)
    run(band, now, 1.0)
    assert not clock.running and synth.events == []  # waits for the first chord
    press_c = [(1.0, band.note_on, (k, 80, 1.0)) for k in (48, 52, 55)]
    # F major from t = 3.0 (beat 4 at 120 BPM after the start at 1.0)
    change = [(2.9, band.note_off, (k, 2.9)) for k in (48, 52, 55)]
    press_f = [(3.0, band.note_on, (k, 80, 3.0)) for k in (53, 57, 60 - 12)]
    run(band, now, 5.0, press_c + change + press_f)
    assert clock.running
    bass = synth.ons(BASS)
    # the band starts with the chord: its settle time (30 ms) + at most a worker tick
    assert 1.03 <= bass[0][0] <= 1.036
    assert all(p % 12 in (0, 7) for t, p in bass if t < 2.95)
    assert all(p % 12 in (5, 0, 9) for t, p in bass if t > 3.06) and bass[-1][0] > 3.5
    comp_after = [p % 12 for t, p in synth.ons(COMP) if t > 3.06]
    assert comp_after and set(comp_after) <= {5, 9, 0}
    assert band.stats.late_notes == 0


def test_sync_start_puts_the_band_on_the_players_beat():
    """The chord's strike is beat 0: the band's first notes sound as soon as the chord is
    read (its settle time), and every later beat falls on the player's grid, to the ms."""
    detector = FingeredChords(split=60)
    band, clock, synth, now = make_band(detector=detector, continue_beats=0)
    strike = 1.0
    press = [(strike, band.note_on, (k, 80, strike)) for k in (48, 52, 55)]
    run(band, now, 4.0, press, tick=0.001)
    first = min(t for t, k, ch, p in synth.events if k == "on")
    assert first - strike <= detector.settle + 0.002  # not the ~100 ms of a late start
    assert {p % 12 for t, p in synth.ons(BASS) if t < strike + 0.1} <= {0, 7}  # C's bass
    spb = 60.0 / 120.0
    later = [t for t, k, ch, p in synth.events if k == "on" and t > strike + 0.1]
    assert later
    offsets = [(t - strike) / spb - round((t - strike) / spb * 2) / 2 for t in later]
    assert max(abs(o) * spb for o in offsets) <= 0.0011  # on the beat (or its half), +-1 ms
    assert band.stats.late_notes == 0


# -- continuation -----------------------------------------------------------------------------
PHRASE = [PlayerNote(b, b + 1, p, 90) for b, p in enumerate([72, 74, 76, 77, 79, 77, 76, 74])]


def test_continuation_offline_starts_after_silence_and_stops_on_player():
    chords = chart_track(parse_chart("| C | F | G | C | Am | F | G | C |"))
    planner = BandPlanner(chords, 4, make_style("block"), continue_after=1.0, continue_beats=16)
    back = [PlayerNote(20.0, 21.0, 72, 90), PlayerNote(21.0, 22.0, 74, 90)]
    band = accompany(PHRASE + back, planner, 32)
    melody = [n for n in band if n.part == MELODY]
    assert melody
    assert min(n.onset for n in melody) >= 9.0  # the player's last note ended at beat 8
    first = [n for n in melody if n.onset < 20]
    assert first and max(n.onset + n.duration for n in first) <= 20.0 + 1e-9
    assert not [n for n in melody if 20 <= n.onset < 23]  # none over the player
    # after the player's second phrase ends (22), the band answers again
    assert any(n.onset >= 23 for n in melody)


def test_continuation_beats_limit_and_off():
    chords = chart_track(parse_chart("| C | F | G | C | C | C |"))
    planner = BandPlanner(chords, 4, make_style("arpeggio"), continue_beats=4)
    melody = [n for n in accompany(PHRASE, planner, 24) if n.part == MELODY]
    assert {int(n.onset) for n in melody} == {10, 11, 12, 13}
    planner = BandPlanner(chords, 4, make_style("arpeggio"), continue_beats=0)
    assert not [n for n in accompany(PHRASE, planner, 24) if n.part == MELODY]


def test_continuation_live_cancelled_when_player_returns():
    chords = chart_track(parse_chart("| C | F | G | C | Am | F | G | C |"))
    band, clock, synth, now = make_band(chords, continue_after=1.0, continue_beats=16)
    clock.start(0.5)  # beat b at 0.5 + b/2 s
    t = lambda beat: 0.5 + beat / 2  # noqa: E731
    notes = [(t(n.onset), band.note_on, (n.pitch, 90, t(n.onset))) for n in PHRASE]
    notes += [(t(n.end) - 0.01, band.note_off, (n.pitch, t(n.end) - 0.01)) for n in PHRASE]
    back = t(14.25)  # the player plays again, off the beat
    notes += [(back, band.note_on, (60, 90, back)), (back + 0.2, band.note_off, (60, back + 0.2))]
    run(band, now, t(18), notes)
    cont = synth.ons(MELODY)
    assert cont and min(tm for tm, _ in cont) >= t(9.0) - 1e-6
    assert any(tm < back for tm, _ in cont)
    # nothing while the player plays (their note ends at beat 14.65: the band may answer
    # again from beat 16)
    assert not [tm for tm, _ in cont if back <= tm < t(16)]
    sounding: dict[int, int] = {}
    for tm, kind, ch, pitch in synth.events:
        if ch == CH[MELODY] and tm <= back + 0.006:
            sounding[pitch] = sounding.get(pitch, 0) + (1 if kind == "on" else -1)
    assert all(v <= 0 for v in sounding.values())  # what was sounding is ended at once
    assert band.stats.late_notes == 0


def test_listened_chords_drive_the_band():
    """The listener's chord labels feed the chord track. The listener itself needs audio;
    this stand-in exposes the same ``chord`` label and ``state`` clock it does."""
    from instrument.accompany.band import ListenedChords

    class HeardLabels:
        chord = "N"

        def __init__(self):
            self.clock = InternalClock(120, 4)

        def state(self, now):
            return self.clock.state(now)

    heard = HeardLabels()
    heard.clock.start(0.5)
    now = VirtualTime()
    planner = BandPlanner(ChordTrack(), 4, make_style("block"), continue_beats=0)
    synth = RecordingSynth(now)
    band = Band(synth, heard, planner, ListenedChords(heard), now=now, sync_start=False)

    def hear(label):
        heard.chord = label

    run(band, now, 4.0, [(1.0, hear, ("A:min",)), (2.5, hear, ("N",)), (3.0, hear, ("F:maj",))])
    bass = synth.ons(BASS)
    assert bass and all(p % 12 in (9, 4) for t, p in bass if t < 2.95)  # A minor, held over N
    assert any(p % 12 == 5 for t, p in bass if t >= 3.0)


def test_jam_command_runs_with_a_chart(tmp_path, capsys):
    """``instrument jam`` end to end with its real threads, no audio device (--audio none)."""
    from instrument.cli import main
    from instrument.synth import find_soundfont

    try:
        find_soundfont()
    except InstrumentError as e:
        pytest.skip(str(e))
    chart = tmp_path / "c.txt"
    chart.write_text("tempo: 150\n| C | Am | F | G |\n| C | Am | F | G |\n")
    code = main(
        [
            "jam",
            "--chart",
            str(chart),
            "--style",
            "block",
            "--audio",
            "none",
            "--midi-in",
            "none",
            "--duration",
            "3",
            "--no-display",  # the terminal's bar lines are what this test reads
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "bar 1 [A]" in out and "| C C C C | next: Am Am Am Am |" in out
    sent = int(out.split(" notes sent")[0].split()[-1])
    assert sent > 10
