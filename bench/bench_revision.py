"""Decide at once, then correct: what the chord revision buys and what it costs.

    .venv/bin/python bench/bench_revision.py [--ensemble choir] [--pieces 8]

Test pieces are played by the performance model (random arrival order, seeded), written
as keyboard MIDI files and rendered through the live path (``instrument render``'s
``render_file``: the real Performer, FluidSynth) twice: with the LSTM's revisions (the
default) and without. Reported:

- accuracy of what sounded first (the note-on's part) and of the final parts, read back
  from the rendering's arranged notes;
- notes moved by a revision, and how late the moved note's new attack comes after its
  key went down (the revision happens when a later note of the chord arrives);
- the audible difference: the two renderings' onset envelopes (spectral flux, 10 ms
  frames) compared on the frames around moved notes, and the whole-take level
  difference between the two renderings;
- added key-to-sound latency: none by construction (the note sounds on its first
  decision before any revision); the decision's cost is bench/bench_arrange_step.py's
  ``assign`` row and the key-to-sound path is bench/bench_latency.py's.

Writes docs/benchmarks.md (section arrange-revision).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import tempfile
from pathlib import Path

import mido
import numpy as np

from instrument.arrange.neural import LSTMArranger
from instrument.arrange.performance import keyboard_events, perform
from instrument.datasets.corpus import load_pieces
from instrument.ensemble import load_ensemble
from instrument.live.render import render_file
from instrument.report import markdown_table, write_section
from instrument.synth import find_soundfont

DATASET = {"choir": "bach", "quartet": "quartet"}


def write_performance(perf, path: Path) -> None:
    """A performance as a one-track keyboard MIDI file (120 BPM, 960 ticks a second)."""
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    last = 0
    for t, data in keyboard_events(perf):
        tick = int(round(t * 960))
        track.append(mido.Message.from_bytes(data, time=tick - last))
        last = tick
    mid.save(path)


def flux(audio: np.ndarray, rate: int, hop_s: float = 0.01) -> np.ndarray:
    """Spectral flux per 10 ms frame of the mono mix (positive magnitude changes)."""
    mono = audio.mean(axis=1)
    hop = int(rate * hop_s)
    n = len(mono) // hop - 1
    frames = np.lib.stride_tricks.sliding_window_view(mono, 2 * hop)[::hop][:n]
    mag = np.abs(np.fft.rfft(frames * np.hanning(2 * hop), axis=1))
    return np.r_[0.0, np.maximum(np.diff(mag, axis=0), 0).sum(axis=1)]


def compare_renderings(perf, out: dict, stats: dict, delays: list, near: list, level: list):
    """Add one piece's two renderings (``out[True]`` with revisions, ``out[False]``
    without) to the tallies: right notes at the note-on and at the end (``stats``), the
    re-attack delays of moved notes (ms), the onset-flux change around each move, and the
    level of the renderings' difference (dB)."""
    # the rendered onsets are the file's ticks (960 a second)
    key = {
        (round(round(float(t) * 960) / 960, 3), int(q)): k
        for k, (t, q) in enumerate(zip(perf.time, perf.pitch, strict=True))
    }

    def right(k: int | None, part: int) -> bool:
        return k is not None and (part == perf.part[k] or part == perf.alt_part[k])

    first_part = {}  # what sounded at the note-on: the part before the first move
    for on, _, pitch, old, _ in out[True].moves:
        first_part.setdefault((round(on, 3), pitch), old)
    for on, _, pitch, _, part in out[True].notes:
        k = key.get((round(on, 3), pitch))
        stats["final"] += right(k, part)
        stats["first"] += right(k, first_part.get((round(on, 3), pitch), part))
    for on, _, pitch, _, part in out[False].notes:
        stats["norev"] += right(key.get((round(on, 3), pitch)), part)
    stats["notes"] += len(perf)
    delays += [1e3 * (when - on) for on, when, _, _, _ in out[True].moves]
    a, b = out[True], out[False]
    m = min(len(a.audio), len(b.audio))
    fa, fb = flux(a.audio[:m], a.sample_rate), flux(b.audio[:m], b.sample_rate)
    for on, when, _, _, _ in a.moves:
        lo, hi = int(on / 0.01), int(when / 0.01) + 5
        near.append(abs(fa[lo:hi].sum() - fb[lo:hi].sum()) / max(fb[lo:hi].sum(), 1e-9))
    diff = a.audio[:m] - b.audio[:m]
    level.append(10 * np.log10((diff**2).mean() / max((b.audio[:m] ** 2).mean(), 1e-12)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ensemble", default="choir", choices=sorted(DATASET))
    ap.add_argument("--pieces", type=int, default=8)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    ens = load_ensemble(args.ensemble)
    sf = find_soundfont()
    pieces = load_pieces(DATASET[args.ensemble], "test", limit=args.pieces)
    stats = {"first": 0, "final": 0, "norev": 0, "notes": 0}
    delays, near, level = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i, p in enumerate(pieces):
            perf = perform(p, np.random.default_rng([0, i]), "random")
            path = Path(tmp) / f"{i}.mid"
            write_performance(perf, path)
            out = {}
            for revise in (True, False):
                arranger = LSTMArranger(ens, revise=revise)
                out[revise] = render_file(path, ens, arranger, sf)
            compare_renderings(perf, out, stats, delays, near, level)
    n = stats["notes"]
    d = np.array(delays) if delays else np.zeros(1)
    with_revisions = [
        "with revisions (default)",
        f"{100 * stats['first'] / n:.2f}",
        f"{100 * stats['final'] / n:.2f}",
        f"{100 * len(delays) / n:.1f}",
        f"{np.percentile(d, 50):.1f} / {np.percentile(d, 90):.1f} / {d.max():.1f}",
        f"{100 * np.median(near) if near else 0:.0f}%",
        f"{np.mean(level):.1f} dB",
    ]
    norev = f"{100 * stats['norev'] / n:.2f}"
    rows = [with_revisions, ["without revisions", norev, norev, "0", "—", "—", "—"]]
    header = [
        "arranger",
        "first (sounds at note-on) %",
        "final (recorded) %",
        "notes moved %",
        "re-attack after key p50 / p90 / max ms",
        "onset-flux change near moves",
        "difference of the renderings",
    ]
    table = markdown_table(header, rows)
    print(table)
    if not args.no_write:
        text = section(ens, len(pieces), args.pieces, table)
        write_section("benchmarks.md", f"arrange-revision-{ens.name}", text)
    return 0


def section(ens, n_pieces: int, pieces_option: int, table: str) -> str:
    """The docs/benchmarks.md section: what was rendered and compared, the table, the
    command."""
    return "\n".join(
        [
            "## Chord revision: decide at once, then correct",
            "",
            f"Ensemble `{ens.name}`, the first {n_pieces} test pieces played by the "
            "performance model (random arrival order, seed 0), written as keyboard MIDI "
            "and rendered through the live path (`render_file`: Performer + FluidSynth) "
            "with the LSTM's revisions and without. Accuracies are read back from the "
            "rendered notes. A moved note sounds first on its first part, then is "
            "re-attacked on its final part when a later note of its chord arrives: the "
            "re-attack column. Onset-flux change: the relative change of the spectral "
            "flux (10 ms frames) between the two renderings from the moved note's key "
            "to 50 ms after its re-attack (median over moves). Difference: the energy "
            "of the difference of the two renderings relative to the rendering without "
            "revisions. Added key-to-sound latency: none (the note sounds on its first "
            "decision; `assign` cost in the table above, the audio path in "
            "`bench/bench_latency.py`).",
            "",
            table,
            "",
            f"Command: `.venv/bin/python bench/bench_revision.py --ensemble {ens.name} "
            f"--pieces {pieces_option}`; {datetime.date.today().isoformat()}; "
            f"{platform.machine()} {os.cpu_count()}-core CPU VM (shared), no GPU.",
        ]
    )


if __name__ == "__main__":
    raise SystemExit(main())
