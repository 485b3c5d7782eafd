"""The band's share of a recorded jam take: ``band.mid`` beside the player's files.

``instrument.live.record.Recorder`` keeps the player (``input.mid``, ``arranged.mid``, its
crash-safe journal); the band's notes never pass through the performer, so this recorder
takes them from the band's dispatcher (``Dispatcher.listeners``: it only enqueues there)
and rewrites ``band.mid`` atomically every second from its own thread, and once more at
the stop. Times are seconds on the performer's clock from the take's start, like the
player's files, so the three files line up in a DAW.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import mido

from instrument.accompany.notes import PART_PROGRAMS
from instrument.accompany.offline import TRACK_NAMES
from instrument.errors import InstrumentError
from instrument.input.midifile import Conductor, write_parts

WRITE_EVERY = 1.0  # seconds between rewrites of band.mid
TEMPO_EVERY = 0.25  # seconds between looks at the clock's tempo
TEMPO_STEP = 0.5  # BPM: a smaller drift of a heard tempo is not a tempo change


class BandTake:
    """Records the band's notes into ``take / "band.mid"`` (a named track per band part)."""

    def __init__(
        self,
        take: str | Path,
        dispatcher,
        clock: Callable[[], float],
        t0: float | None = None,
        conductor: Conductor | None = None,
    ):
        """t0: the take's start on ``clock`` (the player's recorder's, so that both files
        share one time line; default now). conductor: band.mid's tempo map (120 BPM)."""
        self.take = Path(take)
        self.path = self.take / "band.mid"
        self.dispatcher = dispatcher
        self.conductor = conductor
        self._t0 = clock() if t0 is None else t0
        self._queue: deque[tuple[bool, int, int, int, int, float]] = deque()
        self._open: dict[tuple[int, int], tuple[float, int, int]] = {}
        self.notes: list[tuple[float, float, int, int, int]] = []  # (on s, off s, pitch, vel, part)
        self.channels: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="band-take", daemon=True)

    def _on_note(
        self, on: bool, pitch: int, velocity: int, part: int, channel: int, t: float
    ) -> None:  # the dispatcher's thread: enqueue only
        self._queue.append((on, pitch, velocity, part, channel, t))

    def start(self) -> None:
        self.dispatcher.listeners.append(self._on_note)
        self._thread.start()

    def _drain(self) -> None:
        while self._queue:
            on, pitch, vel, part, ch, t = self._queue.popleft()
            rel = t - self._t0
            self.channels.setdefault(part, ch)
            if on:
                self._open[(ch, pitch)] = (rel, vel, part)
            elif (ch, pitch) in self._open:
                start, v, p = self._open.pop((ch, pitch))
                self.notes.append((start, rel, pitch, v, p))

    def _write(self) -> None:
        end = max([n[1] for n in self.notes] + [0.0])
        notes = self.notes + [
            (s, max(s, end), pitch, v, p) for (_, pitch), (s, v, p) in self._open.items()
        ]
        parts = sorted(self.channels)
        index = {part: k for k, part in enumerate(parts)}
        tmp = self.path.with_suffix(".mid.tmp")
        write_parts(
            tmp,
            [TRACK_NAMES[p] for p in parts],
            [PART_PROGRAMS.get(p, 0) for p in parts],
            [self.channels[p] for p in parts],
            [(a, b, pitch, v, index[p]) for a, b, pitch, v, p in notes],
            conductor=self.conductor,
        )
        tmp.replace(self.path)

    def _run(self) -> None:
        while not self._stop.wait(WRITE_EVERY):
            self._drain()
            try:
                self._write()
            except InstrumentError:  # a full disk for a moment: the next rewrite may do
                pass

    def stop(self) -> Path:
        """Write the final ``band.mid`` (call after the band has stopped)."""
        self._stop.set()
        self._thread.join(5)
        if self._on_note in self.dispatcher.listeners:
            self.dispatcher.listeners.remove(self._on_note)
        self._drain()
        self._write()
        return self.path


class ClockTempoMap:
    """Keeps a take's tempo map (``conductor``) in step with the jam's clock: tap tempo,
    or the tempo heard in the room, changes it during the take, and the take's MIDI files
    should hold the tempo the band really played at, not the one it started with.

    A thread looks at ``clock.tempo`` every ``TEMPO_EVERY`` s and appends a ``set_tempo``
    at that moment (seconds from the take's ``t0`` on ``now``) when it moved by more than
    ``TEMPO_STEP``. The recorders rewrite their files from the same list, so they pick the
    change up on their next rewrite (and the player's journal keeps it for a recovery).
    """

    def __init__(
        self, conductor: Conductor, clock, t0: float, now: Callable[[], float] = time.monotonic
    ):
        """clock: the band's clock (``tempo``: BPM now); t0: the take's start on ``now``."""
        self.conductor = conductor
        self.clock = clock
        self._t0 = t0
        self._now = now
        self._last = float(clock.tempo)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="take-tempo", daemon=True)

    def look(self) -> None:
        """Append the clock's tempo if it changed (the thread calls this; tests may too)."""
        bpm = float(self.clock.tempo)
        if abs(bpm - self._last) > TEMPO_STEP:
            self._last = bpm
            at = max(self._now() - self._t0, 0.0)
            self.conductor.append((at, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))))

    def _run(self) -> None:
        while not self._stop.wait(TEMPO_EVERY):
            self.look()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.look()
