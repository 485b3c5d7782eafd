"""The practice session: a piano to play the chart on, its metronome, and where the
chords it judges come from.

Built on the live session (``LiveSession``: MIDI in, FluidSynth out) with a one-part piano
on channel 1 and the zone arranger, which passes every key through. The chords reach the
practice loop (``practice.live.PracticeLoop.put``, any thread: it only enqueues) from the
keys the performer plays (``attach_keys``), or from what an audio input hears
(``listen``: ``--listen``), as ``KeyEvent``s. The metronome's clicks sound on the synth
(``sound``).

Without a MIDI keyboard, a sound, a window or a listener (``practice --midi-in none
--audio none --no-display``) no session is needed: the loop reads typed chord names.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from instrument.arrange import make_arranger
from instrument.ensemble import Ensemble, Part
from instrument.live.lifecycle import Session
from instrument.live.session import LiveSession
from instrument.practice.live import HeardChords, KeyEvent

PIANO = Ensemble("piano", "Piano", (Part("Piano", 0, 100, 64, 0, 127, 0),))


class PracticeSession(Session):
    """The piano, and the listener with ``listen`` (a device name, ``default``, or None:
    the chords come from the keys). audio, midi_in, midi_api: as ``LiveSession``'s."""

    def __init__(
        self,
        soundfont: str | Path,
        audio: str = "auto",
        midi_in: str | None = None,
        midi_api: str = "auto",
        listen: str | None = None,
    ):
        self.live = LiveSession(
            PIANO,
            make_arranger("zone", PIANO),
            soundfont,
            audio=audio,
            midi_in=midi_in,
            midi_api=midi_api,
        )
        self.listen = listen
        self.heard = None  # the ListenStream, once started with ``listen``
        self.closed = False

    @property
    def choices(self) -> list[str]:
        """What audio and MIDI the live session found, and why."""
        return self.live.choices

    def prepare(self) -> None:
        """The piano's session prepared (real-time settings applied)."""
        self.live.prepare()

    def start(self) -> None:
        """The devices opened; with ``listen``, the audio input found (not yet heard:
        ``hear``)."""
        self.prepare()
        self.live.start()
        if self.listen is not None:
            from instrument.listen.stream import ListenStream

            self.heard = ListenStream(None if self.listen == "default" else self.listen)

    # -- what the practice loop hears and sounds --------------------------------------------
    def sound(self, channel: int, pitch: int, velocity: int) -> None:
        """A note on the synth (the metronome's clicks, typed chords); velocity 0 ends it."""
        if velocity:
            self.live.synth.noteon(channel, pitch, velocity)
        else:
            self.live.synth.noteoff(channel, pitch)

    def attach_keys(self, put: Callable[[KeyEvent], None]) -> None:
        """Every note the performer plays reaches ``put`` as a ``KeyEvent``."""

        def listener(ev) -> None:  # MIDI thread: enqueue only
            put(KeyEvent(ev.on, ev.pitch, ev.velocity, ev.time))

        self.live.performer.add_listener(listener)

    def hear(self, put: Callable[[KeyEvent], None]) -> None:
        """Chord changes the listener hears reach ``put`` as struck chords; hearing
        starts now."""
        self.heard.on_chord = HeardChords(put).chord
        self.heard.open()

    def feed_file(self, events, origin: Callable[[], float | None]) -> None:
        """``--play-file``: the file played in as the keyboard (``input.feeder``), its
        time 0 at ``origin()`` (the count-in's start, once known)."""
        from instrument.input.feeder import feed_in_background
        from instrument.input.keys import LocalKeys

        feed_in_background(events, LocalKeys(self.live).send, origin)

    def close(self) -> None:
        """The listener closed, then the piano's session (all notes off). Safe twice."""
        if self.closed:
            return
        self.closed = True
        if self.heard is not None:
            self.heard.close()
        self.live.close()
