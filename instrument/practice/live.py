"""The live practice loop: keyboard in, metronome and piano out, feedback in the terminal.

``PracticeLoop`` owns no device. Notes reach it through ``put`` (any thread: it only
enqueues) from one of two sources:

- a MIDI keyboard, through the practice session (``live.practice``: rtmidi input,
  FluidSynth piano): its performer calls our listener for every note it sounds;
- the computer keyboard: typed chord names, one a line (``TypedChords``), played as a
  close voicing the moment Enter is pressed; for a student without a MIDI keyboard.

The main thread calls ``tick`` every few milliseconds: queued notes go into the engine
(with the times they were played), the engine's clicks are sounded on the GM drum
channel, results are stored in the history and printed. Swapping the sources or the
renderer touches nothing in the engine. ``Rounds`` and ``run_rounds`` play the chart, then
a drill's rounds, in turn.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from instrument.display.plain import StatusReport
from instrument.harmony.chords import parse_chord
from instrument.practice.engine import ChordResult, Click, PracticeEngine, mistakes
from instrument.practice.history import History

DRUM_CHANNEL = 9
CLICK_HIGH, CLICK_LOW = 76, 77  # GM hi / lo wood block


@dataclass(frozen=True)
class KeyEvent:
    on: bool
    pitch: int
    velocity: int
    time: float  # time.monotonic()


class TerminalView:
    """Prints the chord coming up and one line of feedback per chord.

    Each verdict goes under the line of the chord it judges: a chord struck early (before
    its bar line was printed) first prints its own line, which is then not repeated.
    """

    def __init__(self, out=None, colour: bool | None = None):
        out = sys.stdout if out is None else out  # the stdout of now, not of the import
        self.out = out
        self.colour = out.isatty() if colour is None else colour
        self._shown = None
        self._announced = None  # the target whose "bar N: play X" line was printed last
        self._engine: PracticeEngine | None = None

    def _c(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.colour else text

    def _target_line(self, target, following, waiting: bool = False) -> str:
        nxt = following.chord.name if following else "(end)"
        wait = "  waiting for you" if waiting else ""
        return f"bar {target.bar + 1:>3}: play {self._c(target.chord.name, '1')}   next {nxt}{wait}"

    def position(self, engine: PracticeEngine, now: float) -> None:
        self._engine = engine
        pos = engine.position(now)
        key = (pos.counting_in, pos.current, pos.following, pos.waiting)
        if key == self._shown:
            return
        self._shown = key
        if pos.counting_in:
            nxt = pos.following.chord.name if pos.following else "-"
            line = f"count-in ... first chord {nxt}"
        elif pos.current is None and pos.following is None:
            line = "end of the chart"
        elif pos.current is None:
            return  # between chords (a bar of no chord): the next line comes with the next
        elif pos.current == self._announced and not pos.waiting:
            return  # its line came already, with an early verdict under it
        else:
            self._announced = pos.current
            line = self._target_line(pos.current, pos.following, pos.waiting)
        print(line, file=self.out, flush=True)

    def result(self, r: ChordResult) -> None:
        want = r.target.chord.name
        shown = self._announced
        if self._engine is not None and (shown is None or r.target.index > shown.index):
            # struck early (before its bar's line came): its line first
            self._announced = r.target
            engine = self._engine
            following = None
            if engine is not None and r.target.index + 1 < len(engine.targets):
                following = engine.targets[r.target.index + 1]
            print(self._target_line(r.target, following), file=self.out, flush=True)
        if r.missed:
            text = self._c(f"  {want:8} missed", "33")
        else:
            played = r.played_chord.name if r.played_chord else "?"
            verdict = (self._c("right", "32") if r.correct else
                       self._c("close", "33") if r.close else self._c("wrong", "31"))
            timing = ""
            if r.timing_ms is not None:
                word = "late" if r.timing_ms > 0 else "early"
                timing = f"  {abs(r.timing_ms):4.0f} ms {word}"
            detail = ""
            if not r.correct:
                detail = f"  ({mistakes(r)})"
            text = f"  {want:8} {verdict}: played {played}{timing}{detail}"
        print(text, file=self.out, flush=True)

    def summary(self, s: dict) -> None:
        print(summary_line(s), file=self.out, flush=True)


def summary_line(s: dict) -> str:
    """The session's score in one line (``PracticeEngine.summary``)."""
    timing = s["mean_abs_timing_ms"]
    t = "-" if timing is None else f"{timing:.0f} ms"
    close = f", {s['close']} close (half credit)" if s.get("close") else ""
    return (f"{s['correct']} of {s['chords']} chords right ({s['accuracy']:.0%}){close}, "
            f"{s['missed']} missed, score {s.get('score', s['accuracy']):.0%}, "
            f"mean timing error {t}")


class PracticeLoop:
    def __init__(
        self,
        engine: PracticeEngine,
        history: History | None = None,
        session: int | None = None,
        view: TerminalView | None = None,
        sound: Callable[[int, int, int], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        health: Callable[[], object] | None = None,
    ):
        """sound(channel, pitch, velocity): a note-on for the metronome (velocity 0 = off).
        health(): the live session's ``health()``, reported when it changes (no window)."""
        self.engine = engine
        self.history = history
        self.session = session
        self.view = view or TerminalView()
        self.sound = sound
        self.clock = clock
        self.events: queue.SimpleQueue[KeyEvent] = queue.SimpleQueue()
        self._click_offs: list[tuple[float, int]] = []
        self.health = health
        self._status = StatusReport()
        self._next_health = 0.0

    def put(self, event: KeyEvent) -> None:
        """Any thread: queue a key event (never blocks)."""
        self.events.put(event)

    def put_message(self, data: list[int]) -> None:
        """Any thread: a raw note message (a file played in with no live session), played
        now; other messages are ignored."""
        from instrument.input.messages import NOTE_OFF, NOTE_ON, parse

        msg = parse(data)
        if msg is not None and msg.kind in (NOTE_ON, NOTE_OFF):
            self.put(KeyEvent(msg.kind == NOTE_ON, msg.note, msg.velocity, time.monotonic()))

    def start(self) -> None:
        self.engine.start(self.clock())

    def tick(self) -> bool:
        """Run everything due; False once the session is over."""
        now = self.clock()
        out = []
        while True:
            try:
                ev = self.events.get_nowait()
            except queue.Empty:
                break
            if ev.on:
                out += self.engine.note_on(ev.pitch, ev.velocity, ev.time)
            else:
                out += self.engine.note_off(ev.pitch, ev.time)
        out += self.engine.process(now)
        for e in out:
            if isinstance(e, Click) and self.sound is not None:
                self.sound(
                    DRUM_CHANNEL, CLICK_HIGH if e.accent else CLICK_LOW, 110 if e.accent else 80
                )
                self._click_offs.append((now + 0.08, CLICK_HIGH if e.accent else CLICK_LOW))
            elif isinstance(e, ChordResult):
                if self.history is not None and self.session is not None:
                    self.history.record(self.session, e)
                self.view.result(e)
        while self._click_offs and self._click_offs[0][0] <= now:
            _, pitch = self._click_offs.pop(0)
            if self.sound is not None:
                self.sound(DRUM_CHANNEL, pitch, 0)
        self.view.position(self.engine, now)
        if self.health is not None and now >= self._next_health:  # 4 Hz: asks the MIDI system
            self._status.update(self.health(), now)
            self._next_health = now + 0.25
        return not self.engine.finished

    def run(self, period: float = 0.005, duration: float | None = None) -> dict:
        self.start()
        end = self.clock() + duration if duration else float("inf")
        while self.tick() and self.clock() < end:
            time.sleep(period)
        if self.health is not None:
            self._status.finish(self.health())  # the xruns not told yet
        summary = self.engine.summary()
        self.view.summary(summary)
        if self.history is not None and self.session is not None and self.engine.finished:
            self.history.end_session(self.session)
        return summary


class HeardChords:
    """Chords heard through the listener (``instrument jam/practice --listen``) as keys.

    Each chord change becomes the release of the previous chord's voicing and the strike
    of the new one, at the moment the listener places the change. Called from the
    listener's thread; ``put`` must not block (``PracticeLoop.put``).
    """

    def __init__(self, put: Callable[[KeyEvent], None]):
        self.put = put
        self._held: list[int] = []

    def chord(self, t: float, label: str) -> None:
        for p in self._held:
            self.put(KeyEvent(False, p, 0, t))
        try:
            self._held = TypedChords.voicing(label)
        except Exception:  # noqa: BLE001 - a label we cannot voice is heard as silence
            self._held = []
        for p in self._held:
            self.put(KeyEvent(True, p, 90, t))


class TypedChords:
    """The computer keyboard as input: type a chord name and Enter to play it.

    The chord sounds (if ``sound`` is given) and reaches the loop as a close voicing
    around middle C, struck when Enter was pressed and released ``hold`` seconds later.
    """

    def __init__(self, loop: PracticeLoop, stream=sys.stdin, hold: float = 0.6, sound=None):
        self.loop, self.stream, self.hold, self.sound = loop, stream, hold, sound
        self.thread = threading.Thread(target=self._read, daemon=True)

    def start(self) -> None:
        self.thread.start()

    @staticmethod
    def voicing(name: str) -> list[int]:
        chord = parse_chord(name)
        if chord.root is None:
            return []
        bass = 48 + chord.bass_pc
        upper = sorted(60 + pc for pc in chord.pitch_classes)
        return [bass] + upper

    def _read(self) -> None:
        for line in self.stream:
            t = time.monotonic()
            name = line.strip()
            if not name:
                continue
            try:
                pitches = self.voicing(name)
            except Exception:  # noqa: BLE001 - a typo: say so and keep listening
                print(f"  (not a chord: {name!r})", flush=True)
                continue
            for p in pitches:
                self.loop.put(KeyEvent(True, p, 90, t))
                if self.sound:
                    self.sound(0, p, 90)
            off = t + self.hold
            time.sleep(self.hold)
            for p in pitches:
                self.loop.put(KeyEvent(False, p, 0, off))
                if self.sound:
                    self.sound(0, p, 0)


class Rounds:
    """The engines a practice session plays in turn: the chart, then a drill's rounds."""

    def __init__(self, engine, drill, make_engine):
        self.engine, self.drill, self.make_engine = engine, drill, make_engine
        self.number = 1

    def next(self):
        """The next round's engine (announced on the terminal), or None: all done."""
        if self.drill is None:
            return None
        r = self.drill.next_round(self.engine)
        if r is None:
            print("drill done" if self.number > 1 else "no chord to drill", flush=True)
            self.drill = None
            return None
        self.engine, self.number = self.make_engine(r.chart, r.tempo_scale), r.number
        names = " ".join(t.chord.name for t in self.engine.targets)
        print(f"drill round {r.number}: {names} at {self.engine.tempo:g} BPM", flush=True)
        return self.engine


def run_rounds(loop, rounds, start_session, duration: float | None) -> dict:
    """Run the loop's engine, then each next round, until done, ``duration`` s or Ctrl-C;
    the score is printed in every case (an interrupted session's too)."""
    end = time.monotonic() + duration if duration else None
    try:
        while True:
            left = None if end is None else max(0.01, end - time.monotonic())
            summary = loop.run(duration=left)
            if not loop.engine.finished or (end is not None and time.monotonic() >= end):
                return summary
            nxt = rounds.next()
            if nxt is None:
                return summary
            loop.engine, loop.session = nxt, start_session()
    except KeyboardInterrupt:
        summary = loop.engine.summary()
        loop.view.summary(summary)
        return summary
