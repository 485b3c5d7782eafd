"""Jam-mode speed: planning time per beat, and whether anything is ever late.

1. Time to plan one beat of all parts (continuation: melody, bass, comping by the model,
   drums by the rules), p50/p99 over beats of POP909 test songs; the rule-based styles
   alongside. Target: p99 <= 20 ms on CPU.
2. A simulated 10-minute jam at 120 and 180 BPM through the real ``Band`` worker
   (``Band.step``): the player plays POP909 test melodies in phrases of 8 bars with 4-bar
   rests (so continuation starts and stops), over the songs' chords. Time is virtual
   between worker passes (5 ms ticks) but every planning call costs its real measured
   time, so a slow plan makes the worker late exactly as it would live. Counted: late plans
   (replaced by the rule-based beat) and late notes (already due when their plan was
   ready; dropped).
   The synth is a stand-in that only counts (no audio device here).
3. A real-time run of the threaded band (planner worker + dispatcher) for ``--realtime``
   seconds at 120 BPM: how late each note-on left the dispatcher, p50/p99.

Usage: ``python bench/bench_accompany.py [--minutes 10] [--realtime 30] [--no-write]``
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time

import _root  # noqa: F401 - the repository root on sys.path, for tests.support
import numpy as np
import torch

from instrument.accompany.band import Band
from instrument.accompany.clock import InternalClock
from instrument.accompany.data import load_grid_split
from instrument.accompany.evaluate import player_of
from instrument.accompany.generator import ModelGenerator
from instrument.accompany.model import load_model
from instrument.accompany.notes import ChordTrack
from instrument.accompany.options import DEFAULT_MODEL
from instrument.accompany.planner import BandPlanner
from instrument.accompany.styles import STYLES, make_style
from instrument.live.realtime import set_switch_interval
from instrument.report import markdown_table, write_section
from tests.support.fakes import SilentSynth


class CountingSynth(SilentSynth):
    """Stands in for FluidSynth (no audio device on the benchmark machine): counts calls."""

    def __init__(self) -> None:
        self.notes = 0

    def noteon(self, channel: int, pitch: int, velocity: int) -> None:
        self.notes += 1

    def noteoff(self, channel: int, pitch: int) -> None:
        pass

    def cc(self, channel: int, control: int, value: int) -> None:
        pass

    def program(self, channel: int, program: int) -> None:
        pass


def per_beat_times(songs, model, beats: int) -> tuple[dict, dict]:
    """Per planner: (wall-clock ms per beat, CPU ms per beat). The CPU time shows the cost
    on an unshared core; the wall-clock time includes waiting for the shared machine."""
    out, cpu = {}, {}
    for name in ["model", *STYLES]:
        times, cpus = [], []
        for song in songs:
            gen = ModelGenerator(model) if name == "model" else None
            planner = BandPlanner(
                song.chords,
                song.beats_per_bar,
                make_style("block" if name == "model" else name),
                gen,
                continue_after=0.0,
                continue_beats=10**6,
            )
            player = player_of(song, 16)
            for n in player:
                planner.player_on(n.pitch, n.onset)
                planner.player_off(n.pitch, n.end)
            for b in range(16, min(song.n_beats, 16 + beats // len(songs))):
                t, c = time.perf_counter(), time.process_time()
                planner.plan(b, b - 1.0)  # continuation: every part
                times.append(time.perf_counter() - t)
                cpus.append(time.process_time() - c)
        out[name] = np.array(times) * 1e3
        cpu[name] = np.array(cpus) * 1e3
    return out, cpu


def phrase_player(songs, tempo: float, seconds: float):
    """(time s, is_on, pitch, velocity) events and the chord track of a long jam built from
    songs played back to back; the player plays 8 bars, rests 4."""
    events, changes, offset = [], [], 0
    spb = 60.0 / tempo
    k = 0
    while offset * spb < seconds:
        song = songs[k % len(songs)]
        k += 1
        bpb = song.beats_per_bar
        for start, tones in zip(song.chords.starts, song.chords.tones, strict=True):
            changes.append((offset + start, tones))
        for n in player_of(song):
            if (n.onset // bpb) % 12 < 8:
                events.append(((offset + n.onset) * spb, 1, n.pitch, 90))
                events.append(((offset + n.end) * spb, 0, n.pitch, 0))
        offset += song.n_beats
    events.sort()
    return events, ChordTrack(changes)


def simulate(songs, model, tempo: float, minutes: float, tick: float = 0.005) -> dict:
    seconds = minutes * 60
    events, chords = phrase_player(songs, tempo, seconds)
    clock = InternalClock(tempo, 4)
    planner = BandPlanner(
        chords, 4, make_style("block"), ModelGenerator(model), continue_after=1.0, continue_beats=8
    )
    virtual = [0.0]
    mark = [time.perf_counter()]

    def now() -> float:  # virtual time + real time spent inside the current worker pass
        return virtual[0] + (time.perf_counter() - mark[0])

    synth = CountingSynth()
    band = Band(synth, clock, planner, None, now=now, sync_start=False)
    clock.start(60.0 / tempo)  # the first beat one beat after the start, as live
    i = 0
    while virtual[0] < seconds:
        while i < len(events) and events[i][0] <= virtual[0]:
            t, on, pitch, vel = events[i]
            (band.note_on(pitch, vel, t) if on else band.note_off(pitch, t))
            i += 1
        mark[0] = time.perf_counter()
        band.step()
        band.dispatcher.dispatch(now())
        virtual[0] = now() + tick
    s = band.stats
    plans = np.array(s.plan_seconds) * 1e3
    return {
        "tempo": tempo,
        "minutes": minutes,
        "beats": s.beats_planned,
        "late_plans": s.late_plans,
        "late_notes": s.late_notes,
        "notes": synth.notes,
        "plan_p50_ms": float(np.percentile(plans, 50)),
        "plan_p99_ms": float(np.percentile(plans, 99)),
        "plan_max_ms": float(plans.max()),
    }


def realtime(songs, model, seconds: float, tempo: float = 120.0) -> dict:
    events, chords = phrase_player(songs, tempo, seconds)
    clock = InternalClock(tempo, 4)
    planner = BandPlanner(
        chords, 4, make_style("block"), ModelGenerator(model), continue_after=1.0, continue_beats=8
    )
    synth = CountingSynth()
    band = Band(synth, clock, planner, None, sync_start=False)
    t0 = time.monotonic() + 0.2
    clock.start(t0)
    band.start()
    for t, on, pitch, vel in events:
        if t > seconds:
            break
        delay = t0 + t - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        (band.note_on(pitch, vel) if on else band.note_off(pitch))
    time.sleep(max(0.0, t0 + seconds - time.monotonic()))
    band.stop()
    lat = np.array(band.dispatcher.stats.lateness) * 1e3
    return {
        "seconds": seconds,
        "tempo": tempo,
        "notes": int(len(lat)),
        "late_plans": band.stats.late_plans,
        "late_notes": band.stats.late_notes,
        "dispatch_p50_ms": float(np.percentile(lat, 50)),
        "dispatch_p99_ms": float(np.percentile(lat, 99)),
        "dispatch_max_ms": float(lat.max()),
    }


def beat_table(times: dict, cpu: dict) -> tuple[list[str], list[list]]:
    """The header and rows of the per-beat planning times (ms), one row per planner."""
    rows = [
        [
            name,
            len(t),
            float(np.percentile(t, 50)),
            float(np.percentile(t, 99)),
            float(t.max()),
            float(np.percentile(cpu[name], 50)),
            float(np.percentile(cpu[name], 99)),
        ]
        for name, t in times.items()
    ]
    beat_header = [
        "planner",
        "beats",
        "wall p50 ms",
        "wall p99 ms",
        "wall max ms",
        "CPU p50 ms",
        "CPU p99 ms",
    ]
    return beat_header, rows


def sim_table(sims: list[dict]) -> tuple[list[str], list[list]]:
    """The header and rows of the simulated jams, one row per tempo."""
    sim_rows = [
        [
            f"{s['tempo']:g}",
            f"{s['minutes']:g}",
            s["beats"],
            s["notes"],
            s["late_plans"],
            s["late_notes"],
            s["plan_p50_ms"],
            s["plan_p99_ms"],
            s["plan_max_ms"],
        ]
        for s in sims
    ]
    sim_header = [
        "BPM",
        "minutes",
        "beats",
        "notes",
        "late plans",
        "late notes",
        "plan p50 ms",
        "plan p99 ms",
        "plan max ms",
    ]
    return sim_header, sim_rows


def realtime_section(rt: dict | None) -> list[str]:
    """The markdown lines of the real-time run's table (none without a run)."""
    if not rt:
        return []
    header = [
        "notes",
        "late plans",
        "late notes",
        "dispatch p50 ms",
        "dispatch p99 ms",
        "dispatch max ms",
    ]
    row = [
        rt["notes"],
        rt["late_plans"],
        rt["late_notes"],
        rt["dispatch_p50_ms"],
        rt["dispatch_p99_ms"],
        rt["dispatch_max_ms"],
    ]
    return [
        f"### Real-time run ({rt['seconds']:g} s at {rt['tempo']:g} BPM, threads)",
        "",
        markdown_table(header, [row]),
        "",
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--beats", type=int, default=600, help="beats timed per system")
    ap.add_argument("--minutes", type=float, default=10.0, help="simulated jam length")
    ap.add_argument("--realtime", type=float, default=30.0, help="seconds of real-time run")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    set_switch_interval()  # as instrument jam does (live.realtime)
    model = load_model(args.model)
    songs = load_grid_split("test", limit=12)
    load = os.getloadavg()[0]

    times, cpu = per_beat_times(songs, model, args.beats)
    beat_header, rows = beat_table(times, cpu)
    print(markdown_table(beat_header, rows), flush=True)
    sims = [simulate(songs, model, tempo, args.minutes) for tempo in (120.0, 180.0)]
    sim_header, sim_rows = sim_table(sims)
    print(markdown_table(sim_header, sim_rows), flush=True)
    rt = realtime(songs, model, args.realtime) if args.realtime > 0 else None
    if rt:
        print(rt, flush=True)
    load_after = os.getloadavg()[0]
    p99 = float(np.percentile(times["model"], 99))
    p99_cpu = float(np.percentile(cpu["model"], 99))
    md = "\n".join(
        [
            "## Jam mode (accompany): planning speed and lateness",
            "",
            f"Machine: {platform.machine()} 2-core CPU VM, no GPU, shared with other jobs "
            f"(load average {load:.1f} at start, {load_after:.1f} at end); torch "
            f"{torch.__version__}, {args.threads} thread. "
            f"Date {datetime.date.today().isoformat()}.",
            "",
            "### One beat of all parts (model: melody continuation + bass + comping, rules: drums)",
            "",
            markdown_table(beat_header, rows),
            "",
            f"Target p99 <= 20 ms: wall-clock {'met' if p99 <= 20 else 'NOT met'} (model p99 "
            f"{p99:.1f} ms on the shared machine); CPU time p99 {p99_cpu:.1f} ms "
            f"({'met' if p99_cpu <= 20 else 'NOT met'}). GPU: none available to this run.",
            "",
            "### Simulated 10-minute jams (real Band worker, virtual time between passes)",
            "",
            markdown_table(sim_header, sim_rows),
            "",
            "Each beat is planned one beat ahead; a plan not ready 50 ms before its beat is "
            "replaced by the rule-based beat (late plan), and a note already due when its plan "
            "is ready is dropped (late note).",
            "",
            *realtime_section(rt),
            "Command: `python bench/bench_accompany.py"
            + (f" --minutes {args.minutes:g}" if args.minutes != 10 else "")
            + (f" --realtime {args.realtime:g}" if args.realtime != 30 else "")
            + "`",
        ]
    )
    if not args.no_write:
        write_section("benchmarks.md", "accompany", md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
