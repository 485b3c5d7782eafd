"""Soak: an hour of dense playing through the whole app in one process, fast-forwarded.

What runs is the real jam session (``live.jam.JamSession`` on a ``LiveSession``, as
``instrument jam --listen`` builds it), with no audio or MIDI device:

* a seeded performance: chords and runs at ~20 notes/s, sustain pedal, pitch-bend
  gestures, a short rest every few minutes (so the arranger's phrase reset runs too);
* the ``Performer`` with the trained LSTM arranger (numba step, budget guard);
* FluidSynth (``Synth.render_into``) rendering 128-frame blocks at 48 kHz;
* the causal listener hearing that audio in 512-frame blocks through ``ListenStream``,
  as ``instrument jam --listen`` runs it on an input;
* the jam ``Band`` (model style) on that stream's beat clock and the listener's chords
  (as with ``jam --listen``, the band waits until a beat is heard).

Time is the audio clock: block k starts at k x 128 / 48000 s. The session is started
``stepped``: instead of its threads, this loop steps the band and feeds the listener.
MIDI messages due by the start of a block are handed to the session just before it is
rendered, as FluidSynth's JACK MIDI port does in its process callback. The band's worker
runs every 5 ms of audio time; inside a worker pass its clock also advances by the real
time the pass takes, so a slow plan is late exactly as it would be live. Nothing waits
for the wall clock: an hour takes minutes. Everything runs in one thread, so the figures
leave out what threads would add (GIL hand-over, scheduling); per-block times are wall
clock on a shared machine.

Measured per segment: resident memory, note latency (MIDI message handed to the
performer -> the synth's note-on call returned), per-block processing time (the
performer's work for the block's messages + rendering) against the 2.67 ms period,
arranger decisions over their budget, the band's late plans and notes. Every channel
message the synth receives is logged to a file; at the end the log is replayed to check
that every note-on was ended by a note-off on its channel, and FluidSynth is asked how
many voices still sound.

    .venv/bin/python bench/bench_soak.py --minutes 60 --seed 1 --write
"""

from __future__ import annotations

import argparse
import datetime
import gc
import heapq
import itertools
import json
import math
import os
import platform
import struct
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from instrument.synth.fluid import Synth

RATE, PERIOD = 48000, 128
LISTEN_BLOCK = 512  # frames per listener call, as ``instrument listen`` reads its input
BAND_TICK = 2  # blocks between band worker passes (5.3 ms; the live worker sleeps 5 ms)
BUDGET_MS = 1000.0 * PERIOD / RATE  # 2.67 ms: a block slower than this is an xrun


# -- the performance --------------------------------------------------------------------------
MAJOR = (0, 2, 4, 5, 7, 9, 11)
DEGREES = (0, 3, 4, 5, 1, 2)  # I IV V vi ii iii, weighted toward the first ones


def dense_performance(seconds: float, seed: int, rate: float = 20.0,
                      rest_every: float = 170.0, rest: float = 5.0,
                      tempo_log: list[tuple[float, float]] | None = None,
                      ) -> Iterator[tuple[float, list[int]]]:
    """Time-ordered (seconds, MIDI bytes) on channel 1: chords, runs, pedal and bends.

    Every key pressed is released and the pedal and bend are back at rest by ``seconds``.
    tempo_log: gets (time, BPM) of each new section's tempo as it is generated.
    """
    rng = np.random.default_rng(seed)
    heap: list[tuple[float, int, list[int], int]] = []  # (time, order, bytes, note id)
    order = itertools.count()
    current: dict[int, int] = {}  # pitch -> id of its latest note-on

    def push(t: float, data: list[int], nid: int = -1) -> None:
        heapq.heappush(heap, (t, next(order), data, nid))

    def note(t: float, pitch: int, dur: float, vel: int) -> None:
        nid = next(order)
        push(t, [0x90, pitch, vel], nid)
        push(t + dur, [0x80, pitch, 0], nid)

    t, bar, end = 0.5, 0, seconds - 2.0
    next_rest = rest_every
    while t < end:
        if bar % 16 == 0:  # a new section: tempo, key, pedalling, bends
            beat = 60.0 / float(rng.uniform(100, 140))
            if tempo_log is not None:
                tempo_log.append((t, 60.0 / beat))
            key = int(rng.integers(0, 12))
            pedal = rng.random() < 0.7
            bends = rng.random() < 0.5
        t = _bar(rng, t, beat, key, pedal, bends, rate, note, push)
        bar += 1
        if t >= next_rest:  # hands off the keys for a moment: a new phrase follows
            push(t, [0xB0, 64, 0])
            t += rest
            next_rest += rest_every
        # Release what lies safely behind us: the next bar may still add events just
        # before its start (the pedal comes up 4 ms before the chord).
        while heap and heap[0][0] < t - 0.05:
            yield from _pop(heap, current)
    push(max(t, end), [0xB0, 64, 0])
    push(max(t, end), [0xE0, 0, 64])
    while heap:
        yield from _pop(heap, current)


def _pop(heap: list, current: dict[int, int]) -> Iterator[tuple[float, list[int]]]:
    t, _, data, nid = heapq.heappop(heap)
    if data[0] == 0x90:
        if data[1] in current:  # a key cannot go down twice: it comes up first
            yield t, [0x80, data[1], 0]
        current[data[1]] = nid
    elif data[0] == 0x80:
        if current.get(data[1]) != nid:
            return  # that key was struck again since: its newer note owns the release
        del current[data[1]]
    yield t, data


def _bar(rng, t: float, beat: float, key: int, pedal: bool, bends: bool, rate: float,
         note, push) -> float:
    """One 4/4 bar from ``t``: a chord per beat in the left hand, a run in the right."""
    degree = int(rng.choice(DEGREES, p=[0.25, 0.2, 0.2, 0.15, 0.1, 0.1]))
    root = 41 + (key + MAJOR[degree]) % 12  # F2..E3
    third = MAJOR[(degree + 2) % 7] - MAJOR[degree]
    chord = [root, root + 7, root + 12 + third % 12, root + 19]
    scale = [p for p in range(60, 97) if (p - key) % 12 in MAJOR]
    if pedal:  # legato pedalling: up just before the new chord, down just after it
        push(t - 0.004, [0xB0, 64, 0])
        push(t + 0.03, [0xB0, 64, 127])
    run = max(2, round(rate * beat) - len(chord))
    step = beat / run
    i = int(rng.integers(0, len(scale)))
    direction = 1
    for b in range(4):
        tb = t + b * beat
        accent = 15 if b == 0 else 0
        for p in chord:
            note(tb + float(rng.uniform(0, 0.008)), p, 0.85 * beat,
                 int(rng.integers(60, 85)) + accent)
        for k in range(run):
            if not 0 <= i + direction < len(scale):
                direction = -direction
            i += direction
            note(tb + k * step, scale[i], 0.9 * step, int(rng.integers(70, 105)) + accent)
    if bends and rng.random() < 0.5:
        _bend(push, t + beat, int(rng.integers(1000, 4000)))
    return t + 4 * beat


def _bend(push, t: float, depth: int, steps: int = 12, span: float = 0.3) -> None:
    """Up and back to the centre in ``steps`` messages over ``span`` seconds."""
    for k in range(steps + 1):
        v = 8192 + int(depth * math.sin(math.pi * k / steps))
        push(t + span * k / steps, [0xE0, v & 0x7F, v >> 7])


# -- the synth, with every channel message logged ---------------------------------------------
ON, OFF, CC, BEND, PROGRAM, PANIC, MARK = 1, 2, 3, 4, 5, 6, 7
RECORD = struct.Struct("<IBBBB")  # block, kind, channel, data 1, data 2
RECORD_DTYPE = np.dtype([("block", "<u4"), ("kind", "u1"), ("ch", "u1"), ("a", "u1"),
                         ("b", "u1")])  # fmt: skip


class LoggedSynth(Synth):
    """The real FluidSynth; each channel message also goes to a log file on disk (so the
    log costs no memory) and note-ons note when the synth call returned."""

    def __init__(self, soundfont: Path, log: Path, **kw):
        super().__init__(soundfont, **kw)
        self._log = open(log, "wb", buffering=1 << 16)  # noqa: SIM115 - see close_log
        self.block = 0
        self.on_returned = 0.0  # perf_counter() when the last note-on call returned

    def _write(self, kind: int, ch: int, a: int, b: int) -> None:
        if self._log is not None:
            self._log.write(RECORD.pack(self.block, kind, ch, a, b))

    def noteon(self, channel: int, pitch: int, velocity: int) -> None:
        super().noteon(channel, pitch, velocity)
        self.on_returned = time.perf_counter()
        self._write(ON, channel, pitch, velocity)

    def noteoff(self, channel: int, pitch: int) -> None:
        super().noteoff(channel, pitch)
        self._write(OFF, channel, pitch, 0)

    def cc(self, channel: int, control: int, value: int) -> None:
        super().cc(channel, control, value)
        self._write(CC, channel, control, value)

    def pitch_bend(self, channel: int, value14: int) -> None:
        super().pitch_bend(channel, value14)
        self._write(BEND, channel, value14 & 0x7F, value14 >> 7)

    def program(self, channel: int, program: int) -> None:
        super().program(channel, program)
        self._write(PROGRAM, channel, program, 0)

    def panic(self) -> None:
        for ch in range(16):
            self._write(PANIC, ch, 0, 0)
        super().panic()

    def mark(self) -> None:
        self._write(MARK, 0, 0, 0)

    def close_log(self) -> None:
        """Flush the log to disk; later calls (closing the synth) are no longer logged."""
        log, self._log = self._log, None
        log.close()


@dataclass
class NoteCheck:
    """The replayed log: how every note-on ended."""

    note_ons: int = 0
    ended_by_note_off: int = 0
    restruck: int = 0  # a note-on on a key already sounding (FluidSynth restrikes it)
    orphan_offs: int = 0
    all_off_before_end: int = 0  # notes ended by all-notes-off / panic before the end mark
    sounding_at_end: list = field(default_factory=list)  # (channel, pitch) at the mark
    pedal_down_at_end: list = field(default_factory=list)
    ended_at_shutdown: int = 0  # still sounding at the mark, ended by the shutdown
    longest_s: float = 0.0  # the longest a note sounded before its note-off (any channel)
    longest_at_s: float = 0.0  # when that note began (audio time)
    held_over_10s: int = 0  # notes whose note-off came more than 10 s after the note-on


def check_log(path: Path) -> NoteCheck:
    """Replay every channel message the synth got: which note-ons were ended, and how."""
    log = np.fromfile(path, dtype=RECORD_DTYPE)
    c = NoteCheck()
    sounding: dict[tuple[int, int], int] = {}
    since: dict[tuple[int, int], int] = {}  # block of the first note-on still sounding
    pedal = [False] * 16
    marked = False
    for blk, kind, ch, a, b in zip(
        log["block"].tolist(),
        log["kind"].tolist(),
        log["ch"].tolist(),
        log["a"].tolist(),
        log["b"].tolist(),
        strict=True,
    ):
        if kind == ON and b > 0:
            c.note_ons += 1
            c.restruck += (ch, a) in sounding
            sounding[(ch, a)] = sounding.get((ch, a), 0) + 1
            since.setdefault((ch, a), blk)
        elif kind in (ON, OFF):
            n = sounding.pop((ch, a), 0)
            c.ended_by_note_off += n
            c.orphan_offs += n == 0
            if n:
                held = (blk - since.pop((ch, a))) * PERIOD / RATE
                c.held_over_10s += held > 10.0
                if held > c.longest_s:
                    c.longest_s, c.longest_at_s = held, (blk * PERIOD / RATE) - held
        elif kind == PANIC or (kind == CC and a in (120, 123)):
            ended = [k for k in sounding if k[0] == ch]
            n = sum(sounding.pop(k) for k in ended)
            for k in ended:
                since.pop(k, None)
            if marked:
                c.ended_at_shutdown += n
            else:
                c.all_off_before_end += n
        elif kind == CC and a == 64:
            pedal[ch] = b >= 64
        elif kind == MARK:
            marked = True
            c.sounding_at_end = sorted(sounding)
            c.pedal_down_at_end = [i for i, down in enumerate(pedal) if down]
    return c


# -- the run ------------------------------------------------------------------------------------
def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class BandClock:
    """Audio time; inside a band worker pass it also runs on with the real time spent
    (``live``; without, audio time only: the run no longer depends on the machine's load,
    which is what a test of the band's musical behaviour needs)."""

    def __init__(self, live: bool = True) -> None:
        self.t = 0.0
        self.live = live
        self._mark: float | None = None

    def begin(self) -> None:
        if self.live:
            self._mark = time.perf_counter()

    def end(self) -> None:
        self._mark = None

    def __call__(self) -> float:
        return self.t if self._mark is None else self.t + time.perf_counter() - self._mark


@dataclass
class Segment:
    """Figures of one stretch of the soak (times in ms)."""

    start_min: float
    end_min: float
    notes: int
    rss_mb: float
    lat_p50: float
    lat_p90: float
    lat_p99: float
    lat_max: float
    lat_cpu_p99: float
    block_p50: float
    block_p99: float
    block_max: float
    block_cpu_p99: float
    cpu_xruns: int  # blocks whose CPU time alone is over the period
    blocks: int
    xruns: int  # blocks over the period
    decisions_over_budget: int
    fallbacks: int
    band_beats: int
    band_late_plans: int
    band_late_notes: int
    band_notes: int
    listener_p99: float  # per 512-frame listener call
    listener_bpm: float
    listener_beats: int


class Meter:
    """Preallocated per-segment buffers: measuring must not grow memory either."""

    def __init__(self, blocks: int, notes: int):
        self.block_ms = np.zeros(blocks, np.float32)
        self.block_cpu_ms = np.zeros(blocks, np.float32)
        self.lat_ms = np.zeros(notes, np.float32)
        self.lat_cpu_ms = np.zeros(notes, np.float32)
        self.decision_ms = np.zeros(notes, np.float32)
        self.listen_ms = np.zeros(blocks * PERIOD // LISTEN_BLOCK + 1, np.float32)
        self.nb = self.nn = self.nl = 0
        self.beats = 0

    def note(self, lat: float, cpu: float, decision: float) -> None:
        if self.nn < len(self.lat_ms):
            self.lat_ms[self.nn], self.decision_ms[self.nn] = lat, decision
            self.lat_cpu_ms[self.nn] = cpu
            self.nn += 1

    def reset(self) -> None:
        self.nb = self.nn = self.nl = self.beats = 0


def _pct(x: np.ndarray, q: float) -> float:
    return float(np.percentile(x, q)) if len(x) else 0.0


class Soak:
    """The real jam session (``live.jam.JamSession``, with a listener: ``jam --listen``),
    stepped block by block on the audio clock instead of by its threads."""

    def __init__(
        self,
        seconds: float,
        seed: int,
        ensemble: str,
        arranger: str,
        log_path: Path,
        style: str = "model",
        fuse: bool = True,
        live_clock: bool = True,
    ):
        from instrument.accompany.options import BandOptions
        from instrument.arrange import make_arranger
        from instrument.ensemble import load_defaults, load_ensemble
        from instrument.listen.stream import ListenStream
        from instrument.live.jam import JamSession
        from instrument.live.session import LiveSession
        from instrument.synth import find_soundfont

        defaults = load_defaults()
        self.ensemble = load_ensemble(ensemble)
        self.arranger = make_arranger(arranger, self.ensemble)
        soundfont = find_soundfont()
        self.synth = LoggedSynth(
            soundfont, log_path, sample_rate=RATE, gain=float(defaults.get("gain", 0.6))
        )
        # No device: this loop renders the audio and hands the MIDI in, as JACK would.
        self.live = LiveSession(
            self.ensemble,
            self.arranger,
            soundfont,
            audio="none",
            midi_in="none",
            sample_rate=RATE,
            period=PERIOD,
            reset_after=float(defaults.get("arranger_reset_after", 4.0)),
            synth=self.synth,
        )
        self.performer = self.live.performer
        self.clock = BandClock(live_clock)
        # As ``jam --listen`` wires it: the stream is the band's beat clock (the band waits
        # until a beat is heard), its listener the chord source; blocks are fed here. With
        # ``fuse`` the listener is told which onsets are the band's own and hears the
        # player's keys exactly (off: the band hears itself).
        self.heard = ListenStream(block=LISTEN_BLOCK, now=self.clock, sample_rate=RATE)
        self.listener = self.heard.listener
        self.jam = JamSession(
            self.live,
            BandOptions(style=style, count_in=0),
            heard=self.heard,
            fuse=fuse,
            now=self.clock,
        )
        self.jam.prepare()
        self.jam.start(stepped=True)  # the band and the listener are stepped below
        self.band = self.jam.band
        self.planner = self.jam.planner
        self.fuse = fuse
        self.seconds = seconds  # of playing; the ending and the ring-out follow
        self.player_tempo: list[tuple[float, float]] = []  # (section start, BPM)
        self.heard_tempo: list[tuple[float, float]] = []  # (time, BPM heard), each second
        self.events = dense_performance(seconds, seed, tempo_log=self.player_tempo)
        self.block = np.zeros((PERIOD, 2), np.float32)
        self.heard_block = np.zeros((LISTEN_BLOCK, 2), np.float32)
        self.k = 0  # blocks rendered
        self.rss_by_minute: list[float] = []
        self.band_stopped = False

    def tempo_check(self, settle: float = 8.0, tolerance: float = 0.02) -> dict:
        """The heard tempo against the player's, once a second, ``settle`` s after each of
        the player's tempo changes: the share within ``tolerance`` and the median ratio."""
        starts = np.array([t for t, _ in self.player_tempo])
        ratios = []
        for t, bpm in self.heard_tempo:
            i = int(np.searchsorted(starts, t, side="right")) - 1
            if i < 0 or t - starts[i] < settle:
                continue
            ratios.append(bpm / self.player_tempo[i][1])
        r = np.array(ratios)
        return {
            "samples": len(r),
            "within": float(np.mean(np.abs(r - 1) <= tolerance)) if len(r) else 0.0,
            "median_ratio": float(np.median(r)) if len(r) else 0.0,
            "tolerance": tolerance,
            "settle_s": settle,
        }

    def run_blocks(self, n: int, meter: Meter) -> None:
        """Render ``n`` blocks: MIDI due, band, synth, and the listener every 4 blocks."""
        pending = self._next_event()
        per = PERIOD / RATE
        for _ in range(n):
            t = self.k * per
            self.clock.t = t
            self.synth.block = self.k
            self._dispatch_band(t)  # the band's threads live: not part of the block's work
            start, cpu = time.perf_counter(), time.thread_time()
            while pending is not None and pending[0] <= t:
                self._handle(pending, meter)
                pending = self._next_event()
            self.synth.render_into(self.block)
            i = meter.nb % len(meter.block_ms)
            meter.block_ms[i] = (time.perf_counter() - start) * 1e3
            meter.block_cpu_ms[i] = (time.thread_time() - cpu) * 1e3
            meter.nb += 1
            if self.k % (RATE // PERIOD * 60) == 0:
                self.rss_by_minute.append(round(rss_mb(), 1))
            j = (self.k % (LISTEN_BLOCK // PERIOD)) * PERIOD
            self.heard_block[j : j + PERIOD] = self.block
            if j + PERIOD == LISTEN_BLOCK:
                self._listen(meter, (self.k + 1) * per)
            if self.k % (RATE // PERIOD) == 0 and self.listener.beats.last_beat_time > 0:
                self.heard_tempo.append((t, self.listener.state(t).tempo))
            self.k += 1
        if pending is not None:
            self._held = pending

    _held: tuple[float, list[int]] | None = None

    def _next_event(self) -> tuple[float, list[int]] | None:
        if self._held is not None:
            ev, self._held = self._held, None
            return ev
        return next(self.events, None)

    def _handle(self, ev: tuple[float, list[int]], meter: Meter) -> None:
        t, data = ev
        notes = self.performer.counters.notes
        start, cpu = time.perf_counter(), time.thread_time()
        self.live.handle(data, t)  # as the MIDI input hands the session a message
        c = self.performer.counters
        if c.notes != notes:  # a note-on went through the arranger to the synth
            decision = float(c.decision_ms[(c.notes - 1) % len(c.decision_ms)])
            # CPU time tells the work from the time the shared machine took the core away
            meter.note((self.synth.on_returned - start) * 1e3,
                       (time.thread_time() - cpu) * 1e3, decision)

    def _dispatch_band(self, t: float) -> None:
        if self.band_stopped:
            return
        if self.k % BAND_TICK == 0:
            self.clock.begin()
            self.band.step()
            self.clock.end()
        self.band.dispatcher.dispatch(t)

    def _listen(self, meter: Meter, arrival: float) -> None:
        """The listener's worker gets the block the moment its last sample is in."""
        last = self.listener.beats.last_beat_time
        start = time.perf_counter()
        self.heard.feed(self.heard_block, arrival)
        meter.listen_ms[meter.nl % len(meter.listen_ms)] = (time.perf_counter() - start) * 1e3
        meter.nl += 1
        meter.beats += self.listener.beats.last_beat_time != last

    def totals(self) -> tuple[int, int, int, int, int, int]:
        s, d = self.band.stats, self.band.dispatcher.stats
        fb = self.arranger.stats().fallbacks
        return self.performer.counters.notes, fb, s.beats_planned, s.late_plans, \
            s.late_notes, d.sent

    def finish(self, meter: Meter, timeout_s: float = 30.0) -> tuple[int, float]:
        """Stop the band at the next bar line, let everything ring out, mark the log,
        then shut down as ``jam`` does. Returns (band notes pending at the mark, voices
        sounding in FluidSynth 5 s after the shutdown)."""
        self.band.request_section("stop")
        blocks_per_s = RATE // PERIOD
        for _ in range(int(timeout_s)):
            self.run_blocks(blocks_per_s, meter)
            if self.band.dispatcher.pending() == 0 and not self.performer.sounding:
                break
        self.run_blocks(2 * blocks_per_s, meter)  # releases ring out
        pending = self.band.dispatcher.pending()
        self.synth.mark()
        self.jam.stop()  # as ``jam`` ends: the band stopped, all notes off
        self.band_stopped = True
        self.run_blocks(5 * blocks_per_s, meter)
        return pending, float(self.synth.active_voices())


def summarize(meter: Meter, start_min: float, end_min: float, before: tuple, after: tuple,
              budget_ms: float, bpm: float) -> Segment:
    lat = meter.lat_ms[: meter.nn]
    blocks = meter.block_ms[: min(meter.nb, len(meter.block_ms))]
    cpu = meter.block_cpu_ms[: len(blocks)]
    delta = [a - b for a, b in zip(after, before, strict=True)]
    return Segment(
        start_min, end_min, delta[0], round(rss_mb(), 1),
        _pct(lat, 50), _pct(lat, 90), _pct(lat, 99), float(lat.max()) if len(lat) else 0.0,
        _pct(meter.lat_cpu_ms[: meter.nn], 99),
        _pct(blocks, 50), _pct(blocks, 99), float(blocks.max()) if len(blocks) else 0.0,
        _pct(cpu, 99), int((cpu > BUDGET_MS).sum()),
        int(meter.nb), int((blocks > BUDGET_MS).sum()),
        int((meter.decision_ms[: meter.nn] > budget_ms).sum()), delta[1],
        delta[2], delta[3], delta[4], delta[5],
        _pct(meter.listen_ms[: min(meter.nl, len(meter.listen_ms))], 99), round(bpm, 1),
        meter.beats,
    )  # fmt: skip


def soak(minutes: float, seed: int, segment_min: float = 10.0, warmup_s: float = 600.0,
         ensemble: str = "quartet", arranger: str = "lstm", style: str = "model",
         progress: bool = True, trace_heap: bool = False, fuse: bool = True,
         live_clock: bool = True) -> dict:
    """Run the soak: ``warmup_s`` of playing, then ``minutes`` measured in segments, then
    the ending. A dict of per-segment figures and the final note check."""
    wall0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        log = Path(tmp) / "synth.log"
        s = Soak(warmup_s + 60.0 * minutes, seed, ensemble, arranger, log, style, fuse, live_clock)
        budget_ms = s.arranger.stats().budget_ns / 1e6 or math.inf
        seg_blocks = int(segment_min * 60 * RATE / PERIOD)
        meter = Meter(seg_blocks + RATE // PERIOD, int(segment_min * 60 * 40))
        warm = int(warmup_s * RATE / PERIOD)
        # The same playing first: kernels compiled, caches, pools and allocators settled.
        s.run_blocks(warm, meter)
        gc.collect()
        rss0 = rss_mb()
        if trace_heap:  # Python objects only (numpy data included), native memory aside
            tracemalloc.start()
        heap = [_heap_mb()]
        meter.reset()
        segments = []
        play_blocks = int(s.seconds * RATE / PERIOD)
        while s.k < play_blocks:
            before = s.totals()
            start_min = (s.k - warm) * PERIOD / RATE / 60
            s.run_blocks(min(seg_blocks, play_blocks - s.k), meter)
            gc.collect()
            bpm = s.listener.state(s.listener.time).tempo
            seg = summarize(
                meter,
                start_min,
                (s.k - warm) * PERIOD / RATE / 60,
                before,
                s.totals(),
                budget_ms,
                bpm,
            )
            segments.append(seg)
            heap.append(_heap_mb())
            meter.reset()
            if progress:
                print(json.dumps(asdict(seg)), flush=True)
        pending, voices = s.finish(meter)
        s.synth.close_log()
        check = check_log(log)
        player_channels = set(s.performer.setup.channels)
        s.jam.close()
    rss_end = segments[-1].rss_mb if segments else rss0
    return {
        "minutes": minutes, "seed": seed, "ensemble": ensemble, "arranger": arranger,
        "band_style": style, "warmup_s": warm * PERIOD / RATE, "rss_after_warmup_mb": rss0,
        "rss_growth_mb": round(rss_end - rss0, 1),
        "rss_max_mb": max([seg.rss_mb for seg in segments] + [rss0]),
        "rss_by_minute_mb": s.rss_by_minute,
        "python_heap_mb": heap,  # traced at the start of each segment and at the end
        "segments": [asdict(seg) for seg in segments],
        "check": asdict(check),
        "player_channels": sorted(player_channels),
        "band_pending_at_end": pending, "voices_after_shutdown": voices,
        "fused": fuse, "heard_tempo": s.tempo_check(),
        "wall_s": round(time.perf_counter() - wall0, 1), "budget_ms": BUDGET_MS,
        "decision_budget_ms": budget_ms, "load_average_end": round(os.getloadavg()[0], 1),
    }  # fmt: skip


def _heap_mb() -> float:
    return round(tracemalloc.get_traced_memory()[0] / 2**20, 3)


def passed(r: dict) -> bool:
    c = r["check"]
    return (
        not c["sounding_at_end"]
        and not c["pedal_down_at_end"]
        and c["held_over_10s"] == 0
        and c["all_off_before_end"] == 0
        and r["voices_after_shutdown"] == 0
        and r["rss_growth_mb"] <= 20.0
    )


def markdown(r: dict, command: str) -> str:
    from instrument.report import markdown_table

    header = ["minutes", "notes", "RSS MB", "latency p50 / p90 / p99 / max ms", "latency CPU p99",
              "block p50 / p99 / max ms", "block CPU p99", "blocks over 2.67 ms: wall / CPU",
              "decisions over budget", "band beats planned / late or skipped / late notes",
              "listener call p99 ms", "heard BPM"]
    rows = [[f"{g['start_min']:.0f}-{g['end_min']:.0f}", g["notes"], g["rss_mb"],
             f"{g['lat_p50']:.3f} / {g['lat_p90']:.3f} / {g['lat_p99']:.3f} / "
             f"{g['lat_max']:.2f}", f"{g['lat_cpu_p99']:.3f}",
             f"{g['block_p50']:.3f} / {g['block_p99']:.3f} / {g['block_max']:.2f}",
             f"{g['block_cpu_p99']:.3f}", f"{g['xruns']} / {g['cpu_xruns']} of {g['blocks']}",
             f"{g['decisions_over_budget']}",
             f"{g['band_beats']} / {g['band_late_plans']} / {g['band_late_notes']}",
             f"{g['listener_p99']:.2f}", g["listener_bpm"]]
            for g in r["segments"]]  # fmt: skip
    c = r["check"]
    verdict = "met" if passed(r) else "NOT met"
    load = r.get("load_average_end", os.getloadavg()[0])
    return "\n".join([
        "## Soak: an hour of dense playing, fast-forwarded",
        "",
        f"Seeded performance (seed {r['seed']}): chords and runs at ~20 notes/s, sustain "
        "pedal, pitch-bend gestures, a 5 s rest every ~3 minutes. The real Performer with "
        f"the `{r['arranger']}` arranger on the `{r['ensemble']}` ensemble, FluidSynth "
        "rendering 128-frame blocks at 48 kHz, the causal listener hearing that audio in "
        f"512-frame blocks, and the jam band (`--style {r['band_style']}`) on the "
        "listener's beat clock and chords, wired as `instrument jam --listen` wires them "
        "(the band hears the room: the player and itself), all in one process on the "
        "audio clock "
        f"({r['warmup_s'] / 60:g} min of warm-up, then {r['minutes']:g} measured minutes, "
        f"of audio in {r['wall_s'] / 60:.1f} min of wall clock; segments count from the "
        "end of the warm-up). "
        "Latency: the MIDI message handed to the performer -> FluidSynth's note-on call "
        "returned (arranger decision included). Block: the performer's work for the "
        "block's messages + rendering it, against the 2.67 ms period (a slower block "
        "would be an xrun live); CPU columns count the thread's own CPU time only, so a "
        "gap between wall and CPU is time the shared machine gave to other processes. "
        "Decisions over budget: LSTM steps over the guard's "
        f"{r['decision_budget_ms']:.1f} ms (each sends the next note to the zone split).",
        "",
        markdown_table(header, rows),
        "",
        f"- Memory: {r['rss_after_warmup_mb']:.1f} MB after a {r['warmup_s']:.0f} s "
        f"warm-up, growth {r['rss_growth_mb']:+.1f} MB by the end (bound 20 MB), "
        f"max {r['rss_max_mb']:.1f} MB. RSS at each minute from the start, warm-up "
        "included (MB): "
        + ", ".join(f"{v:g}" for v in r["rss_by_minute_mb"]) + ".",
        f"- Notes: {c['note_ons']} note-ons reached the synth (player and band); "
        f"{c['ended_by_note_off']} ended by their note-off on the channel they went to, "
        f"{c['restruck']} restruck while sounding (ended by the same key's note-off), "
        f"{c['all_off_before_end']} ended by an all-notes-off before the end; sounding at "
        f"the end: {len(c['sounding_at_end'])}, pedal down on "
        f"{len(c['pedal_down_at_end'])} channels; FluidSynth voices 5 s after shutdown: "
        f"{r['voices_after_shutdown']:g}. Longest a note sounded before its note-off: "
        f"{c['longest_s']:.1f} s (from {c['longest_at_s'] / 60:.1f} min); notes held over "
        f"10 s: {c['held_over_10s']}. Bounds {verdict}.",
        "",
        f"Command: `{command}`. Machine: {platform.machine()} 2-core CPU VM shared with "
        f"other jobs (load average {load:.1f} at the end), Python "
        f"{platform.python_version()}, no GPU used. Date: {datetime.date.today()}.",
    ])  # fmt: skip


def _command(argv: list[str]) -> str:
    """The command line to print, without where this run kept its JSON (a local path)."""
    args, skip = [], False
    for a in argv:
        if skip or a in ("--write", "--json") or a.startswith("--json="):
            skip = a == "--json"
            continue
        args.append(a)
    return " ".join(["python bench/bench_soak.py", *args, "--write"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=60.0, help="measured, after the warm-up")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--segment", type=float, default=10.0, help="minutes per reported segment")
    ap.add_argument("--warmup", type=float, default=600.0,
                    help="seconds of playing before the measured minutes (memory settles)")
    ap.add_argument("--ensemble", default="quartet")
    ap.add_argument("--arranger", default="lstm")
    ap.add_argument("--style", default="model", help="the band's style (jam --style)")
    ap.add_argument("--hear-self", action="store_true",
                    help="do not tell the listener the band's own notes nor the player's keys")
    ap.add_argument("--audio-clock", action="store_true",
                    help="the band's worker passes take no time (a run independent of load)")
    ap.add_argument("--json", default=None, metavar="PATH", help="also write the figures here")
    ap.add_argument("--trace-heap", action="store_true",
                    help="trace the Python heap after the warm-up (slower; for the test)")
    ap.add_argument("--write", action="store_true",
                    help="write the section into docs/benchmarks.md and docs/reliability.md")
    args = ap.parse_args(argv)
    if args.minutes < 1:
        raise SystemExit("--minutes must be at least 1")
    r = soak(
        args.minutes,
        args.seed,
        args.segment,
        args.warmup,
        args.ensemble,
        args.arranger,
        args.style,
        trace_heap=args.trace_heap,
        fuse=not args.hear_self,
        live_clock=not args.audio_clock,
    )
    if args.json:  # first: the figures survive a failure below
        Path(args.json).write_text(json.dumps(r, indent=1) + "\n")
    md = markdown(r, _command(argv if argv is not None else sys.argv[1:]))
    print(md)
    if args.write:
        from instrument.report import write_section

        write_section("benchmarks.md", "soak", md)
        write_section("reliability.md", "soak", md.replace("## Soak", "### Soak", 1))
    return 0 if passed(r) else 1


if __name__ == "__main__":
    sys.exit(main())
