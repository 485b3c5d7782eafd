"""What the stage shows, gathered from the threads that know it.

The MIDI thread (and the band's dispatcher thread) only append note events to a deque
(atomic, allocation-light); the main thread folds them into the roll and the held keys once
per frame. The views of the other modes (jam, practice) write their fields from the main
thread too, so drawing never waits for another thread.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from instrument.ensemble import Ensemble
from instrument.live.performer import NoteEvent
from instrument.timing import BeatState

# Band notes (jam) enter the roll as parts BAND_PART0 + k (k: the band's part number), so
# they never take an ensemble part's colour and never light the player's keys.
BAND_PART0 = 64


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
    close: bool = False  # not right but nearly (colour tones missing): half credit


@dataclass
class Status:
    midi_state: str = "none"
    midi_port: str = ""
    audio: str = ""
    latency_ms: float = 0.0
    xruns: int = 0
    cpu_load: float = 0.0
    over_budget: int = 0  # arranger decisions the budget guard sent to the zone split
    decide_p99_ms: float = 0.0  # measured: the arranger's decision time, 99th percentile
    note_path: str = "python"  # "compiled" (no Python in the audio thread) or "python (why)"
    arranger: str = ""
    message: str = ""


@dataclass
class StageModel:
    ensemble: Ensemble
    mode: str = "play"  # play | jam | practice
    band_parts: list[str] = field(default_factory=list)  # legend of the band's parts (jam)
    roll_seconds: float = 8.0
    notes: list[RollNote] = field(default_factory=list)
    held: dict[int, int] = field(default_factory=dict)  # pitch -> part
    chord: str = ""
    chord_notes: frozenset[int] = frozenset()  # the held notes ``chord`` was named from
    next_chords: list[str] = field(default_factory=list)
    beat: BeatState | None = None
    pulse: bool = True  # False while the clock stands (waiting for a chord or for the player)
    caption: str = ""  # one line under the beat: count-in, section, what the app waits for
    feedback: Feedback | None = None
    status: Status = field(default_factory=Status)
    octave: int = 4
    velocity: int = 96
    show_help: bool = False
    show_developer: bool = False  # F10: latency, CPU, arranger and its timing above the status
    help_lines: list[str] = field(default_factory=list)  # the current view's own keys
    _inbox: deque = field(default_factory=lambda: deque(maxlen=4096))

    def on_note(self, event: NoteEvent) -> None:
        """Performer listener: runs in the MIDI thread, so it only enqueues."""
        self._inbox.append(event)

    def on_band_note(self, on: bool, pitch: int, velocity: int, part: int, channel: int,
                     t: float) -> None:
        """Band dispatcher listener (its thread): enqueue as part ``BAND_PART0 + part``."""
        self._inbox.append(NoteEvent(on, pitch, velocity, BAND_PART0 + part, channel, t))

    def update(self, now: float) -> None:
        """Fold the queued events in and drop notes that scrolled off (main thread)."""
        # The player's notes are matched by pitch (a note-off carries the part its note-on
        # got); the band may sound the player's pitch at the same time, so its notes are
        # matched by (pitch, part).
        open_notes = {_key(n.pitch, n.part): n for n in self.notes if n.end is None}
        while self._inbox:
            ev = self._inbox.popleft()
            key = _key(ev.pitch, ev.part)
            if ev.on:
                note = RollNote(ev.pitch, ev.part, ev.time, None)
                self.notes.append(note)
                open_notes[key] = note
                if ev.part < BAND_PART0:
                    self.held[ev.pitch] = ev.part
            else:
                note = open_notes.pop(key, None)
                if note is not None:
                    note.end = ev.time
                if ev.part < BAND_PART0:
                    self.held.pop(ev.pitch, None)
        horizon = now - self.roll_seconds
        self.notes = [n for n in self.notes if n.end is None or n.end > horizon]

    def release_band(self, now: float) -> None:
        """The band stopped: its notes in the roll end now."""
        self.update(now)
        for n in self.notes:
            if n.end is None and n.part >= BAND_PART0:
                n.end = now

    def release_all(self, now: float) -> None:
        for n in self.notes:
            if n.end is None:
                n.end = now
        self.held.clear()


def _key(pitch: int, part: int) -> tuple[int, int]:
    return (pitch, part if part >= BAND_PART0 else -1)
