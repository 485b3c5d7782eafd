"""The band's dispatcher never loses a note-off: found by the soak (bench/bench_soak.py).

With the listener as the band's clock the beat count can jump (the meter re-counting the
bars), and a chord change can then be dated after notes still waiting to sound. Releasing
the band's parts from that beat on must keep the note-offs of the notes it keeps.
"""

from __future__ import annotations

from instrument.accompany.band import Dispatcher
from instrument.accompany.clock import InternalClock
from instrument.accompany.notes import BASS, COMP, BandNote
from tests.support.fakes import SilentSynth


class RecordingSynth(SilentSynth):
    def __init__(self) -> None:
        self.events: list[tuple[str, int, int]] = []

    def noteon(self, channel: int, pitch: int, velocity: int) -> None:
        self.events.append(("on", channel, pitch))

    def noteoff(self, channel: int, pitch: int) -> None:
        self.events.append(("off", channel, pitch))


CHANNELS = {BASS: 14, COMP: 15}


def _dispatcher():
    now = [0.0]
    clock = InternalClock(120, 4)  # beat = 2 x seconds
    clock.start(0.0)
    synth = RecordingSynth()
    return Dispatcher(synth, clock, now=lambda: now[0]), synth


def test_release_from_a_later_beat_keeps_the_note_off_of_a_kept_note():
    d, synth = _dispatcher()
    d.commit([BandNote(COMP, 60, 90, 2.0, 0.5), BandNote(COMP, 64, 90, 5.0, 0.5)], CHANNELS)
    d.dispatch(0.5)  # beat 1: nothing due yet
    d.release({COMP}, 4.0)  # the note at beat 2 stays, the one at beat 5 goes
    for k in range(1, 15):  # to beat 7, a dispatch every quarter beat
        d.dispatch(0.125 * k + 0.5)
    assert synth.events == [("on", 15, 60), ("off", 15, 60)]
    assert d.pending() == 0


def test_release_ends_sounding_notes_and_drops_their_planned_ends():
    d, synth = _dispatcher()
    d.commit([BandNote(BASS, 40, 90, 1.0, 4.0), BandNote(COMP, 60, 90, 1.0, 4.0)], CHANNELS)
    d.dispatch(0.5)  # beat 1: both sounding
    d.release({BASS}, 2.0)
    assert synth.events[-1] == ("off", 14, 40)  # ended now, not at beat 5
    for k in range(1, 21):  # to beat 6
        d.dispatch(0.125 * k + 0.5)
    assert synth.events.count(("off", 14, 40)) == 1 and ("off", 15, 60) in synth.events
    assert d.pending() == 0
