"""Stress: key-to-sound latency and xruns of the app, everything running, beside FluidSynth.

One run, for each JACK period asked (default 64 and 128 frames, 48 kHz, dummy driver: a
fresh server per period), measures each target in turn on that server, alone, so that the
server's xruns belong to it:

* ``plain``: the ``fluidsynth`` CLI (same SoundFont, gain, and programs on the channels
  the app's parts use; one JACK output per channel, as the app's ``--multi-out``);
* ``app``: ``instrument jam --multi-out --listen`` with the stage window at 60 fps (SDL's
  dummy video driver), the listener hearing a file (a test song written to WAV and played
  by this bench into the app's audio input, looped), the band playing on what it hears,
  and a deliberate GIL hog in the app's process (``INSTRUMENT_GIL_HOG=1``,
  ``instrument/gil_hog.py``): a Python thread spinning in pure Python;
* ``plain-busy``, an anchor: ``plain`` with a process beside it spinning in pure Python,
  the hog's load without the app (on a virtual machine a busy virtual CPU answers the
  server's wake-up sooner than one halted in idle, so load alone changes the xruns);
* ``app-no-hog`` and ``app-no-display``: the same without the hog, and without the window
  nor the hog; ``app-no-listen``: without the listener (the band follows the keys);
  ``app-no-band``: ``instrument play`` with the window and the hog (to tell the costs
  apart);
* ``plain-listen``: ``plain`` with ``instrument listen`` on the same server, hearing the
  file (the listener's capture client and its work, without the app).

Each target gets the same seeded playing (``plan``): a dense phase at ~20 notes/s of runs
and four-note chords, sustain pedal down and up every 1.6 s, pitch-bend gestures, and
probe notes in it. Probe notes have a pitch of their own (104) that only the probe part
can take: the bench's quartet (every part on piano) gives the top part the range 100-108
and one voice, the others their own ranges below and 12 voices, and the dense notes stay
at or below 73 (the quartet's learned zone split sends 74 and up to the top part when the
time guard falls back). The plain target gets the probe notes on channel 1 and the dense
notes split by pitch over channels 2-4, as the app's parts are; pedal and bend go to all
four, as the app sends them. The probe's latency is measured on the probe part's own output
(``instrument:violin-i_l``, ``fluidsynth-plain:l_00``): frames from the note-on the probe
client sent to the first sample above the threshold. A probe note whose part was not
silent just before it (or that another part took) is left out and counted.

Xruns: the probe client's JACK xrun callback, over each target's dense phase. Targets
(issue 13), at 64 frames, ``app`` against ``plain``: median within 0.1 ms, p99 within one
period, xruns at most plain's + 10 %.

    .venv/bin/python bench/bench_stress.py [--seconds 45] [--periods 64,128]
        [--targets plain,app] [--seed 1] [--repeats 1] [--write]

With ``--repeats N`` the whole run is made N times (fresh servers each time); the verdict
(and the exit status) is on the medians over the runs, each run's own verdict listed too.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from _root import ROOT  # the repository root, also put on sys.path: for tests.support

from instrument.listen.jackinput import CLIENT_NAME as LISTEN_CLIENT
from tests.support.jackprobe import Probe, onset_latencies
from tests.support.jackserver import JackServer

RATE = 48000
PROBE_PITCH, PROBE_VELOCITY, PROBE_HOLD = 104, 110, 0.06  # s held
PROBE_RANGE = (100, 108)  # the probe part's range: nothing else reaches it
DENSE_LOW, DENSE_HIGH = 40, 73  # dense notes (see the module doc for 73)
PEDAL_SPAN = 1.6  # s down, then s up, in turn
PROBE_GAP = 0.3  # s between probe notes (they come only while the pedal is up)
THRESHOLD = 0.005  # onset: first sample above this on the probe part's output
PART_RANGES = ((55, 84), (48, 80), (36, 72))  # the three other parts, top to bottom
TARGETS = ("plain", "plain-busy", "plain-listen", "app", "app-no-hog", "app-no-display",
           "app-no-listen", "app-no-band")  # fmt: skip
REFERENCES = ("plain", "plain-busy")  # the targets the app is checked against
PLAIN = ("plain", "plain-busy", "plain-listen")  # plain FluidSynth, with or without company


# -- the playing ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Event:
    """One message of the plan: ``t`` s from the phase's start; probe: a probe note-on."""

    t: float
    data: tuple[int, ...]
    probe: bool = False


def plan(seconds: float, seed: int) -> list[Event]:
    """The seeded dense phase with its probe notes, time-ordered (channel 1 throughout).

    About 20 notes/s; every key is released, and pedal and bend are at rest, by the end.
    """
    rng = np.random.default_rng(seed)
    events: list[Event] = []
    t, step = 0.2, 0
    while t < seconds - 0.5:
        if step % 8 == 0:  # a chord every 8 steps
            root = int(rng.integers(DENSE_LOW, DENSE_HIGH - 12 - 7 + 1))
            pitches = [root, root + 4, root + 7, root + 12]
        else:
            pitches = [int(rng.integers(48, DENSE_HIGH + 1))]
        for p in pitches:
            events.append(Event(t, (0x90, p, int(rng.integers(60, 111)))))
            events.append(Event(t + float(rng.uniform(0.05, 0.4)), (0x80, p, 0)))
        t += 0.05 * len(pitches)
        step += 1
    events += pedal_and_probes(seconds)
    events += bends(seconds, rng)
    events.sort(key=lambda e: e.t)
    return events


def pedal_and_probes(seconds: float) -> list[Event]:
    """Pedal down for ``PEDAL_SPAN`` s, up for as long; probe notes while it is up."""
    out: list[Event] = []
    t = 0.2
    while t + 2 * PEDAL_SPAN < seconds:
        out.append(Event(t, (0xB0, 64, 127)))
        up = t + PEDAL_SPAN
        out.append(Event(up, (0xB0, 64, 0)))
        k = up + 0.25  # the pedal's last notes have rung out on the probe part
        while k + PROBE_HOLD < up + PEDAL_SPAN - 0.05:
            out.append(Event(k, (0x90, PROBE_PITCH, PROBE_VELOCITY), probe=True))
            out.append(Event(k + PROBE_HOLD, (0x80, PROBE_PITCH, 0)))
            k += PROBE_GAP
        t = up + PEDAL_SPAN
    out.append(Event(seconds - 0.1, (0xB0, 64, 0)))
    return out


def bends(seconds: float, rng: np.random.Generator, every: float = 1.5) -> list[Event]:
    """A bend up and back to the centre (9 messages over 0.3 s) every ``every`` s."""
    out: list[Event] = []
    t = 0.5
    while t + 0.4 < seconds:
        depth = int(rng.integers(1000, 4000))
        for k in range(9):
            v = 8192 + int(depth * np.sin(np.pi * k / 8))
            out.append(Event(t + 0.3 * k / 8, (0xE0, v & 0x7F, v >> 7)))
        t += every
    return out


def plain_channels(data: tuple[int, ...], probe: bool) -> list[tuple[int, ...]]:
    """The plan's channel-1 message as plain FluidSynth gets it: probe notes on channel 1
    (the probe part's), dense notes on channels 2-4 by pitch, pedal and bend on all four."""
    status = data[0] & 0xF0
    if status in (0x90, 0x80):
        if data[1] == PROBE_PITCH:
            return [data]
        channel = 1 if data[1] >= 60 else (2 if data[1] >= 48 else 3)
        return [(status | channel, *data[1:])]
    return [(status | ch, *data[1:]) for ch in range(4)]


# -- the targets ------------------------------------------------------------------------------
@dataclass
class Running:
    """A started target: its process, MIDI input, probe part's output, log."""

    name: str
    proc: subprocess.Popen
    midi_in: str
    probe_out: str
    band_outs: str  # a regular expression for the band's output ports ("" for none)
    log: Path
    plain: bool
    listens: bool
    beside: subprocess.Popen | None = None  # plain-busy's CPU burner, plain-listen's ears


def stress_ensemble(folder: Path) -> Path:
    """The quartet, every part on piano; the top part alone can play the probe pitch."""
    text = (ROOT / "configs/ensembles/quartet.toml").read_text()
    ranges = iter([PROBE_RANGE, *PART_RANGES])
    lines = []
    for ln in text.splitlines():
        key = ln.strip().split("=")[0].strip()
        if key == "program":
            ln = "program = 0"
        elif key == "range":
            lo, hi = next(ranges)
            ln = f"range = [{lo}, {hi}]\npolyphony = {1 if lo == PROBE_RANGE[0] else 12}"
        lines.append(ln)
    path = folder / "quartet.toml"  # the name keeps the quartet's trained arranger
    path.write_text("\n".join(lines) + "\n")
    return path


def part_setup(ensemble: Path) -> list[list[int]]:
    """Program, volume and pan of each of the ensemble's parts on its channel: what the
    app gives its synth, sent to plain FluidSynth before it is measured."""
    from instrument.ensemble import load_ensemble

    out = []
    for part in load_ensemble(ensemble).parts:
        ch = part.channel
        out += [[0xC0 | ch, part.program], [0xB0 | ch, 7, part.volume], [0xB0 | ch, 10, part.pan]]
    return out


def start_plain(soundfont: Path, period: int, folder: Path, beside: str = "") -> Running:
    """Plain FluidSynth; beside "busy": with a process spinning in pure Python, as the
    app's GIL hog does (on a VM a busy virtual CPU answers a wake-up sooner than one
    halted in idle, so the hog's load alone changes the server's xruns); "listen":
    with ``instrument listen`` on the server (its capture client and its listener)."""
    log = folder / "plain.log"
    with open(log, "wb") as f:
        proc = subprocess.Popen(
            [
                "fluidsynth",
                "-a",
                "jack",
                "-m",
                "jack",
                "-g",
                "0.6",
                "-r",
                str(RATE),
                "-z",
                str(period),
                "-c",
                "2",
                "-o",
                "synth.audio-channels=16",
                "-o",
                "synth.audio-groups=16",
                "-o",
                "audio.jack.multi=yes",
                "-o",
                "audio.jack.id=fluidsynth-plain",
                "-o",
                "midi.jack.id=fluidsynth-plain",
                "-o",
                "audio.jack.autoconnect=0",
                str(soundfont),
            ],
            stdin=subprocess.PIPE,
            stdout=f,
            stderr=subprocess.STDOUT,
        )
    company = None
    if beside == "busy":
        spin = "from instrument.gil_hog import spin; spin()"
        company = subprocess.Popen([sys.executable, "-c", spin], cwd=ROOT)
    elif beside == "listen":
        company = subprocess.Popen(
            [sys.executable, "-m", "instrument", "listen", "--json"], cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    return Running(
        f"plain-{beside}" if beside else "plain",
        proc,
        "fluidsynth-plain:midi_00",
        "fluidsynth-plain:l_00",
        "",
        log,
        plain=True,
        listens=beside == "listen",
        beside=company,
    )


def start_app(name: str, ensemble: Path, soundfont: Path, folder: Path) -> Running:
    """``instrument jam`` with the stage (unless app-no-display), listener (unless
    app-no-listen: the band follows the keys), band, hog; app-no-band: ``instrument
    play`` with the stage and the hog (no band, no listener)."""
    display = name != "app-no-display"
    listens = name not in ("app-no-listen", "app-no-band")
    env = dict(
        os.environ,
        SDL_VIDEODRIVER="dummy",
        SDL_AUDIODRIVER="dummy",
        INSTRUMENT_GIL_HOG="1" if name in ("app", "app-no-listen", "app-no-band") else "0",
    )
    cmd = [
        sys.executable,
        "-m",
        "instrument",
        "play" if name == "app-no-band" else "jam",
        *(["--listen"] if listens else []),
        "--multi-out",
        "--audio",
        "jack",
        "--midi-api",
        "jack",
        "--ensemble",
        str(ensemble),
        "--arranger",
        "lstm",
        "--soundfont",
        str(soundfont),
    ]
    if not display:
        cmd.append("--no-display")
    log = folder / f"{name}.log"
    with open(log, "wb") as f:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=ROOT
        )
    return Running(
        name,
        proc,
        "instrument:midi_00",
        "instrument:violin-i_l",
        r"^instrument:(ch-\d\d|drums)_l$",
        log,
        plain=False,
        listens=listens,
    )


def stop(target: Running) -> str:
    """Stop a target (SIGTERM: the app prints its summary); returns its log."""
    if target.beside is not None:
        target.beside.kill()
        target.beside.wait()
    if target.proc.poll() is None:
        target.proc.terminate()
        try:
            target.proc.wait(20)
        except subprocess.TimeoutExpired:
            target.proc.kill()
            target.proc.wait()
    return target.log.read_text(errors="replace")


class FilePlayer:
    """A JACK client playing a WAV file, looped, into whatever its outputs connect to. Its
    process callback is compiled (``tests/support/compiledjack.py``): no GIL, so the
    bench's own Python cannot make it miss a cycle (an xrun counted against the target)."""

    def __init__(self, path: Path, name: str = "stress-file"):
        import jack
        from scipy.io import wavfile

        from tests.support import compiledjack as cj

        rate, audio = wavfile.read(path)
        if rate != RATE:
            raise SystemExit(f"{path}: {rate} Hz, the server runs at {RATE}")
        audio = np.asarray(audio, dtype=np.float32).reshape(len(audio), -1)
        self.audio = np.ascontiguousarray(audio[:, [0, min(1, audio.shape[1] - 1)]])
        self.client = jack.Client(name, no_start_server=True)
        self.outs = [self.client.outports.register(f"out_{c}") for c in range(2)]
        self.state = np.zeros(cj.L_FIELDS, np.int64)
        self.state[cj.L_CLIENT] = cj.address(self.client._ptr)
        self.state[cj.L_LOOP] = 1
        self.state[cj.L_PLAYING] = 1  # from activation on
        # the cycle reads these arrays by address: they must live as long as the client
        self._fns = cj.function_addresses()
        self._ports = np.array([cj.address(p._ptr) for p in self.outs], np.int64)
        self._table = cj.table(self._fns, self._ports, self.state, self.audio)
        cj.set_process(self.client, cj.player_cycle(), self._table)

    def feed(self, inputs: list[str]) -> None:
        """Play into ``inputs`` only (the app's listener), instead of the system capture."""
        for port in self.client.get_ports("system:capture", is_audio=True):
            for dst in list(self.client.get_all_connections(port)):
                if dst.name in inputs:
                    self.client.disconnect(port, dst)
        for out, dst in zip(self.outs * len(inputs), inputs, strict=False):
            self.client.connect(out, dst)

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


def write_song(path: Path) -> Path:
    """The listener's file: a band-like test song with known beats (100 BPM, 16 bars)."""
    from scipy.io import wavfile

    from tests.support.testsignal import make_song

    wavfile.write(path, RATE, make_song(bpm=100.0, bars=16, sample_rate=RATE).audio)
    return path


# -- measuring --------------------------------------------------------------------------------
@dataclass
class Result:
    """One target at one period. Latencies in ms; xruns over ``seconds`` of dense playing."""

    period: int
    target: str
    seconds: float
    notes: int  # dense and probe note-ons sent
    probes: int  # probe notes measured
    masked: int  # probe notes left out: their part was sounding already
    # probe notes with no onset on the probe part: lost on the way in (likely sent in a
    # period the target missed) or given to another part; the app's own take of one such
    # run showed both (of 3 missed: 2 never reached its input, 1 went to Violin II)
    missed: int
    p50: float
    p99: float
    max: float
    xruns: int
    band_peak: float  # peak level on the band's outputs during the phase (0: silent)
    band_notes: int  # the app's own count of the band's notes (-1: not told)
    stalled: bool = False  # the JACK server stopped during the phase (see ``Watchdog``)
    run: int = 1  # which of the run's repeats (``--repeats``)


def wait_ready(client, target: Running, timeout: float = 120.0) -> list[str]:
    """Wait for the target's ports (and the listener's inputs); returns those inputs.

    client: a ``jack.Client`` to ask the server with."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        names = {p.name for p in client.get_ports()}
        listen = sorted(n for n in names if n.startswith(f"{LISTEN_CLIENT}:in_"))
        if {target.midi_in, target.probe_out} <= names and (listen or not target.listens):
            return listen
        if target.proc.poll() is not None:
            raise SystemExit(f"{target.name} exited during start-up: {stop(target)[-800:]}")
        time.sleep(0.2)
    stop(target)
    raise SystemExit(f"{target.name}: ports did not appear within {timeout:.0f} s")


def connect(keys: Probe, ears: Probe, target: Running) -> None:
    """The keys' MIDI into the target only; its probe part and band into the ears.

    Two clients, not one: a client that both feeds a target and records it closes a loop
    in JACK's graph, which JACK breaks by handing one side the previous period's buffer;
    the period of delay that adds would depend on the order the graph was sorted in."""
    if target.midi_in not in [p.name for p in keys.client.get_all_connections(keys.midi_out)]:
        keys.client.connect(keys.midi_out, target.midi_in)
    ears.client.connect(target.probe_out, ears.inputs[0])
    if target.band_outs:
        for port in ears.client.get_ports(target.band_outs, is_audio=True, is_output=True):
            ears.client.connect(port, ears.inputs[1])


class Watchdog:
    """Kills a target whose JACK server stopped running for good.

    Seen with the app and the GIL hog at 64 frames: the app's clients did not read their
    notifications (xruns) fast enough, their sockets filled, and jackd blocked writing to
    them; the clock stops, and every client's call into the server waits. Killing the
    target closes its sockets and lets the server go on."""

    def __init__(self, target: Running, seconds: float):
        self.fired = False
        self._timer = threading.Timer(seconds, self._kill, args=(target,))
        self._timer.daemon = True
        self._timer.start()

    def _kill(self, target: Running) -> None:
        self.fired = True
        target.proc.kill()

    def cancel(self) -> None:
        self._timer.cancel()


def send_plan(
    keys: Probe,
    events: list[Event],
    plain: bool,
    period: int,
    watchdog: Watchdog,
    lead: float = 0.25,
) -> int:
    """Send ``events`` from about half a second from now, staying ``lead`` s ahead of the
    JACK clock; returns the frame of the first event. Probe notes go out in the middle of
    a period (the same offset for every target, so that medians compare to the frame).
    Stops early if the watchdog fired."""
    start = keys.start_frame if keys.start_frame is not None else keys.now()
    frame0 = start + -(-(keys.now() + RATE // 2 - start) // period) * period
    for e in events:
        frame = frame0 + round(e.t * RATE)
        if e.probe:
            frame = frame0 + round(e.t * RATE / period) * period + period // 2
        while frame - keys.now() > lead * RATE and not watchdog.fired:
            time.sleep(0.01)
        if watchdog.fired:
            break
        for data in plain_channels(e.data, e.probe) if plain else [e.data]:
            keys.send(list(data), at=frame)
    return frame0


def probe_latencies(
    keys: Probe, ears: Probe, first_sent: int, period: int
) -> tuple[np.ndarray, int]:
    """Latency (ms) of each probe note sent since ``first_sent`` (index in ``keys.sent``),
    NaN where no onset came; and how many were left out because the part was sounding."""
    on = bytes([0x90, PROBE_PITCH, PROBE_VELOCITY])
    frames = [f for f, d in keys.sent[first_sent:] if d == on]
    audio = ears.audio()[:, 0]
    kept = []
    for f in frames:  # the part must be silent for two periods before the search starts
        a = f - ears.start_frame - period
        before = audio[max(0, a - 2 * period) : a]
        # not recorded (the server stopped): kept, and found missing
        if a >= len(audio) or len(before) == 2 * period and np.abs(before).max() < THRESHOLD:
            kept.append(f)
    lat = onset_latencies(audio, ears.start_frame, kept, THRESHOLD, early=period)
    return lat * 1000.0 / RATE, len(frames) - len(kept)


def measure(
    target: Running,
    events: list[Event],
    period: int,
    seconds: float,
    player: FilePlayer | None,
    settle: float,
    setup: list[list[int]],
) -> Result:
    """Play ``events`` into a started target and measure it (the target is stopped).

    setup: messages sent to a plain target first (``part_setup``)."""
    import jack

    starting = Watchdog(target, 150.0)  # wait_ready's own timeout is 120 s
    with jack.Client("stress-wait", no_start_server=True) as client:
        listen = wait_ready(client, target)
    starting.cancel()
    # Opened only now: the app connects the MIDI sources it finds while it starts, and
    # recording starts with the playing.
    ears = Probe("stress-ears", n_inputs=2, seconds=seconds + settle + 8.0)
    keys: Probe | None = None
    watchdog = None
    try:
        keys = Probe("stress-keys", n_inputs=0, seconds=0.1).activate()
        ears.activate()
        connect(keys, ears, target)
        for data in setup if target.plain else []:
            keys.send(data)
        if listen and player is not None:
            player.feed(listen)
        time.sleep(settle)  # start-up work done; the band has heard a few beats
        xruns, first = ears.xruns, len(keys.sent)
        watchdog = Watchdog(target, seconds + 60.0)
        frame0 = send_plan(keys, events, target.plain, period, watchdog)
        end = frame0 + round(seconds * RATE)
        while ears.now() < end + RATE // 2 and not watchdog.fired:
            time.sleep(0.05)
        watchdog.cancel()
        xruns = ears.xruns - xruns
        ms, masked = probe_latencies(keys, ears, first, period)
        band = ears.audio()[frame0 - ears.start_frame :, 1]
        band_peak = float(np.abs(band).max()) if len(band) else 0.0
    finally:
        if keys is not None:
            keys.close()
        ears.close()
        log = stop(target)
    ok = ms[~np.isnan(ms)]
    told = re.search(r"(\d+) notes sent", log)

    def pct(q: float) -> float:
        return float(np.percentile(ok, q)) if len(ok) else float("nan")

    return Result(
        period,
        target.name,
        seconds,
        sum(e.data[0] & 0xF0 == 0x90 for e in events),
        len(ok),
        masked,
        int(np.isnan(ms).sum()),
        pct(50),
        pct(99),
        float(ok.max()) if len(ok) else float("nan"),
        xruns,
        round(band_peak, 4),
        int(told.group(1)) if told else -1,
        watchdog is not None and watchdog.fired,
    )


def run_targets(
    names: list[str],
    period: int,
    seconds: float,
    seed: int,
    folder: Path,
    soundfont: Path,
    run: int = 1,
) -> list[Result]:
    """Each target in turn, alone on the running JACK server (its period: ``period``);
    ``run``: which repeat this is, for the rows."""
    events = plan(seconds, seed)
    ensemble = stress_ensemble(folder)
    player = None
    if any(n not in REFERENCES for n in names):
        player = FilePlayer(write_song(folder / "song.wav"))
        player.client.activate()
    results = []
    try:
        for name in names:
            if name in PLAIN:
                target = start_plain(soundfont, period, folder, name.removeprefix("plain")[1:])
            else:
                target = start_app(name, ensemble, soundfont, folder)
            settle = 2.0 if name in REFERENCES else 8.0
            got = measure(target, events, period, seconds, player, settle, part_setup(ensemble))
            results.append(dataclasses.replace(got, run=run))
            print(row_text(results[-1]), flush=True)
    finally:
        if player is not None:
            player.close()
    return results


# -- the table --------------------------------------------------------------------------------
HEADER = [
    "run",
    "period",
    "target",
    "probes",
    "left out / missed",
    "p50 ms",
    "p99 ms",
    "max ms",
    "xruns",
    "dense s",
    "band notes",
    "server stalled",
]


def row_cells(r: Result) -> list[object]:
    band = "-" if r.band_notes < 0 else str(r.band_notes)
    return [
        r.run,
        r.period,
        r.target,
        r.probes,
        f"{r.masked} / {r.missed}",
        r.p50,
        r.p99,
        r.max,
        r.xruns,
        r.seconds,
        band,
        "yes" if r.stalled else "no",
    ]


def row_text(r: Result) -> str:
    c = row_cells(r)
    return (
        f"{c[0]:>3} {c[1]:>6} {c[2]:15} {c[3]:>6} {c[4]:>9} {c[5]:8.3f} {c[6]:8.3f} "
        f"{c[7]:8.3f} {c[8]:6d} {c[9]:7.0f} {c[10]:>6} {c[11]:>7}"
    )


@dataclass
class Verdict:
    """A target checked against plain FluidSynth at one period (issue 13's targets)."""

    period: int
    target: str
    reference: str  # plain, or plain-busy (an anchor: plain with a CPU burner beside it)
    run: int  # 0: on the medians over the runs
    median_diff: float  # ms, target - reference
    p99_diff: float  # ms
    p99_bound: float  # one period, ms
    xruns: int
    xruns_bound: float  # the reference's + 10 %
    median_ok: bool
    p99_ok: bool
    xruns_ok: bool  # and the server ran to the end
    stalled: bool = False

    @property
    def passed(self) -> bool:
        return self.median_ok and self.p99_ok and self.xruns_ok


def verdicts(results: list[Result]) -> list[Verdict]:
    """Every app target against each reference (plain, plain-busy) at its period, in the
    same run."""
    out = []
    refs = {(r.target, r.period, r.run): r for r in results if r.target in REFERENCES}
    for r, reference in [(r, ref) for ref in REFERENCES for r in results]:
        p = refs.get((reference, r.period, r.run))
        if r.target in PLAIN or p is None:
            continue
        dm, d99, bound = r.p50 - p.p50, r.p99 - p.p99, 1000.0 * r.period / RATE
        out.append(
            Verdict(
                r.period,
                r.target,
                reference,
                r.run,
                dm,
                d99,
                bound,
                r.xruns,
                1.1 * p.xruns,
                bool(dm <= 0.1 + 1e-9),  # frames are whole: 64/48 ms is one period exactly
                bool(d99 <= bound + 1e-9),
                bool(r.xruns <= 1.1 * p.xruns and not r.stalled),
                r.stalled,
            )
        )
    return out


def medians(results: list[Result]) -> list[Result]:
    """One row per (period, target): the median over the runs of p50, p99, max and xruns
    (``run`` 0; stalled if any run stalled). With one run, that run."""
    out = []
    for key in dict.fromkeys((r.period, r.target) for r in results):
        rows = [r for r in results if (r.period, r.target) == key]
        first = rows[0]

        def med(values: list[float]) -> float:
            return float(np.median(values))

        out.append(
            Result(first.period, first.target, first.seconds, first.notes,
                   sum(r.probes for r in rows), sum(r.masked for r in rows),
                   sum(r.missed for r in rows), med([r.p50 for r in rows]),
                   med([r.p99 for r in rows]), med([r.max for r in rows]),
                   round(med([r.xruns for r in rows])), max(r.band_peak for r in rows),
                   round(med([r.band_notes for r in rows])), any(r.stalled for r in rows),
                   run=0)
        )  # fmt: skip
    return out


def verdict_text(v: Verdict) -> str:
    def mark(ok: bool) -> str:
        return "pass" if ok else "FAIL"

    which = "medians over the runs" if v.run == 0 else f"run {v.run}"
    return (
        f"{which}, {v.period} frames, {v.target} vs {v.reference}: median {v.median_diff:+.3f} ms "
        f"(<= +0.1: {mark(v.median_ok)}), p99 {v.p99_diff:+.3f} ms "
        f"(<= +{v.p99_bound:.2f}: {mark(v.p99_ok)}), xruns {v.xruns} "
        f"(<= {v.xruns_bound:.1f}{', until the server stalled' if v.stalled else ''}: "
        f"{mark(v.xruns_ok)}) -> {mark(v.passed)}"
    )


def machine() -> str:
    return (
        f"{platform.platform()}, {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}"
    )


def under_load(loads: list[float]) -> bool:
    """Whether other work was running: a load average over half the cores."""
    return max(loads) > 0.5 * (os.cpu_count() or 1)


METHOD = (
    "Each target alone on a fresh JACK dummy server per period (48 kHz), one after the "
    "other in one run, with the same seeded playing: ~20 notes/s of runs and four-note "
    "chords, sustain pedal down and up every 1.6 s, pitch-bend gestures, and probe notes "
    "(pitch 104, only the probe part can take it) every 0.3 s while the pedal is up, sent"
    " in the middle of a period. `plain`: the `fluidsynth` CLI, same SoundFont, gain 0.6,"
    " the parts' programs, volume and pan on their channels, one output per channel. "
    "`app`: `instrument jam --multi-out --listen` (quartet, LSTM arranger, every part on "
    "piano) with the stage window at 60 fps (SDL dummy driver), the listener hearing a "
    "test song played from a WAV file into its input, the band playing on what it hears, "
    "and `INSTRUMENT_GIL_HOG=1` (a thread spinning in pure Python in the app's process); "
    "`app-no-hog` without the hog, `app-no-display` without the window nor the hog. "
    "`plain-busy` (an anchor): `plain` with a process beside it spinning in pure Python, "
    "the load of the app's hog without the app; on a virtual machine a busy virtual CPU "
    "answers the server's wake-up sooner than one halted in idle, so load alone changes "
    "the xruns. Latency: frames from the probe note-on leaving the sending client to the "
    "first sample above 0.005 on the probe part's own output, read by a second client (no"
    " feedback loop in the graph). Left out: the probe part was not silent before the "
    "note; missed: no onset on the probe part, the note lost on its way in (likely sent "
    "in a period the target missed) or given to another part. Xruns: the server's, over "
    "each target's dense phase. Targets (issue 13), at 64 frames, `app` against `plain`: "
    "median within 0.1 ms, p99 within one period, xruns at most plain's + 10 %."
)


def markdown(results: list[Result], command: str, loads: list[float], note: str = "") -> str:
    from instrument.report import markdown_table

    loaded = under_load(loads)
    title = "## Stress: the app with everything running vs plain FluidSynth"
    if loaded:
        title += " (under load: figures from a shared machine)"
    lines = [
        title,
        "",
        METHOD + (f" {note}" if note else ""),
        "",
        markdown_table(HEADER, [row_cells(r) for r in results]),
        "",
    ]
    runs = len({r.run for r in results})
    if runs > 1:
        lines += [
            f"Medians over the {runs} runs (run 0; probes, left out and missed: summed):",
            "",
            markdown_table(HEADER, [row_cells(r) for r in medians(results)]),
            "",
        ]
        lines += [f"- {verdict_text(v)}" for v in verdicts(medians(results))]
    lines += [f"- {verdict_text(v)}" for v in verdicts(results)]
    load = " / ".join(f"{x:.1f}" for x in loads)
    lines += [
        "",
        f"Command: `{command}`. Machine: {machine()}; load average (1 min) at the "
        f"start / end: {load}{' (shared with other jobs)' if loaded else ''}. "
        f"Date: {datetime.date.today()}.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from instrument.synth import find_soundfont

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--seconds", type=float, default=45.0, help="dense phase per target per period (default 45)"
    )
    ap.add_argument("--periods", default="64,128", help="JACK periods in frames (default 64,128)")
    ap.add_argument(
        "--targets",
        default="plain,app",
        help=f"comma-separated, from {', '.join(TARGETS)} (default plain,app)",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--repeats", type=int, default=1, help="run everything this many times (default 1)"
    )
    ap.add_argument("--note", default="", help="a line for the report (what was measured)")
    ap.add_argument("--write", action="store_true", help="write docs/benchmarks.md")
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.targets.split(",") if n.strip()]
    bad = [n for n in names if n not in TARGETS]
    if bad or not names:
        ap.error(f"unknown target {bad[0] if bad else '(none)'}: choose from {', '.join(TARGETS)}")
    try:
        periods = [int(p) for p in args.periods.split(",")]
    except ValueError:
        ap.error(f"--periods {args.periods!r}: give frames, e.g. 64,128")
    if args.seconds < 5:
        ap.error("--seconds must be at least 5")
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    soundfont = find_soundfont()
    loads = [os.getloadavg()[0]]
    print(
        f"{'run':>3} {'period':>6} {'target':15} {'probes':>6} {'out/miss':>9} {'p50':>8} "
        f"{'p99':>8} {'max':>8} {'xruns':>6} {'dense s':>7} {'band':>6} {'stalled':>7}",
        flush=True,
    )
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="stress-") as tmp:
        for run in range(1, args.repeats + 1):
            for period in periods:
                with JackServer(name=f"stress-{os.getpid()}-{period}", period=period):
                    got = run_targets(names, period, args.seconds, args.seed, Path(tmp),
                                      soundfont, run)  # fmt: skip
                    results += got
    loads.append(os.getloadavg()[0])
    for v in verdicts(results):
        print(verdict_text(v))
    if args.repeats > 1:
        for v in verdicts(medians(results)):
            print(verdict_text(v))
    if under_load(loads):
        print(f"under load: load average {loads[0]:.1f} / {loads[-1]:.1f}, {os.cpu_count()} cores")
    if args.write:
        from instrument.report import write_section

        given = argv if argv is not None else sys.argv[1:]
        command = shlex.join(["python", "bench/bench_stress.py", *given])
        write_section("benchmarks.md", "stress", markdown(results, command, loads, args.note))
    target = [
        v
        for v in verdicts(medians(results))
        if (v.period, v.target, v.reference) == (64, "app", "plain")
    ]
    return 0 if all(v.passed for v in target) else 1


if __name__ == "__main__":
    sys.exit(main())
