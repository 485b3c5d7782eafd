"""MPE input: per-note pitch bend, pressure and slide follow each note to its part.

An MPE controller (MIDI Polyphonic Expression, lower zone) plays every note on a channel
of its own (the member channels 2-16) and bends, presses and slides that note with
channel messages on its channel; channel 1 (the master) carries what concerns them all.
The arranger still chooses the part of each note; this router sends the note's
expression to the synth channel of that part only, so a bend on one finger bends the
voice it plays and not the whole ensemble:

* pitch bend on a member channel -> pitch bend on the note's part channel;
* channel pressure -> the part's modulation (CC 1), which General MIDI sounds as
  vibrato depth, as keyboards map aftertouch (pressure never changes the note's volume:
  a note starts at pressure 0);
* CC 74 (slide, "timbre") -> CC 74 on the part's channel;
* the expression a member channel had before its note-on (MPE sends the bend first) is
  applied to the part's channel when the note starts there, and again if the note moves
  to another part.

The part's channel is shared by the notes the arranger gives that part: for parts that
play one line (the voices of a choir, a quartet's instruments) each note's expression is
its own; when two bent notes share one part the later message wins for both (FluidSynth
bends a channel, not a note). Messages on the master channel take the ordinary path
(``Performer.handle``: to every part).

``Performer.handle`` offers each message to ``take`` first (the MIDI thread); the note
events come back through the performer's listeners, in the same thread.
"""

from __future__ import annotations

from instrument.input.messages import CHANNEL_PRESSURE, CONTROL, NOTE_ON, PITCH_BEND, Message
from instrument.live.performer import NoteEvent

MASTER = 0  # channel 1: the lower zone's master channel
CC_MODULATION, CC_SLIDE = 1, 74
BEND_CENTRE = 8192


class MpeRouter:
    def __init__(self, performer, master: int = MASTER):
        self.performer = performer
        self.master = master
        self._notes: dict[tuple[int, int], int] = {}  # (member channel, pitch) -> part channel
        self._bend: dict[int, int] = {}
        self._pressure: dict[int, int] = {}
        self._slide: dict[int, int] = {}
        self._striking: int | None = None  # member channel of the note-on being played
        self._struck_by: dict[int, int] = {}  # pitch -> the member channel that struck it last

    def attach(self) -> MpeRouter:
        self.performer.mpe = self
        self.performer.add_listener(self._on_note)
        return self

    # -- the MIDI thread ---------------------------------------------------------------------
    def take(self, msg: Message) -> bool:
        """Route ``msg`` if it is a member channel's expression; True when it was taken
        (the performer then does nothing more with it)."""
        ch = msg.channel
        if msg.kind == NOTE_ON and msg.velocity > 0:
            self._striking = ch
            return False
        if ch == self.master:
            return False
        if msg.kind == PITCH_BEND:
            self._bend[ch] = value = msg.bend14
            for out in self._parts_of(ch):
                self.performer.synth.pitch_bend(out, value)
            return True
        if msg.kind == CHANNEL_PRESSURE:
            self._pressure[ch] = msg.pressure
            for out in self._parts_of(ch):
                self.performer.synth.cc(out, CC_MODULATION, msg.pressure)
            return True
        if msg.kind == CONTROL and msg.control == CC_SLIDE:
            self._slide[ch] = msg.value
            for out in self._parts_of(ch):
                self.performer.synth.cc(out, CC_SLIDE, msg.value)
            return True
        return False

    def _parts_of(self, member: int) -> set[int]:
        return {out for (ch, _), out in self._notes.items() if ch == member}

    def _on_note(self, ev: NoteEvent) -> None:
        if not ev.on:
            for key, out in list(self._notes.items()):
                if key[1] == ev.pitch and out == ev.channel:
                    del self._notes[key]
            return
        member = self._striking
        self._striking = None
        if member is None:  # no key struck it: a sounding note moved to another part (a
            member = self._struck_by.get(ev.pitch)  # chord revision: off, then on anew)
            if member is None:
                return
        self._struck_by[ev.pitch] = member
        if member == self.master:
            return
        self._notes[(member, ev.pitch)] = ev.channel
        synth = self.performer.synth
        synth.pitch_bend(ev.channel, self._bend.get(member, BEND_CENTRE))
        if member in self._pressure:
            synth.cc(ev.channel, CC_MODULATION, self._pressure[member])
        if member in self._slide:
            synth.cc(ev.channel, CC_SLIDE, self._slide[member])
