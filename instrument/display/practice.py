"""The practice view: the chord to play, the verdict on the last one, timing and score.

The practice loop (``instrument.practice.live.PracticeLoop``) keeps its own thread, ticking
every few milliseconds, so the metronome clicks on time whatever the drawing costs. Its
view here (``StageFeed``) only stores: the latest ``Position`` (one assignment) and the
results (a deque). The main thread takes the results, keeps them in the history database
(sqlite stays in the thread that opened it) and shows them.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

import pygame

from instrument.display.model import Feedback, StageModel
from instrument.display.stage import View
from instrument.practice.engine import ChordResult, PracticeEngine, Target, mistakes
from instrument.practice.live import PracticeLoop, TerminalView
from instrument.timing import BeatState

NEXT_SHOWN = 4


class StageFeed:
    """The loop's view, called in the loop's thread: it stores, never draws or blocks.

    latest: the engine's ``Position`` at the last tick (replaced whole: one assignment).
    """

    def __init__(self):
        self.latest = None
        self.results: deque[ChordResult] = deque()

    def position(self, engine: PracticeEngine, now: float) -> None:
        self.latest = engine.position(now)

    def result(self, r: ChordResult) -> None:
        self.results.append(r)

    def summary(self, s: dict) -> None:
        pass


def verdict(r: ChordResult) -> str:
    """What was wrong (or right) with a chord, in a few words."""
    if r.missed:
        return "missed"
    if r.correct:
        return "right" if r.attempt == 1 else f"right at attempt {r.attempt}"
    return mistakes(r)


class Score:
    """The running score over first attempts (what ``PracticeEngine.summary`` counts): a
    close call earns half a point."""

    def __init__(self):
        self.chords = self.correct = self.close = 0
        self.points = 0.0
        self.abs_timing: list[float] = []

    def add(self, r: ChordResult) -> None:
        if r.attempt != 1:
            return
        self.chords += 1
        self.correct += r.correct
        self.close += r.close
        self.points += r.credit
        if r.timing_ms is not None:
            self.abs_timing.append(abs(r.timing_ms))

    def text(self) -> str:
        if not self.chords:
            return ""
        timing = ""
        if self.abs_timing:
            timing = f"   timing ±{sum(self.abs_timing) / len(self.abs_timing):.0f} ms"
        close = f", {self.close} close" if self.close else ""
        share = self.points / self.chords
        return f"score {self.correct}/{self.chords} right{close} ({share:.0%}){timing}"


def feedback_of(r: ChordResult, score: Score) -> Feedback:
    played = "-" if r.missed else (r.played_chord.name if r.played_chord else "?")
    return Feedback(r.target.chord.name, played, r.correct, r.timing_ms, verdict(r),
                    score.text(), close=r.close)


def chart_beat(engine: PracticeEngine, beat: float, target: Target | None) -> float:
    """The chart's own beat (bar 1 = 0; the count-in negative) at timeline ``beat``.

    In a looped section the timeline runs on while the chart goes round: the target's
    chart position gives the offset.
    """
    if target is None:
        return beat - engine.count_in_beats
    bpb = engine.chart.beats_per_bar
    span = engine.chart.spans[target.span]
    return beat - (target.start - max(span.start, target.bar * bpb))


class PracticeView(View):
    """engine: the session's ``PracticeEngine``. new_session(): a history session id (or
    None without a history); record(session, result): keeps a result (main thread).
    sound(channel, pitch, velocity): the metronome's voice."""

    name = "practice"
    help = ["F6: start the chart again"]

    def __init__(self, engine: PracticeEngine,
                 new_session: Callable[[], int | None] = lambda: None,
                 record: Callable[[int, ChordResult], None] | None = None,
                 end_session: Callable[[int], None] | None = None,
                 sound: Callable[[int, int, int], None] | None = None, echo: bool = True,
                 period: float = 0.005,
                 next_engine: Callable[[], PracticeEngine | None] | None = None):
        """next_engine(): the engine of the next round once this one has finished (a
        drill), or None when there is none."""
        self.engine = engine
        self.next_engine = next_engine
        self.new_session, self.record, self.end_session = new_session, record, end_session
        self.feed = StageFeed()
        self.loop = PracticeLoop(engine, None, None, view=self.feed, sound=sound)
        self.terminal = TerminalView() if echo else None
        self.period = period
        self.session: int | None = None
        self.score = Score()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last: Feedback | None = None

    # -- the loop's thread -----------------------------------------------------------------
    def _work(self) -> None:
        self.loop.start()
        while not self._stop.is_set() and self.loop.tick():
            time.sleep(self.period)

    def start(self) -> None:
        """Count in and play the chart from the top, in a fresh history session."""
        self.session = self.new_session()
        self.score = Score()
        self._last = None
        self.feed.latest = None  # not the last run's position until the new one ticks
        self._stop.clear()
        self._thread = threading.Thread(target=self._work, name="practice", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None

    def attach(self, model: StageModel) -> None:
        self.start()  # now that the window is up: the count-in starts on screen

    def close(self) -> None:
        self.stop()
        self._take_results()
        self._end()

    def _end(self) -> None:
        if self.session is not None and self.engine.finished and self.end_session is not None:
            self.end_session(self.session)
            self.session = None

    # -- the main thread -------------------------------------------------------------------
    def _take_results(self) -> None:
        while self.feed.results:
            r = self.feed.results.popleft()
            if self.record is not None and self.session is not None:
                self.record(self.session, r)
            if self.terminal is not None:
                self.terminal.result(r)
            self.score.add(r)
            self._last = feedback_of(r, self.score)

    def frame(self, model: StageModel, now: float) -> None:
        self._take_results()
        model.feedback = self._last
        pos = self.feed.latest
        if pos is None:
            return
        engine = self.engine
        shown = pos.current or pos.following
        model.chord = pos.current.chord.name if pos.current else "-"
        model.next_chords = self._coming(pos)
        model.beat = BeatState(engine.tempo, chart_beat(engine, pos.beat, shown),
                               engine.chart.beats_per_bar, math.inf)
        model.pulse = not (pos.waiting or engine.finished)
        if engine.finished and self.next_engine is not None:
            self._end()
            nxt = self.next_engine()
            if nxt is not None:  # the drill's next round: count in again, a new session
                self.stop()
                self.engine = self.loop.engine = nxt
                self.start()
                model.caption = "drill: the chords you missed"
                return
            self.next_engine = None
        if engine.finished:
            self._end()
            model.caption = "finished: F6 plays it again"
        elif pos.waiting and pos.current is not None:
            model.caption = f"waiting for you: play {pos.current.chord.name}"
        elif pos.counting_in:
            first = pos.following.chord.name if pos.following else "-"
            model.caption = f"count-in: first chord {first}"
        else:
            model.caption = f"loop {pos.current.loop + 1}" if pos.current and \
                pos.current.loop else ""

    def idle(self, model: StageModel, now: float) -> None:
        self._take_results()  # into the history now, whichever view is shown

    def _coming(self, pos) -> list[str]:
        if pos.following is None:
            return []
        targets = self.engine.targets[pos.following.index:pos.following.index + NEXT_SHOWN]
        return [t.chord.name for t in targets]

    def key(self, key: int, model: StageModel, now: float) -> bool:
        if key != pygame.K_F6:
            return False
        self.stop()
        self._take_results()
        self._end()
        self.start()
        model.status.message = "from the top"
        return True
