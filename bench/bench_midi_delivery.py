"""Whether every MIDI message gets through: a keyboard into the app into an external synth,
on JACK2's default (asynchronous) server and on a synchronous one (``jackd -S``), side by
side in one run.

A probe (compiled process callback) plays note pairs every 40 ms into ``instrument play
--midi-out ext-synth`` (quartet, zone split); a tap (compiled too) stands for the synth
and keeps what arrives. Two inputs: FluidSynth's JACK MIDI port (``--audio jack``) and the
MIDI-out-only set-up (``--audio none``, rtmidi's port). Counted: the note-ons and
note-offs that reached the tap, and the xruns the server reported while the notes were
played. It decides which server the tests run on (``tests/conftest.py``): a test of one
note cannot tell a message the server dropped from one the app lost.

    .venv/bin/python bench/bench_midi_delivery.py [--notes 300] [--repeats 2] [--write]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import _root  # noqa: F401 - the repository root on sys.path, for tests.support

from instrument.report import run_line, write_section
from tests.support.jackclients import start_app, stop_app, wait_for_app, wait_for_play
from tests.support.jackprobe import MidiTap, Probe
from tests.support.jackserver import JackServer

PORTS = {"jack": "instrument:midi_00", "none": "instrument-midi:in"}


def deliver(audio: str, notes: int) -> tuple[int, int, int]:
    """(note-ons, note-offs) that reached the synth of ``notes`` pairs sent, and the
    server's xruns meanwhile, on the server ``$JACK_DEFAULT_SERVER`` names."""
    tap = MidiTap("ext-synth").activate()
    flags = f"play --no-display --ensemble quartet --arranger zone --audio {audio} "
    app = start_app(*(flags + "--midi-api jack --midi-out ext-synth").split())
    keys = Probe("keys", n_inputs=0).activate()
    try:
        wait_for_app(app, [PORTS[audio]], 60)
        keys.connect_to(PORTS[audio], [])
        wait_for_play(app, 60)
        time.sleep(1.0)
        xruns, before = keys.xruns, len(tap.seen())
        for i in range(notes):
            pitch = 40 + i % 40
            keys.send([0x90, pitch, 90])
            time.sleep(0.02)
            keys.send([0x80, pitch, 0])
            time.sleep(0.02)
        time.sleep(1.0)
        heard = tap.seen()[before:]
        ons = sum(1 for m in heard if m[0] & 0xF0 == 0x90)
        offs = sum(1 for m in heard if m[0] & 0xF0 == 0x80)
        return ons, offs, keys.xruns - xruns
    finally:
        keys.close()
        stop_app(app)
        tap.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=300, help="note pairs per run")
    ap.add_argument("--repeats", type=int, default=2, help="runs of each set-up")
    ap.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = ap.parse_args()
    rows = []
    for repeat in range(args.repeats):  # interleaved: a busy spell falls on every set-up
        for synchronous in (False, True):
            for audio in ("jack", "none"):
                name = f"bench-delivery-{os.getpid()}-{repeat}"
                with JackServer(name=name, synchronous=synchronous):
                    ons, offs, xruns = deliver(audio, args.notes)
                rows.append((synchronous, audio, ons, offs, xruns))
                print(rows[-1], flush=True)
    lines = [
        "## MIDI delivery: asynchronous and synchronous JACK servers",
        "",
        f"{run_line('bench/bench_midi_delivery.py', sys.argv[1:])}, "
        f"{args.notes} note pairs per run, {args.repeats} runs of each set-up.",
        "",
        "| server | app input | note-ons lost | note-offs lost | xruns per run |",
        "|---|---|---|---|---|",
    ]
    for synchronous in (False, True):
        for audio in ("jack", "none"):
            mine = [r for r in rows if r[0] == synchronous and r[1] == audio]
            lost_on = " / ".join(str(args.notes - r[2]) for r in mine)
            lost_off = " / ".join(str(args.notes - r[3]) for r in mine)
            xr = " / ".join(str(r[4]) for r in mine)
            server = "`jackd -S` (synchronous)" if synchronous else "`jackd` (asynchronous)"
            port = "FluidSynth's port" if audio == "jack" else "rtmidi's port (`--audio none`)"
            lines.append(f"| {server} | {port} | {lost_on} | {lost_off} | {xr} |")
    lines += [
        "",
        "Lost: played by the probe, never heard by the tap. On the asynchronous server a cycle",
        "that the stalled graph did not finish in time loses the MIDI of the client still",
        "running; the synchronous driver waits for it, so the loss goes, the xruns stay.",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section("benchmarks.md", "midi-delivery", text)


if __name__ == "__main__":
    main()
