"""What each part output adds to the per-note path: ``Performer.handle`` timed per message.

Three set-ups play the same seeded stream (notes, pedal, bend, mod wheel) through the zone
arranger on the quartet: FluidSynth alone (as ``play`` without options), FluidSynth plus
``--midi-out`` (rtmidi over a private JACK dummy server, a virtual port), and both plus
the take recorder's audio log (``--record``). The synth does not render (no audio
driver): what is timed is the Python path a MIDI message takes in the MIDI thread.

    .venv/bin/python bench/bench_outputs.py [--events 20000] [--write]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import _root  # noqa: F401 - the repository root on sys.path, for tests.support
import numpy as np

from instrument.arrange import make_arranger
from instrument.ensemble import load_ensemble
from instrument.live.midiout import MidiOut
from instrument.live.outputs import PartOutputs
from instrument.live.performer import Performer
from instrument.live.record import TakeAudio
from instrument.report import write_section
from instrument.synth import Synth, find_soundfont
from tests.support.jackserver import JackServer

BEGIN, END = "<!-- BEGIN outputs -->", "<!-- END outputs -->"  # write_section's markers


def stream(n: int, seed: int = 16) -> list[list[int]]:
    """Note pairs with a controller every few notes: a keyboard's stream."""
    rng = np.random.default_rng(seed)
    out: list[list[int]] = []
    while len(out) < n:
        pitch = int(rng.integers(36, 96))
        out.append([0x90, pitch, int(rng.integers(40, 127))])
        r = rng.random()
        if r < 0.1:
            out.append([0xB0, 64, 127 if rng.random() < 0.5 else 0])
        elif r < 0.2:
            out.append([0xE0, 0, int(rng.integers(0, 128))])
        elif r < 0.25:
            out.append([0xB0, 1, int(rng.integers(0, 128))])
        out.append([0x80, pitch, 0])
    return out[:n]


def time_handle(performer: Performer, events: list[list[int]]) -> np.ndarray:
    """Microseconds per ``handle`` call."""
    took = np.empty(len(events))
    clock = time.perf_counter_ns
    for i, data in enumerate(events):
        t0 = clock()
        performer.handle(data, i * 0.01)
        took[i] = (clock() - t0) / 1e3
        if i % 512 == 0:
            performer.panic()  # keep FluidSynth's voice pool from filling: it never renders
    return took


LABELS = (
    "FluidSynth",
    "FluidSynth + --midi-out (JACK)",
    "FluidSynth + --midi-out + --record audio log",
)


def build(soundfont, quartet) -> tuple[list[Performer], list, list[TakeAudio]]:
    """One performer per set-up of LABELS, its outputs open; returns the performers, the
    closers (in the order to call them) and the take recorders to render between slices."""
    bands, closers, takes = [], [], []
    for label in LABELS:
        synth = Synth(soundfont)
        outputs = PartOutputs(synth)
        bands.append(Performer(outputs, quartet, make_arranger("zone", quartet)))
        closers.append(synth.close)
        if "midi-out" in label:
            out = MidiOut("virtual", "jack")
            out.open()
            outputs.add(out)
            closers.insert(0, out.close)
        if "record" in label:
            take = TakeAudio(
                Path(f"/tmp/bench-outputs-{os.getpid()}.wav"),
                soundfont,
                48000,
                0.6,
                quartet,
                time.monotonic(),
                time.monotonic,
            )
            outputs.add(take)
            takes.append(take)
            closers.insert(
                0, lambda take=take: (take.finish(time.monotonic()), os.unlink(take.path))
            )
    return bands, closers, takes


def report(rows: list[tuple], events: int, load: float) -> str:
    """The section "outputs" of docs/benchmarks.md; rows: (label, median, p99, max µs)."""
    return "\n".join(
        [
            "## Part outputs: the per-message cost of --midi-out and --record",
            "",
            f"`Performer.handle` timed per message over {events} messages (notes, pedal,",
            "bend, mod wheel; seeded), zone arranger on the quartet, FluidSynth not rendering:",
            "the Python path a message takes in the MIDI thread with each set of outputs.",
            "The three run in interleaved slices of 1000 messages; the max is the machine's",
            f"(a shared VM, load average {load:.1f} at the start): preemption, not the code.",
            "",
            "| outputs | median µs | p99 µs | max µs |",
            "|---|---|---|---|",
            *[f"| {r[0]} | {r[1]:.1f} | {r[2]:.1f} | {r[3]:.0f} |" for r in rows],
            "",
            f"Command: `.venv/bin/python bench/bench_outputs.py --events {events} --write`.",
            f"Machine: {platform.machine()} {os.cpu_count()}-core VM shared with other jobs, "
            f"Python {platform.python_version()}. Date: {time.strftime('%Y-%m-%d')}.",
        ]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = ap.parse_args()
    soundfont = find_soundfont()
    quartet = load_ensemble("quartet")
    events = stream(args.events)
    load = os.getloadavg()[0]
    with JackServer(name=f"bench-outputs-{os.getpid()}"):
        bands, closers, takes = build(soundfont, quartet)
        for band in bands:
            time_handle(band, events[:2000])  # warm-up
        # Interleaved slices: a busy moment of the shared machine falls on all three alike.
        took: list[list[np.ndarray]] = [[] for _ in LABELS]
        for start in range(0, len(events), 1000):
            for k, band in enumerate(bands):
                took[k].append(time_handle(band, events[start : start + 1000]))
            for take in takes:  # as the recorder's writer thread does, between slices
                take.render_until(time.monotonic())
        for close in closers:
            close()
    rows = []
    for label, slices in zip(LABELS, took, strict=True):
        t = np.concatenate(slices)
        rows.append((label, np.median(t), np.percentile(t, 99), t.max()))
    text = report(rows, args.events, load)
    print("\n".join([BEGIN, text, END]))  # as the section reads in docs/benchmarks.md
    if args.write:
        write_section("benchmarks.md", "outputs", text)


if __name__ == "__main__":
    main()
