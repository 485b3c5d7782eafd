"""The one interface the parts are played through: ``SynthPort``.

The performer (keys -> arranger -> parts) and the band (accompaniment) play into a
``SynthPort``: FluidSynth (``synth.fluid.Synth``), a MIDI out (``live.midiout.MidiOut``),
the take's audio log (``live.record.TakeAudio``), or the fan-out of several
(``live.outputs.PartOutputs``). Each implementation subclasses it, so that what it
implements is declared; the tests' fakes do too, and a test checks that every one of
them has every method below with the same parameters.

The note, controller, bend and program calls run in the MIDI thread (and the band's
dispatcher): they must not block, allocate per note, or take a lock. ``set_ensemble``,
``panic`` and ``use_soundfont`` are called from the main thread.
"""

from __future__ import annotations

import os
from typing import Protocol

from instrument.ensemble import Ensemble


class SynthPort(Protocol):
    """What plays the ensemble's part channels (0-15, 9 the drums)."""

    ensemble: Ensemble | None  # the ensemble set up last; the performer's switch sets it

    def set_ensemble(self, ensemble: Ensemble) -> None:
        """Give every part its program, volume and pan; sounding notes are released."""
        ...

    def noteon(self, channel: int, pitch: int, velocity: int) -> None: ...

    def noteoff(self, channel: int, pitch: int) -> None: ...

    def cc(self, channel: int, control: int, value: int) -> None: ...

    def pitch_bend(self, channel: int, value14: int) -> None:
        """value14: the raw 14-bit MIDI value, 0..16383 (8192 = centre)."""
        ...

    def program(self, channel: int, program: int) -> None:
        """GM ``program`` (0-based); on the drum channel, the drum kit."""
        ...

    def panic(self) -> None:
        """All notes and sounds off, sustain up, on every channel."""
        ...

    def use_soundfont(self, soundfont: str | os.PathLike) -> None:
        """A registration's (preloaded) SoundFont, for the outputs that sound themselves."""
        ...
