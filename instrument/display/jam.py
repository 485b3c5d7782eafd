"""The jam view: the band's chord and the chords coming, bar, beat, tempo and its controls.

Everything here runs in the main thread and only reads what the band's threads write:
the clock's anchor is one tuple, the chord track grows by appending, and the band's notes
reach the roll through the dispatcher's listener, which only enqueues. Starting and
stopping the band replaces its threads, never pauses them mid-plan.
"""

from __future__ import annotations

import bisect
import math

import pygame

from instrument.accompany.notes import DRUMS, PART_NAMES, Tones
from instrument.display.model import StageModel
from instrument.display.stage import View
from instrument.timing import BeatState

# Drums have no pitch worth a lane (GM kit numbers): they are heard and seen in the pulse.
BAND_LEGEND = [name for k, name in enumerate(PART_NAMES) if k != DRUMS]
NEXT_SHOWN = 4
SECTION_KEYS = {pygame.K_F7: "A", pygame.K_F8: "B", pygame.K_F9: "ending"}


def chord_name(tones: Tones) -> str:
    """A chord of the band's track by name ("N" for no chord)."""
    from instrument.harmony.naming import name_chord

    chord = None if tones.is_rest else name_chord([36 + tones.bass] + [60 + pc for pc in tones.pcs])
    return "N" if chord is None else chord.name


def track_snapshot(track) -> tuple[list[float], list[Tones]]:
    """A consistent copy of a chord track another thread appends to (starts, then tones)."""
    starts, tones = list(track.starts), list(track.tones)
    n = min(len(starts), len(tones))
    return starts[:n], tones[:n]


def chords_around(starts: list[float], tones: list[Tones], beat: float,
                  ahead: int = NEXT_SHOWN) -> tuple[Tones | None, list[Tones]]:
    """The chord sounding at ``beat`` (None before the first) and the next ``ahead`` changes."""
    i = bisect.bisect_right(starts, beat + 1e-9) - 1
    here = tones[i] if i >= 0 else None
    coming: list[Tones] = []
    last = here
    for t in tones[i + 1:]:
        if t != last:  # a chart repeats a chord bar by bar: show changes only
            coming.append(t)
            last = t
        if len(coming) == ahead:
            break
    return here, coming


class JamView(View):
    """band: ``instrument.accompany.band.Band``; clock: its ``timing.BeatClock``.

    chart: whether the chords come from a chart (the band starts after a count-in) or
    from the keys below ``split`` (the band starts on the first chord).
    """

    name = "jam"
    help = ["F5: tap tempo   F6: start / stop the band",
            "F7 / F8: main A / B (after a fill)   F9: ending"]

    def __init__(self, band, clock, chart: bool, split: int = 60):
        self.band, self.clock, self.chart, self.split = band, clock, chart, split
        self._names: dict[Tones, str] = {}

    def attach(self, model: StageModel) -> None:
        def on_band_note(on, pitch, velocity, part, channel, t) -> None:  # band threads
            if part != DRUMS:
                model.on_band_note(on, pitch, velocity, part, channel, t)

        self.band.dispatcher.listeners.append(on_band_note)

    def _name(self, tones: Tones) -> str:
        name = self._names.get(tones)
        if name is None:  # naming is a search over templates: once per chord
            name = self._names[tones] = chord_name(tones)
        return name

    def playing(self, now: float) -> bool:
        """The clock runs and the band has not reached its end (a stop, the ending)."""
        return (self.clock.running
                and self.clock.state(now).beat < self.band.planner.sections.end_beat())

    def frame(self, model: StageModel, now: float) -> None:
        state: BeatState = self.clock.state(now)
        sections = self.band.planner.sections
        ended = self.clock.running and state.beat >= sections.end_beat()
        model.beat = state
        model.pulse = self.clock.running and not ended
        here, coming = chords_around(*track_snapshot(self.band.planner.chords), state.beat)
        model.chord = self._name(here) if here is not None else "-"
        model.next_chords = [self._name(t) for t in coming]
        model.caption = self._caption(state, ended)

    def _caption(self, state: BeatState, ended: bool) -> str:
        if ended:
            return "band stopped: F6 starts it again"
        if not self.clock.running:
            if self.clock.waiting:  # the beat comes from the room
                return self.clock.waiting
            if self.chart:
                return "band stopped: F6 starts it"
            from instrument.harmony.chords import PITCH_NAMES

            below = f"{PITCH_NAMES[self.split % 12]}{self.split // 12 - 1}"
            return f"band waits: play a chord below {below}"
        if state.beat < 0:
            return "count-in"
        section, _ = self.band.planner.sections.at(math.floor(state.beat))
        end = self.band.planner.sections.end_beat()
        if end - state.beat <= 2 * state.beats_per_bar:  # a chart's end, or F6, coming
            return f"{section}: the band stops at bar {int(end // state.beats_per_bar) + 1}"
        if self.band.planner.continuing_since is not None:
            return f"section {section}: the band continues your phrase"
        return f"section {section}"

    def key(self, key: int, model: StageModel, now: float) -> bool:
        if key == pygame.K_F5:
            tempo = self.clock.tap(now)
            model.status.message = "tap again" if tempo is None else f"tap tempo {tempo:.0f} BPM"
        elif key == pygame.K_F6:
            if self.playing(now):
                self.band.request_section("stop")
                model.status.message = "the band stops at the end of the bar"
            else:
                self.restart(model, now)
        elif key in SECTION_KEYS:
            if not self.playing(now):
                model.status.message = "the band is not playing: F6 starts it"
            else:
                self.band.request_section(SECTION_KEYS[key])
                model.status.message = f"next: {SECTION_KEYS[key]}"
        else:
            return False
        return True

    def restart(self, model: StageModel, now: float) -> None:
        """From the top: the band's threads are replaced, the clock counts in again."""
        self.band.stop()
        model.release_band(now)
        self.band.rewind()
        self.band.start()
        if self.chart:
            self.clock.start(now + 0.2)
            model.status.message = "the band starts"
        else:
            model.status.message = "the band starts on the chord in your left hand"

    def panic(self, model: StageModel, now: float) -> None:
        model.release_band(now)  # the session's panic silenced every channel, the band's too
