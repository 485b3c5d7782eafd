"""What the stage shows, gathered from the threads that know it.

The MIDI thread only appends note events to a deque (atomic, allocation-light); the main
thread folds them into the roll and the held keys once per frame. Other modes (jam,
practice) write their fields directly from the main thread.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from instrument.ensemble import Ensemble
from instrument.live.performer import NoteEvent
from instrument.timing import BeatState


@dataclass
class RollNote:
    pitch: int
    part: int
    start: float  # seconds, monotonic
    end: float | None  # None while held


@dataclass
class Feedback:
    """Practice mode: the latest judged chord."""

    target: str
    played: str
    correct: bool
    timing_ms: float | None  # negative = early
    detail: str = ""
    score: str = ""


@dataclass
class Status:
    midi_state: str = "none"
    midi_port: str = ""
    audio: str = ""
    latency_ms: float = 0.0
    xruns: int = 0
    cpu_load: float = 0.0
    over_budget: int = 0
    arranger: str = ""
    message: str = ""


@dataclass
class StageModel:
    ensemble: Ensemble
    mode: str = "play"  # play | jam | practice
    roll_seconds: float = 8.0
    notes: list[RollNote] = field(default_factory=list)
    held: dict[int, int] = field(default_factory=dict)  # pitch -> part
    chord: str = ""
    chord_notes: frozenset[int] = frozenset()  # the held notes ``chord`` was named from
    next_chords: list[str] = field(default_factory=list)
    beat: BeatState | None = None
    feedback: Feedback | None = None
    status: Status = field(default_factory=Status)
    octave: int = 4
    velocity: int = 96
    show_help: bool = False
    _inbox: deque = field(default_factory=lambda: deque(maxlen=4096))

    def on_note(self, event: NoteEvent) -> None:
        """Performer listener: runs in the MIDI thread, so it only enqueues."""
        self._inbox.append(event)

    def update(self, now: float) -> None:
        """Fold the queued events in and drop notes that scrolled off (main thread)."""
        open_by_pitch = {n.pitch: n for n in self.notes if n.end is None}
        while self._inbox:
            ev = self._inbox.popleft()
            if ev.on:
                note = RollNote(ev.pitch, ev.part, ev.time, None)
                self.notes.append(note)
                open_by_pitch[ev.pitch] = note
                self.held[ev.pitch] = ev.part
            else:
                note = open_by_pitch.pop(ev.pitch, None)
                if note is not None:
                    note.end = ev.time
                self.held.pop(ev.pitch, None)
        horizon = now - self.roll_seconds
        self.notes = [n for n in self.notes if n.end is None or n.end > horizon]

    def release_all(self, now: float) -> None:
        for n in self.notes:
            if n.end is None:
                n.end = now
        self.held.clear()
