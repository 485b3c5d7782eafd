"""The band's musical decisions, one beat at a time: what to play in beat ``b``.

``BandPlanner`` is the same offline (``instrument accompany``) and live (``Band``): it is
told the player's notes as they happen (in beats) and asked for beat ``b`` when the clock
is ``lookahead`` beats before it. It chooses

* the section (``Sections``: intro, A, B, fill, ending, following requests at bar lines),
* accompaniment or continuation: when the player has been silent for ``continue_after``
  beats it continues the phrase (the model plays the melody part too) for at most
  ``continue_beats`` beats; a player note ends it (the caller drops the continuation
  notes that have not sounded),
* the source: the model (``ModelGenerator``) for bass, comping and melody, the rule-based
  style for drums, intro and ending, and for everything when there is no model.

``fallback(b)`` is the rule-based beat that replaces a model plan that came too late.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from instrument.accompany.generator import ModelGenerator
from instrument.accompany.notes import (
    BASS,
    COMP,
    DRUMS,
    MELODY,
    STEPS_PER_BEAT,
    BandNote,
    ChordTrack,
)
from instrument.accompany.styles import KICK, STICK, Style
from instrument.accompany.tokens import band_notes_from_events
from instrument.errors import InstrumentError

REQUESTS = ("A", "B", "ending", "stop")


class Sections:
    """Arranger-keyboard section control; every change happens at a bar line.

    A request for A or B at beat ``x`` plays a fill in the rest of that bar, then the new
    section from the next bar with a crash; ``ending`` plays one ending bar from the next
    bar line and then stops; ``stop`` stops at the end of the bar.
    """

    def __init__(self, beats_per_bar: int, intro_bars: int = 0, main: str = "A"):
        self.bpb = beats_per_bar
        self.intro_beats = intro_bars * beats_per_bar
        self.main = main
        self.requests: list[tuple[float, str]] = []

    def request(self, name: str, at_beat: float) -> None:
        if name not in REQUESTS:
            raise InstrumentError(f"unknown section {name!r} (known: {', '.join(REQUESTS)})")
        self.requests.append((at_beat, name))

    def at(self, b: int) -> tuple[str, bool]:
        """(section of beat ``b``, whether a crash marks its downbeat); "stop" = silent."""
        section = "intro" if b < self.intro_beats else self.main
        crash = self.intro_beats > 0 and b == self.intro_beats
        for x, name in self.requests:
            change = (math.floor(x / self.bpb) + 1) * self.bpb
            if b >= change:
                crash = False
                if name in ("A", "B"):
                    section, crash = name, b == change
                elif name == "ending":
                    section = "ending" if b < change + self.bpb else "stop"
                else:
                    section = "stop"
            elif b >= x - 1e-9 and name in ("A", "B") and section not in ("ending", "stop"):
                section = "fill"
        return section, crash

    def end_beat(self) -> float:
        """The first silent beat once an ending or stop is requested, else inf.

        The earliest one counts: a stop asked for during a chart ends the band before the
        chart's own ending (``at`` is silent from there on too)."""
        end = math.inf
        for x, name in self.requests:
            if name in ("ending", "stop"):
                change = (math.floor(x / self.bpb) + 1) * self.bpb
                end = min(end, change + (self.bpb if name == "ending" else 0))
        return end


class BandPlanner:
    """Plans the band beat by beat over a chord track (see the module docstring).

    count_in: beats before beat 0 that get a stick click. drums: play the style's groove.
    """

    def __init__(
        self,
        chords: ChordTrack,
        beats_per_bar: int,
        style: Style,
        generator: ModelGenerator | None = None,
        sections: Sections | None = None,
        continue_after: float = 1.0,
        continue_beats: int = 8,
        drums: bool = True,
        count_in: int = 0,
    ):
        self.chords = chords
        self.bpb = beats_per_bar
        self.style = style
        self.generator = generator
        self.sections = sections or Sections(beats_per_bar)
        self.continue_after = continue_after
        self.continue_beats = continue_beats
        self.drums = drums
        self.count_in = count_in
        self.reset()

    def reset(self) -> None:
        self.style.reset()
        # [onset step, duration steps, part, pitch, 1 if the band played it] of what sounded
        self.history: deque[list[int]] = deque()
        self._open: dict[int, list[int]] = {}  # the player's held keys -> their history row
        self.last_player: float | None = None  # last note-on or release of the player, beats
        self.continuing_since: float | None = None

    # -- the player ------------------------------------------------------------------------
    def player_on(self, pitch: int, beat: float) -> None:
        step = round(beat * STEPS_PER_BEAT)
        row = [step, 1, MELODY, pitch, 0]
        self.history.append(row)
        self._open[pitch] = row
        self.last_player = beat
        self.continuing_since = None

    def player_off(self, pitch: int, beat: float) -> None:
        row = self._open.pop(pitch, None)
        if row is not None:
            row[1] = max(1, round(beat * STEPS_PER_BEAT) - row[0])
            self.last_player = max(self.last_player or beat, beat)

    def continuing(self, b: int, now_beat: float) -> bool:
        """Whether beat ``b`` continues the player's phrase (decided at ``now_beat``)."""
        if self.continue_beats <= 0 or self.last_player is None or self._open:
            return False
        if now_beat - self.last_player < self.continue_after:
            return False
        start = math.floor(self.last_player + self.continue_after) + 1
        return start <= b < start + self.continue_beats

    # -- planning --------------------------------------------------------------------------
    def _history_array(self, b: int, now_beat: float) -> np.ndarray:
        keep_from = (b - 64) * STEPS_PER_BEAT
        while self.history and self.history[0][0] < keep_from:
            self.history.popleft()
        now_step = round(now_beat * STEPS_PER_BEAT)
        held = {id(r) for r in self._open.values()}  # still sounding: lasts until now
        rows = [
            [r[0], max(1, now_step - r[0]) if id(r) in held else r[1], r[2], r[3]]
            for r in self.history
        ]
        return np.array(rows, dtype=np.int64).reshape(-1, 4)

    def plan(self, b: int, now_beat: float, remember: bool = True) -> list[BandNote]:
        """The notes of beat ``b`` (integer), decided at ``now_beat`` (< b).

        The notes join the history the model reads unless ``remember`` is False (the caller
        then remembers the ones it keeps)."""
        if b < 0:
            return self._count_in(b)
        section, crash = self.sections.at(b)
        if section == "stop":
            return []
        cont = self.continuing(b, now_beat)
        out = self.style.beat(b, self.bpb, self.chords, section, crash)
        if not self.drums:
            out = [n for n in out if n.part != DRUMS]
        use_model = self.generator is not None and section not in ("intro", "ending")
        if use_model and not self.chords.at(b).is_rest:
            parts = (BASS, COMP, MELODY) if cont else (BASS, COMP)
            ev = self.generator.plan(
                b, self._history_array(b, now_beat), self.chords, self.bpb, parts
            )
            out = [n for n in out if n.part == DRUMS] + band_notes_from_events(ev)
        elif cont and not self.chords.at(b).is_rest:
            out += self._rule_melody(b)
        if cont and self.continuing_since is None:
            self.continuing_since = float(b)
        if remember:
            self.remember(out)
        return out

    def fallback(self, b: int) -> list[BandNote]:
        """The rule-based beat that stands in for a late model plan (no continuation)."""
        if b < 0:
            return self._count_in(b)
        section, crash = self.sections.at(b)
        if section == "stop":
            return []
        out = self.style.beat(b, self.bpb, self.chords, section, crash)
        out = [n for n in out if self.drums or n.part != DRUMS]
        self.remember(out)
        return out

    def remember(self, notes: list[BandNote]) -> None:
        for n in notes:
            if n.part in (BASS, COMP, MELODY):
                self.history.append(
                    [
                        round(n.onset * STEPS_PER_BEAT),
                        max(1, round(n.duration * STEPS_PER_BEAT)),
                        n.part,
                        n.pitch,
                        1,
                    ]
                )

    def forget_melody_from(self, beat: float) -> None:
        """The player came back: the band's continuation notes from ``beat`` never sounded."""
        self.forget_band_from(beat, {MELODY})

    def forget_band_from(self, beat: float, parts: set[int] | None = None) -> None:
        """Take the band's notes of ``parts`` (all) from ``beat`` on out of the history."""
        step = beat * STEPS_PER_BEAT
        self.history = deque(
            r
            for r in self.history
            if not (r[4] and r[0] >= step and (parts is None or r[2] in parts))
        )

    def _rule_melody(self, b: int) -> list[BandNote]:
        """Without a model, the continuation is a chord-tone answer: two eighths per beat."""
        tones = self.chords.at(b)
        centre = 72
        pcs = sorted(tones.pcs)
        line = [centre - 5 + (pc - (centre - 5)) % 12 for pc in pcs]
        return [
            BandNote(MELODY, line[(b * 2 + k) % len(line)], 84, b + k / 2, 0.45) for k in range(2)
        ]

    def _count_in(self, b: int) -> list[BandNote]:
        if b < -self.count_in:
            return []
        return [BandNote(DRUMS, STICK if (b % self.bpb) else KICK, 100, b, 0.25)]
