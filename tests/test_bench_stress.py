"""The stress benchmark's machinery (``bench/bench_stress.py``), briefly, under the tests' JACK.

What is checked is behaviour, never speed: the seeded playing is what the bench says it
is, the probe pitch reaches the probe part only (so its onset can be read on that part's
output), and a short run of both targets on the tests' JACK server fills every field of
the table and the verdict against plain FluidSynth.
"""

from __future__ import annotations

import math
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import bench_stress as b  # noqa: E402


def test_plan_is_seeded_dense_and_every_key_comes_up():
    events = b.plan(20.0, seed=1)
    assert events == b.plan(20.0, seed=1)
    assert events != b.plan(20.0, seed=2)
    assert [e.t for e in events] == sorted(e.t for e in events)
    ons = [e for e in events if e.data[0] == 0x90]
    assert 15 * 20 <= len(ons) <= 25 * 20  # about 20 notes/s (with the probes)
    dense = [e.data[1] for e in ons if not e.probe]
    assert min(dense) >= b.DENSE_LOW and max(dense) <= b.DENSE_HIGH
    probes = [e for e in ons if e.probe]
    assert probes and all(e.data[1] == b.PROBE_PITCH for e in probes)
    held: dict[int, int] = {}
    for e in events:  # every note-on has its note-off later
        if e.data[0] in (0x90, 0x80):
            held[e.data[1]] = held.get(e.data[1], 0) + (1 if e.data[0] == 0x90 else -1)
    assert all(v == 0 for v in held.values())
    assert any(e.data[0] == 0xE0 for e in events)  # bends, back to the centre at the end
    assert [e.data for e in events if e.data[0] == 0xE0][-1] == (0xE0, 0, 64)


def test_probe_notes_come_only_while_the_pedal_is_up():
    down = False
    for e in b.plan(20.0, seed=3):
        if e.data[:2] == (0xB0, 64):
            down = e.data[2] >= 64
        if e.probe:
            assert not down, e
    assert not down


def test_plain_target_gets_the_parts_channels():
    assert b.plain_channels((0x90, b.PROBE_PITCH, 110), True) == [(0x90, b.PROBE_PITCH, 110)]
    assert b.plain_channels((0x90, 70, 80), False) == [(0x91, 70, 80)]
    assert b.plain_channels((0x80, 50, 0), False) == [(0x82, 50, 0)]
    assert b.plain_channels((0x90, 41, 80), False) == [(0x93, 41, 80)]
    assert b.plain_channels((0xB0, 64, 127), False) == [(0xB0 | c, 64, 127) for c in range(4)]


def test_only_probe_notes_reach_the_probe_part(tmp_path):
    """The trained arranger and its zone fallback, on the bench's quartet: the probe
    pitch goes to the top part, no dense note does."""
    from instrument.arrange import make_arranger
    from instrument.arrange.base import Note
    from instrument.arrange.zone import ZoneArranger
    from instrument.ensemble import load_ensemble

    ensemble = load_ensemble(b.stress_ensemble(tmp_path))
    zone = ZoneArranger(ensemble)
    assert zone.part_of(b.PROBE_PITCH) == 0
    assert all(zone.part_of(p) != 0 for p in range(b.DENSE_LOW, b.DENSE_HIGH + 1))
    arranger = make_arranger("lstm", ensemble)
    arranger.use_time_guard(False)  # the model decides every note: the same run each time
    parts: dict[bool, set[int]] = {True: set(), False: set()}
    sounding: dict[int, int] = {}
    for e in b.plan(30.0, seed=1):
        if e.data[0] == 0x90:
            part = arranger.assign(Note(e.data[1], e.data[2], e.t))
            parts[e.probe].add(part)
            sounding[e.data[1]] = part
        elif e.data[0] == 0x80 and e.data[1] in sounding:
            arranger.release(e.data[1], sounding.pop(e.data[1]), e.t)
    assert parts[True] == {0}
    assert 0 not in parts[False]


def test_a_short_run_fills_the_table(jack_server, tmp_path):
    """Plain FluidSynth and the app with everything running, 5 s each, on the tests'
    server: every field is there and the verdict is computed (its outcome is not a test)."""
    if shutil.which("fluidsynth") is None:
        pytest.skip("the fluidsynth CLI is not installed")
    from instrument.synth import find_soundfont

    seconds = 5.0
    results = b.run_targets(
        ["plain", "app"], jack_server.period, seconds, 1, tmp_path, find_soundfont()
    )
    assert [r.target for r in results] == ["plain", "app"]
    probes = sum(e.probe for e in b.plan(seconds, 1))
    for r in results:
        assert r.period == jack_server.period and r.seconds == seconds
        # a server that stopped (see bench_stress.Watchdog) ends the playing early
        assert r.probes + r.masked + r.missed == probes or r.stalled
        assert r.xruns >= 0
        assert len(b.row_cells(r)) == len(b.HEADER)
    plain, app = results
    assert plain.probes > 0 and math.isfinite(plain.p50) and plain.p50 <= plain.p99 <= plain.max
    assert plain.band_notes == -1 and not plain.stalled
    assert app.band_notes >= 0 or app.stalled  # the app told its band's figures
    (v,) = b.verdicts(results)
    assert (v.target, v.period) == ("app", jack_server.period)
    assert v.p99_bound == pytest.approx(1000.0 * jack_server.period / b.RATE)
    assert isinstance(v.passed, bool)
    md = b.markdown(results, "python bench/bench_stress.py --seconds 5", [0.0, 0.0])
    assert "| run | period | target |" in md and "app vs plain" in md and "Command:" in md


def test_repeats_are_judged_on_their_medians():
    """Three runs: each run's verdict pairs it with plain of the same run, the medians'
    verdict is on the middle value of each figure (one bad run does not decide it)."""

    def row(run: int, target: str, p50: float, p99: float, xruns: int) -> b.Result:
        return b.Result(64, target, 45.0, 900, 100, 2, 1, p50, p99, p99 + 1, xruns, 0.1,
                        -1 if target == "plain" else 300, run=run)  # fmt: skip

    results = [
        row(1, "plain", 1.0, 2.0, 100), row(1, "app", 1.05, 2.5, 105),
        row(2, "plain", 1.0, 2.0, 100), row(2, "app", 1.5, 9.0, 400),  # one bad run
        row(3, "plain", 1.0, 2.0, 90), row(3, "app", 1.02, 2.2, 95),
    ]  # fmt: skip
    per_run = b.verdicts(results)
    assert [(v.run, v.passed) for v in per_run] == [(1, True), (2, False), (3, True)]
    med = b.medians(results)
    assert [(r.run, r.target) for r in med] == [(0, "plain"), (0, "app")]
    assert (med[1].p50, med[1].p99, med[1].xruns) == (1.05, 2.5, 105)
    assert med[1].probes == 300 and med[1].band_notes == 300
    (v,) = b.verdicts(med)
    assert v.run == 0 and v.passed
    md = b.markdown(results, "python bench/bench_stress.py --repeats 3", [0.0, 0.0])
    assert "Medians over the 3 runs" in md and "medians over the runs, 64 frames" in md
