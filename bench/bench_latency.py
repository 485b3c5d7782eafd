"""Key-to-sound latency of `instrument play` beside plain FluidSynth, under JACK's dummy driver.

Both targets run side by side on one server. A probe client sends note-ons at exact
frames into each target's MIDI port in turn and records their audio; the latency of a note
is the distance in frames from the note-on to the first sample above a threshold. Both
targets use the same SoundFont, program (piano: the app's ensemble is the quartet with
every part set to program 0), gain and period. A dense phase (chords and runs at 20
notes/s, pedal, pitch bend) alternates between them in slices and counts the xruns during
each target's slices.

    .venv/bin/python bench/bench_latency.py [--notes 60] [--dense-seconds 300] [--display]
        [--arranger lstm] [--rounds 10] [--write]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _root import ROOT  # the repository root, also put on sys.path: for tests.support

from instrument.synth import find_soundfont
from tests.support.jackprobe import Probe, onset_latencies
from tests.support.jackserver import JackServer

RATE, PERIOD = 48000, 128
THRESHOLD = 0.005


def bench_ensemble(tmp: Path) -> Path:
    """The quartet (so its trained arranger is used) with every part on piano."""
    text = (ROOT / "configs/ensembles/quartet.toml").read_text()
    lines = [("program = 0" if ln.strip().startswith("program") else ln)
             for ln in text.splitlines()]
    path = tmp / "quartet.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def start_plain(soundfont: Path) -> tuple[subprocess.Popen, str, str]:
    proc = subprocess.Popen(
        ["fluidsynth", "-a", "jack", "-m", "jack", "-g", "0.6", "-r", str(RATE),
         "-z", str(PERIOD), "-c", "2", "-o", "audio.jack.id=fluidsynth-plain",
         "-o", "midi.jack.id=fluidsynth-plain", "-o", "audio.jack.autoconnect=0", str(soundfont)],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return proc, "fluidsynth-plain:midi_00", "fluidsynth-plain:left"


def start_app(ensemble: Path, arranger: str, display: bool) -> tuple[subprocess.Popen, str, str]:
    cmd = [sys.executable, "-m", "instrument", "play", "--audio", "jack", "--ensemble",
           str(ensemble), "--arranger", arranger, "--period", str(PERIOD)]
    env = dict(os.environ, SDL_VIDEODRIVER="dummy")
    if not display:
        cmd.append("--no-display")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env, cwd=ROOT)
    return proc, "instrument:midi_00", "instrument:left"


def wait_ports(probe: Probe, names: list[str], proc: subprocess.Popen, timeout=60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        have = {p.name for p in probe.client.get_ports()}
        if all(n in have for n in names):
            time.sleep(1.0)  # let the target finish its start-up work
            return
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise SystemExit(f"target exited during start-up: {err[-500:]}")
        time.sleep(0.1)
    raise SystemExit(f"ports {names} did not appear")


def wait_silence(probe: Probe, channel: int, seconds: float = 0.05,
                 timeout: float = 5.0) -> None:  # fmt: skip
    deadline = time.monotonic() + timeout
    while (time.monotonic() < deadline
           and probe.level(int(seconds * RATE), channel) > THRESHOLD / 10):  # fmt: skip
        time.sleep(0.01)


def feed(probe: Probe, midi_in: str) -> None:
    """Route the probe's MIDI to ``midi_in`` only."""
    for port in probe.client.get_all_connections(probe.midi_out):
        probe.client.disconnect(probe.midi_out, port)
    probe.client.connect(probe.midi_out, midi_in)


def latencies(probe: Probe, channel: int, notes: int, rng: np.random.Generator) -> np.ndarray:
    """Single notes, one at a time after silence: ms from note-on to sound."""
    sent = []
    for _ in range(notes):
        pitch = int(rng.integers(48, 84))
        wait_silence(probe, channel)
        sent.append(probe.send([0x90, pitch, 100], delay_frames=int(rng.integers(0, PERIOD))))
        time.sleep(0.15)
        probe.send([0x80, pitch, 0])
        time.sleep(0.15)
    wait_silence(probe, channel)
    lat = onset_latencies(probe.audio()[:, channel], probe.start_frame, sent, THRESHOLD,
                          early=PERIOD)  # fmt: skip
    return lat * 1000.0 / RATE


def measure(targets: list[tuple[str, tuple]], notes: int, dense_seconds: float, rounds: int,
            seed: int) -> list[dict]:  # fmt: skip
    """Both targets run side by side on one server for the whole measurement.

    Latency is measured on each in turn; the dense phase alternates between them in
    ``rounds`` slices, so that whatever else the machine is doing falls on both alike.
    """
    names = [name for name, _ in targets]
    procs = [target for _, target in targets]
    probe = Probe("probe", n_inputs=len(targets),
                  seconds=2 * dense_seconds + len(targets) * notes * 0.5 + 60)  # fmt: skip
    rng = np.random.default_rng(seed)
    results = [{"name": n, "xruns": 0, "dense_notes": 0} for n in names]
    try:
        probe.activate()
        for (proc, midi_in, audio_out), channel in zip(procs, range(len(procs)), strict=True):
            wait_ports(probe, [midi_in, audio_out], proc)
            probe.client.connect(audio_out, probe.inputs[channel])
        for k, (_, midi_in, _) in enumerate(procs):
            feed(probe, midi_in)
            ms = latencies(probe, k, notes, rng)
            ok = ms[~np.isnan(ms)]
            results[k].update(n=len(ok), missed=int(np.isnan(ms).sum()),
                              median=float(np.median(ok)), p90=float(np.percentile(ok, 90)),
                              max=float(ok.max()))  # fmt: skip
        slice_seconds = dense_seconds / rounds
        for _ in range(rounds):
            for k, (_, midi_in, _) in enumerate(procs):
                feed(probe, midi_in)
                before = probe.xruns
                results[k]["dense_notes"] += play_dense(probe, slice_seconds, rng)
                results[k]["xruns"] += probe.xruns - before
    finally:
        probe.close()
        for proc, _, _ in procs:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    for r in results:
        r["dense_seconds"] = dense_seconds
    return results


def play_dense(probe: Probe, seconds: float, rng: np.random.Generator) -> int:
    """Chords and runs at about 20 notes/s, with sustain pedal and pitch bend."""
    if seconds <= 0:
        return 0
    end = time.monotonic() + seconds
    count, step = 0, 0
    held: list[tuple[int, int]] = []  # (release frame, pitch)
    frame = probe.now() + PERIOD * 4
    while time.monotonic() < end:
        if step % 8 == 0:  # a chord every 8 steps
            root = int(rng.integers(48, 60))
            pitches = [root, root + 4, root + 7, root + 12]
        else:
            pitches = [int(rng.integers(60, 90))]
        for p in pitches:
            probe.send([0x90, p, int(rng.integers(60, 120))], at=frame)
            held.append((frame + int(rng.integers(2400, 19200)), p))
            count += 1
        if step % 40 == 0:
            probe.send([0xB0, 64, 127 if (step // 40) % 2 == 0 else 0], at=frame)
        if step % 10 == 5:
            probe.send([0xE0, 0, int(rng.integers(48, 80))], at=frame)
        for r in [h for h in held if h[0] <= frame]:
            probe.send([0x80, r[1], 0], at=r[0])
            held.remove(r)
        frame += int(RATE / 20 * len(pitches))
        step += 1
        # stay about a quarter second ahead of the JACK clock
        while frame - probe.now() > RATE // 4:
            time.sleep(0.01)
    for r, p in held:
        probe.send([0x80, p, 0], at=max(r, probe.now() + PERIOD))
    probe.send([0xB0, 64, 0])
    time.sleep(0.5)
    return count


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=60)
    ap.add_argument("--dense-seconds", type=float, default=300)
    ap.add_argument("--display", action="store_true", help="run the app with its stage window")
    ap.add_argument("--arranger", default="lstm")
    ap.add_argument("--rounds", type=int, default=10,
                    help="dense phase: slices alternating between the targets")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--write", action="store_true", help="write docs/benchmarks.md")
    args = ap.parse_args()
    soundfont = find_soundfont()
    with tempfile.TemporaryDirectory() as tmp, JackServer(name=f"bench-{os.getpid()}"):
        ensemble = bench_ensemble(Path(tmp))
        app_name = (f"instrument play ({args.arranger}"
                    f"{', display 60 fps' if args.display else ', no display'})")
        results = measure([("plain fluidsynth", start_plain(soundfont)),
                           (app_name, start_app(ensemble, args.arranger, args.display))],
                          args.notes, args.dense_seconds, args.rounds, args.seed)
    plain, app = results
    header = f"{'target':44} {'n':>4} {'median':>8} {'p90':>8} {'max':>8} {'xruns':>6}"
    print(header)
    for r in results:
        print(f"{r['name']:44} {r['n']:4d} {r['median']:8.3f} {r['p90']:8.3f} {r['max']:8.3f} "
              f"{r['xruns']:6d}")
    d_med, d_p90 = app["median"] - plain["median"], app["p90"] - plain["p90"]
    print(f"app - plain: median {d_med:+.3f} ms (target <= 0.5), p90 {d_p90:+.3f} ms "
          f"(target <= 1.0); xruns {app['xruns']} vs {plain['xruns']} "
          f"over {args.dense_seconds:.0f} s dense")
    if args.write:
        write_report(results, args)


def write_report(results: list[dict], args: argparse.Namespace) -> None:
    from instrument.report import markdown_table, write_section

    plain, app = results
    rows = [[r["name"], r["n"], r["median"], r["p90"], r["max"], r["xruns"], r["dense_notes"]]
            for r in results]
    table = markdown_table(["target", "notes", "median ms", "p90 ms", "max ms",
                            f"xruns ({args.dense_seconds:.0f} s dense)", "dense notes"], rows)
    md = f"""## Key-to-sound latency (`instrument play` vs plain FluidSynth)

JACK dummy driver, {RATE} Hz, {PERIOD}-frame periods; same SoundFont ({find_soundfont().name}),
program (piano), gain 0.6. Latency = frames from the probe's note-on to the first output
sample above {THRESHOLD}; both targets are measured the same way, so the difference is
what the app adds. Dense phase: chords and runs at ~20 notes/s with pedal and pitch bend,
alternating between the two targets (both running throughout) in {args.rounds} slices each.

{table}

Difference app - plain: median {app['median'] - plain['median']:+.3f} ms (target <= +0.5),
p90 {app['p90'] - plain['p90']:+.3f} ms (target <= +1.0); xruns {app['xruns']} vs
{plain['xruns']}.

Command: `.venv/bin/python bench/bench_latency.py --notes {args.notes} --dense-seconds
{args.dense_seconds:.0f} --arranger {args.arranger}{' --display' if args.display else ''}
--rounds {args.rounds} --write`. Machine: {platform.machine()} {os.cpu_count()}-core VM, Python
{platform.python_version()}, no sound card. Date: {time.strftime('%Y-%m-%d')}.
"""
    key = "play-latency-display" if args.display else "play-latency"
    write_section("benchmarks.md", key, md)


if __name__ == "__main__":
    main()
