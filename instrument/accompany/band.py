"""The live band: note events and a beat clock in, timed MIDI out to a Synth.

Three threads, and the MIDI callback touches only the first:

* the caller's MIDI callback calls ``Band.note_on`` / ``note_off``: each appends one tuple
  to a deque and returns (no lock, no model, no synth call);
* the planner worker (``Band._work``) wakes every ``tick`` seconds: it drains the input,
  follows the chord (fingered chords from the lower zone, the listener, or a chart), and
  plans each beat as soon as the clock is within ``lookahead`` beats of it. A plan not
  ready ``margin`` seconds before its beat is replaced by the style's rule-based beat
  (counted in ``stats``); a note whose time has passed when its plan is ready is dropped
  and counted as late;
* the dispatcher (``Dispatcher``) holds the planned notes in beats, converts them to
  seconds with the clock at the last moment and sends each to the synth when due,
  recording how late each note-on went out. Planning never delays it.

Until sent, planned notes can still change: a new fingered chord replans bass and comping,
and a player note cancels the continuation.
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from instrument.accompany.fingered import FingeredChords
from instrument.accompany.notes import (
    BASS,
    COMP,
    DRUMS,
    MELODY,
    PART_PROGRAMS,
    BandNote,
    ChordTrack,
    tones_of,
)
from instrument.accompany.planner import BandPlanner
from instrument.ensemble import CHANNELS, DRUM_CHANNEL, Ensemble
from instrument.errors import InstrumentError
from instrument.synth.base import SynthPort
from instrument.timing import BeatClock, BeatState


def band_channels(ensemble: Ensemble | None) -> dict[int, int]:
    """MIDI channels for the band's parts: the last ones the ensemble leaves free."""
    used = len(ensemble.parts) if ensemble is not None else 1
    free = list(CHANNELS[used:])
    if len(free) < 3:
        free = list(CHANNELS[-3:])
    return {MELODY: free[-3], BASS: free[-2], COMP: free[-1], DRUMS: DRUM_CHANNEL}


class ListenedChords:
    """The listener's chord (``instrument.listen.tracker.Listener.chord``, a Harte label)
    as the band's chord source, in place of ``FingeredChords``: no key is a chord key."""

    split = -1

    def __init__(self, listener):
        self.listener = listener
        self.played_at = 0.0
        self._label: str | None = None
        self._found = None

    def note_on(self, pitch: int, now: float) -> None:  # the listener hears, keys do not count
        pass

    def note_off(self, pitch: int, now: float) -> None:
        pass

    def chord(self, now: float):
        from instrument.harmony.chords import parse_chord

        label = self.listener.chord
        if label != self._label:
            self._label = label
            try:
                chord = parse_chord(label)
            except InstrumentError:
                return self._found
            if chord.root is not None:  # silence or no harmony: the chord in force goes on
                self._found, self.played_at = (chord, tones_of(chord)), now
        return self._found


STATS_KEPT = 100_000  # timings kept for percentiles (a few hours of a busy band)


@dataclass
class DispatchStats:
    sent: int = 0
    stale: int = 0  # note-ons not sent: the clock had jumped past them by more than max_late
    # seconds, per note-on; the latest ones only, so that hours of playing stay small
    lateness: deque[float] = field(default_factory=lambda: deque(maxlen=STATS_KEPT))


NOTE_ON_EVENT, NOTE_OFF_EVENT = 1, 0


class Event(NamedTuple):
    """A planned note-on or note-off in the dispatcher's heap. Fields compare in this
    order: by beat, then by the order committed (unique: nothing after it is compared)."""

    beat: float
    order: int
    kind: int  # NOTE_ON_EVENT or NOTE_OFF_EVENT
    channel: int
    pitch: int
    velocity: int
    note_id: int  # the note-on's order: its note-off carries the same
    part: int


class Dispatcher:
    """A precise scheduler thread: sends the band's notes to ``synth`` when they are due.

    Notes are kept in beats and turned into time only here, at the last moment, with the
    clock's current tempo (a tap-tempo change moves notes already planned). A note-off is
    only sent if no newer note-on of the same key came since, so overlapping notes of one
    pitch never cut each other short. Events: ``Event`` (beat, order, kind, channel, pitch,
    velocity, note id, part).

    listeners: called as fn(on, pitch, velocity, part, channel, time) after every note the
    synth was told to start or end (the display's roll). They run in the dispatcher's (or
    the planner's) thread, so they must only enqueue.
    """

    def __init__(
        self,
        synth: SynthPort,
        clock: BeatClock,
        now: Callable[[], float] = time.monotonic,
        max_wait: float = 0.01,
        max_late: float = 0.1,
    ):
        self.synth = synth
        self.clock = clock
        self.now = now
        self.max_wait = max_wait  # re-read the clock at least this often (tempo changes)
        self.max_late = max_late  # s; a note-on later than this is dropped, not blurted out
        self._heap: list[Event] = []
        self._cv = threading.Condition()
        self._order = itertools.count()
        self._latest: dict[tuple[int, int], int] = {}  # (channel, pitch) -> note id sounding
        self._part_of: dict[int, int] = {}  # sounding note id -> part
        self._running = False
        self._thread: threading.Thread | None = None
        self.stats = DispatchStats()
        self.listeners: list[Callable[[bool, int, int, int, int, float], None]] = []

    def start(self) -> None:
        self._running = True
        self._thread = threading.Thread(target=self._run, name="band-dispatch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cv:
            self._running = False
            self._cv.notify()
        if self._thread is not None:
            self._thread.join(timeout=1.0)

    def commit(self, notes: list[BandNote], channels: dict[int, int]) -> None:
        with self._cv:
            for n in notes:
                nid = next(self._order)
                ch = channels[n.part]
                on = Event(n.onset, nid, NOTE_ON_EVENT, ch, n.pitch, n.velocity, nid, n.part)
                off = Event(n.onset + n.duration, next(self._order), NOTE_OFF_EVENT, ch,
                            n.pitch, 0, nid, n.part)
                heapq.heappush(self._heap, on)
                heapq.heappush(self._heap, off)
            self._cv.notify()

    def release(self, parts: set[int], from_beat: float) -> None:
        """Drop ``parts``' notes from ``from_beat`` on and end their sounding notes now."""
        with self._cv:
            # A note whose start is kept keeps its end, even when it has not started yet
            # (``from_beat`` ahead of it: a clock that jumped); other ends go, the sounding
            # notes being ended below.
            kept = {
                e.note_id
                for e in self._heap
                if e.kind == NOTE_ON_EVENT and not (e.part in parts and e.beat >= from_beat)
            }
            self._heap = [
                e
                for e in self._heap
                if not (
                    e.part in parts
                    and (e.beat >= from_beat or e.kind == NOTE_OFF_EVENT)
                    and e.note_id not in kept
                )
            ]
            heapq.heapify(self._heap)
        sounding = [
            (ch, p)
            for (ch, p), nid in list(self._latest.items())
            if nid >= 0 and self._part_of.get(nid) in parts
        ]
        now = self.now()
        for ch, p in sounding:
            part = self._part_of.pop(self._latest[(ch, p)], -1)
            self._latest[(ch, p)] = -1
            self.synth.noteoff(ch, p)
            self._notify(False, p, 0, part, ch, now)

    def clear(self) -> None:
        """Forget every planned note (the band is stopped: nothing of it may sound later)."""
        with self._cv:
            self._heap.clear()
        self._latest.clear()
        self._part_of.clear()

    def _notify(self, on: bool, pitch: int, velocity: int, part: int, channel: int,
                t: float) -> None:
        for fn in self.listeners:
            try:
                fn(on, pitch, velocity, part, channel, t)
            except Exception:  # noqa: BLE001 - a broken listener must not stop the band
                pass

    def pending(self) -> int:
        with self._cv:
            return len(self._heap)

    def dispatch(self, now: float) -> float:
        """Send everything due at ``now``; returns seconds until the next event (or inf)."""
        state = self.clock.state(now)
        spb = 60.0 / state.tempo
        while True:
            with self._cv:
                if not self._heap or self._heap[0].beat > state.beat:
                    return (self._heap[0].beat - state.beat) * spb if self._heap else math.inf
                ev = heapq.heappop(self._heap)
            self._send(ev, (state.beat - ev.beat) * spb)

    def _run(self) -> None:
        while self._running:
            wait = self.dispatch(self.now())
            with self._cv:
                if self._running:
                    self._cv.wait(min(wait, self.max_wait))

    def _send(self, ev: Event, late: float) -> None:
        _, _, kind, ch, pitch, vel, nid, part = ev
        if kind == NOTE_ON_EVENT and late > self.max_late:  # the clock jumped past: off moot
            self.stats.stale += 1
        elif kind == NOTE_ON_EVENT:
            self.synth.noteon(ch, pitch, vel)
            old = self._latest.get((ch, pitch), -1)
            self._latest[(ch, pitch)] = nid
            self._part_of[nid] = part
            self.stats.sent += 1
            self.stats.lateness.append(late)
            if self.listeners:
                now = self.now()
                if old >= 0:  # the same key struck again: for listeners the old note ends
                    self._notify(False, pitch, 0, self._part_of.pop(old, part), ch, now)
                self._notify(True, pitch, vel, part, ch, now)
        elif self._latest.get((ch, pitch)) == nid:
            self.synth.noteoff(ch, pitch)
            self._latest[(ch, pitch)] = -1
            self._part_of.pop(nid, None)
            if self.listeners:
                self._notify(False, pitch, 0, part, ch, self.now())


@dataclass
class BandStats:
    beats_planned: int = 0
    late_plans: int = 0  # model plans replaced by the rule-based beat
    late_notes: int = 0  # notes whose due time had passed at commit (dropped)
    plan_seconds: deque[float] = field(default_factory=lambda: deque(maxlen=STATS_KEPT))


class Band:
    """Plays ``planner``'s band on ``synth`` following ``clock``.

    chords: a ``FingeredChords`` reading the keyboard's lower zone (keys below its split are
    the chord hand, the rest the player's melody), a ``ListenedChords``, or None when the
    planner's chord track is already filled (a chart). clock: any ``BeatClock`` (the
    internal one, or the listener). sync_start: an internal clock starts on the first chord.
    """

    def __init__(
        self,
        synth: SynthPort,
        clock: BeatClock,
        planner: BandPlanner,
        chords: FingeredChords | None = None,
        channels: dict[int, int] | None = None,
        lookahead: float = 1.0,
        margin: float = 0.05,
        tick: float = 0.005,
        sync_start: bool = True,
        now: Callable[[], float] = time.monotonic,
    ):
        self.synth = synth
        self.clock = clock
        self.planner = planner
        self.detector = chords
        self.channels = channels or band_channels(None)
        self.lookahead = lookahead
        self.margin = margin
        self.tick = tick
        self.sync_start = sync_start
        self.now = now
        self.dispatcher = Dispatcher(synth, clock, now)
        self.stats = BandStats()
        self._inbox: deque[tuple[int, int, int, float]] = deque()
        self._next_beat: int | None = None
        self._chord = None
        self._running = False
        self._thread: threading.Thread | None = None
        self.on_plan: Callable[[int, list[BandNote]], None] | None = None  # display hook
        # the sections asked for before the start (a chart's own): kept when rewinding
        self._first_requests = list(planner.sections.requests)

    # -- MIDI callback side: append and return ---------------------------------------------
    def note_on(self, pitch: int, velocity: int, when: float | None = None) -> None:
        self._inbox.append((1, pitch, velocity, self.now() if when is None else when))

    def note_off(self, pitch: int, when: float | None = None) -> None:
        self._inbox.append((0, pitch, 0, self.now() if when is None else when))

    def request_section(self, name: str) -> None:
        self.planner.sections.request(name, self._beat(self.now()))

    # -- set-up --------------------------------------------------------------------------------
    def setup_programs(self) -> None:
        for part, program in PART_PROGRAMS.items():
            self.synth.program(self.channels[part], program)

    def start(self) -> None:
        self.dispatcher.start()
        self._running = True
        self._thread = threading.Thread(target=self._work, name="band-planner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self.dispatcher.stop()
        for ch in set(self.channels.values()):
            self.synth.cc(ch, 123, 0)  # all notes off

    @property
    def running(self) -> bool:
        return self._running

    def rewind(self) -> None:
        """Back to before the first beat, to start again (only while stopped: ``stop``).

        The clock stands at its count-in, planned notes and the section requests made while
        playing are gone (a chart's own ending stays), the planner forgets the phrase. With
        fingered chords the followed chords are forgotten too (the next chord starts the
        band again); a chart's chords stay.
        """
        if self._running:
            raise InstrumentError("rewind the band only while it is stopped")
        self.clock.stop()
        self.dispatcher.clear()
        self.planner.sections.requests[:] = self._first_requests
        self.planner.reset()
        self._inbox.clear()
        self._next_beat = None
        self._chord = None
        if self.detector is not None:
            self.planner.chords = ChordTrack()
            # the chord in force before the stop starts the band again at once
            self.detector.played_at = self.now()

    # -- the worker ------------------------------------------------------------------------------
    def _beat(self, t: float) -> float:
        return self.clock.state(t).beat

    def _running_clock(self) -> bool:
        s = self.clock.state(self.now())
        return math.isfinite(s.next_beat_time)

    def _work(self) -> None:
        while self._running:
            self.step()
            time.sleep(self.tick)

    def step(self) -> None:
        """One pass of the worker (also called directly by tests and simulations)."""
        now = self.now()
        self._drain(now)
        if not self._running_clock():
            return
        state = self.clock.state(now)
        if self._next_beat is None:
            self._next_beat = (
                math.floor(state.beat) if state.beat >= 0 else math.ceil(state.beat - 1e-9)
            )
            self._next_beat = max(self._next_beat, -self.planner.count_in)
        self._follow_jumps(state)
        while self._next_beat <= state.beat + self.lookahead:
            b = self._next_beat
            self._next_beat += 1
            if b >= self.planner.sections.end_beat():
                break
            t0 = time.perf_counter()
            notes = self.planner.plan(b, state.beat)
            self.stats.plan_seconds.append(time.perf_counter() - t0)
            self.stats.beats_planned += 1
            now = self.now()
            state = self.clock.state(now)
            if state.beat + self.margin * state.tempo / 60 > b:  # plan came too late
                self.stats.late_plans += 1
                self.planner.forget_band_from(b)
                notes = self.planner.fallback(b)
            self._commit(notes, state.beat)
            if self.on_plan is not None:
                self.on_plan(b, notes)

    def _follow_jumps(self, state: BeatState) -> None:
        """Keep planning where the clock is when it jumps (a listener re-counting the bar).

        Beats wholly past are skipped, not planned late (and counted as late plans); after
        a jump back, planning starts again from the clock's beat.
        """
        passed = math.floor(state.beat) - self._next_beat
        if passed > 0:
            self.stats.late_plans += passed
            self._next_beat += passed
        elif self._next_beat > state.beat + self.lookahead + 2:
            self._next_beat = math.floor(state.beat) + 1
            self.planner.forget_band_from(self._next_beat)

    def _drain(self, now: float) -> None:
        while self._inbox:
            is_on, pitch, velocity, t = self._inbox.popleft()
            if self.detector is not None and pitch < self.detector.split:
                (self.detector.note_on if is_on else self.detector.note_off)(pitch, t)
                continue
            if not self._running_clock():
                continue
            beat = self._beat(t)
            if is_on:
                self.planner.player_on(pitch, beat)
                self._stop_continuation(beat, t)
            else:
                self.planner.player_off(pitch, beat)
        if self.detector is not None:
            self._follow_chord(now)

    def _stop_continuation(self, beat: float, t: float) -> None:
        self.dispatcher.release({MELODY}, beat)
        self.planner.forget_melody_from(beat)

    def _follow_chord(self, now: float) -> None:
        found = self.detector.chord(now)
        if found is None or found == self._chord:
            return
        self._chord = found
        _, tones = found
        starting = not self._running_clock()
        if starting:
            if not self.sync_start:
                return
            # Sync start: the chord's strike is the band's first beat (the count-in's, or
            # beat 0), so the band's grid is the player's; what is already due of that
            # beat sounds now (the chord is known only ``settle`` after its strike).
            self.clock.start(self.detector.played_at)
        beat = self._beat(self.detector.played_at)
        # a chord played a little after the beat belongs to that beat
        x = math.floor(beat) if beat - math.floor(beat) < 0.25 else beat
        x = max(x, 0.0)
        chords = self.planner.chords
        if chords.starts and x < chords.starts[-1]:
            x = chords.starts[-1]
        chords.add(x, tones)
        if starting:
            self._start_now(now)
        else:
            self._replan_from(x, now)

    def _start_now(self, now: float) -> None:
        """The clock has just started under way: the beat in progress is the style's
        (ready at once, no model wait), its notes already due sounding from now."""
        state = self.clock.state(now)
        b = math.floor(state.beat)
        self._next_beat = b + 1
        notes = self.planner.fallback(b)
        self._commit(notes, state.beat, restrike=True)
        if self.on_plan is not None:
            self.on_plan(b, notes)

    def _replan_from(self, x: float, now: float) -> None:
        """The chord changed at beat ``x``: replan bass and comping from there."""
        if self._next_beat is None:
            return
        parts = {BASS, COMP}
        self.dispatcher.release(parts, x)
        self.planner.forget_band_from(x, parts)
        state = self.clock.state(now)
        for b in range(math.floor(x), self._next_beat):
            kept = []
            for n in self.planner.plan(b, state.beat, remember=False):
                if n.part not in parts or n.onset + n.duration <= state.beat:
                    continue
                if n.onset < state.beat:  # already due: restrike what is left of it now
                    n = BandNote(
                        n.part, n.pitch, n.velocity, state.beat, n.onset + n.duration - state.beat
                    )
                if n.onset >= x:
                    kept.append(n)
            self.planner.remember(kept)
            self._commit(kept, state.beat)

    def _commit(self, notes: list[BandNote], beat: float, restrike: bool = False) -> None:
        """Hand notes to the dispatcher; those already due at ``beat`` are late: dropped,
        or with ``restrike`` struck at ``beat`` for what is left of them."""
        if restrike:
            notes = [
                n
                if n.onset >= beat
                else BandNote(n.part, n.pitch, n.velocity, beat, n.onset + n.duration - beat)
                for n in notes
                if n.onset + n.duration > beat
            ]
        ok = [n for n in notes if n.onset >= beat]
        self.stats.late_notes += len(notes) - len(ok)
        self.dispatcher.commit(ok, self.channels)
