"""Where the performer's part channels go: FluidSynth, a MIDI out, the take recorder.

``PartOutputs`` stands where the performer expects its synth and hands every call to each
of its outputs in turn. The outputs are kept as tuples of bound methods that the main
thread replaces whole (``add``/``remove``), like the performer's ``Setup``: the MIDI thread
reads one reference per call and takes no lock.
"""

from __future__ import annotations

import os

from instrument.ensemble import Ensemble
from instrument.synth.base import SynthPort


class PartOutputs(SynthPort):
    """A fan-out of ``SynthPort``s, itself one."""

    def __init__(self, *outputs: SynthPort):
        self._ensemble: Ensemble | None = None
        self._outputs: tuple[SynthPort, ...] = ()
        self._bind(tuple(outputs))

    def _bind(self, outputs: tuple[SynthPort, ...]) -> None:
        self._noteon = tuple(o.noteon for o in outputs)
        self._noteoff = tuple(o.noteoff for o in outputs)
        self._cc = tuple(o.cc for o in outputs)
        self._bend = tuple(o.pitch_bend for o in outputs)
        self._program = tuple(o.program for o in outputs)
        self._outputs = outputs

    @property
    def outputs(self) -> tuple[SynthPort, ...]:
        return self._outputs

    # -- main thread -------------------------------------------------------------------------
    def add(self, output: SynthPort) -> None:
        """Join ``output``: it is set up for the current ensemble first, then receives."""
        if self._ensemble is not None:
            output.set_ensemble(self._ensemble)
        self._bind((*self._outputs, output))

    def remove(self, output: SynthPort) -> None:
        self._bind(tuple(o for o in self._outputs if o is not output))

    def set_ensemble(self, ensemble: Ensemble) -> None:
        for o in self._outputs:
            o.set_ensemble(ensemble)
        self._ensemble = ensemble

    @property
    def ensemble(self) -> Ensemble | None:
        return self._ensemble

    @ensemble.setter
    def ensemble(self, ensemble: Ensemble | None) -> None:  # the performer's switch sets it
        self._ensemble = ensemble
        for o in self._outputs:
            o.ensemble = ensemble

    # -- real-time path ----------------------------------------------------------------------
    def noteon(self, channel: int, pitch: int, velocity: int) -> None:
        for fn in self._noteon:
            fn(channel, pitch, velocity)

    def noteoff(self, channel: int, pitch: int) -> None:
        for fn in self._noteoff:
            fn(channel, pitch)

    def cc(self, channel: int, control: int, value: int) -> None:
        for fn in self._cc:
            fn(channel, control, value)

    def pitch_bend(self, channel: int, value14: int) -> None:
        for fn in self._bend:
            fn(channel, value14)

    def program(self, channel: int, program: int) -> None:
        for fn in self._program:
            fn(channel, program)

    def panic(self) -> None:
        for o in self._outputs:
            o.panic()

    def use_soundfont(self, soundfont: str | os.PathLike) -> None:
        """A registration's SoundFont (preloaded): for the outputs that sound themselves."""
        for o in self._outputs:
            o.use_soundfont(soundfont)
