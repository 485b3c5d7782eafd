"""Jam sync start and the band on the player's beat, measured on a recorded take.

``instrument jam`` runs as a user would (its real threads; ``--audio none --midi-in none``,
block style, fingered chords): a MIDI file plays the left hand in, a chord per bar at a
steady tempo, and ``--record`` keeps the take. From the take's files (the player's
``input.mid`` and the band's ``band.mid``, one time line) it reports

* sync start: the band's first note-on after the player's first chord (ms);
* on the beat: each later band note-on's distance to the player's grid (the first chord
  and its tempo; half beats count, block style plays eighths), median, p95, max (ms).

    .venv/bin/python bench/bench_jam_sync.py [--bars 12] [--tempo 100]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import mido
import numpy as np
from _root import ROOT  # the repository root, also put on sys.path

from instrument.input.feeder import write_keyboard_file

CHORDS = [[48, 52, 55], [45, 48, 52], [41, 45, 48], [43, 47, 50]]  # C Am F G, left hand


def chords_file(path: Path, bars: int, tempo: float, lead: float = 1.0) -> Path:
    spb = 60.0 / tempo
    notes = []
    for k in range(bars):
        t = lead + 4 * spb * k
        notes += [(t, t + 3.5 * spb, p, 90) for p in CHORDS[k % 4]]
    return write_keyboard_file(path, notes)


def onsets(path: Path) -> list[float]:
    """Seconds of every note-on in a MIDI file (its tempo map honoured)."""
    t, out = 0.0, []
    for msg in mido.MidiFile(path):  # playback order, times in seconds
        t += msg.time
        if msg.type == "note_on" and msg.velocity:
            out.append(t)
    return sorted(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bars", type=int, default=12)
    ap.add_argument("--tempo", type=float, default=100.0)
    args = ap.parse_args()
    spb = 60.0 / args.tempo
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        played = chords_file(tmp / "chords.mid", args.bars, args.tempo)
        cmd = [
            sys.executable,
            "-m",
            "instrument",
            "jam",
            "--style",
            "block",
            "--audio",
            "none",
            "--midi-in",
            "none",
            "--no-display",
            "--tempo",
            f"{args.tempo:g}",
            "--continue-beats",
            "0",
            "--play-file",
            str(played),
            "--record",
            str(tmp),
            "--duration",
            f"{1.5 + args.bars * 4 * spb:.2f}",
        ]
        subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        take = next(tmp.glob("take-*"))
        player = onsets(take / "input.mid")
        band = onsets(take / "band.mid")
    first = player[0]
    start_ms = (band[0] - first) * 1e3
    later = np.array([t for t in band if t > first + 0.1])
    half = spb / 2
    offsets = (later - first) - np.round((later - first) / half) * half
    dev = np.abs(offsets) * 1e3
    grid = dev <= 2.0
    late = offsets[~grid] * 1e3
    print(f"chords: {args.bars} bars at {args.tempo:g} BPM; band note-ons {len(band)}")
    print(f"sync start: first band note {start_ms:.1f} ms after the player's first chord")
    print(
        f"on the beat: {grid.mean():.1%} of later band note-ons within 2 ms of the player's "
        f"grid (median |offset| {np.median(dev[grid]):.2f} ms, max {dev[grid].max():.2f} ms)"
    )
    if len(late):
        print(
            f"the rest ({len(late)}): bass and comping restruck for a new chord, "
            f"median {np.median(late):+.1f} ms after its beat (the chord is read then)"
        )


if __name__ == "__main__":
    main()
