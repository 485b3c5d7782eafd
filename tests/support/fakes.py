"""Fakes of the app's declared interfaces."""

from __future__ import annotations

import os

from instrument.ensemble import Ensemble
from instrument.synth.base import SynthPort


class SilentSynth(SynthPort):
    """A ``SynthPort`` that plays nothing. Fakes subclass it and override what they record,
    so that every fake has the whole interface (tests/test_synth_port.py checks them)."""

    ensemble: Ensemble | None = None

    def set_ensemble(self, ensemble: Ensemble) -> None:
        self.ensemble = ensemble

    def noteon(self, channel: int, pitch: int, velocity: int) -> None:
        pass

    def noteoff(self, channel: int, pitch: int) -> None:
        pass

    def cc(self, channel: int, control: int, value: int) -> None:
        pass

    def pitch_bend(self, channel: int, value14: int) -> None:
        pass

    def program(self, channel: int, program: int) -> None:
        pass

    def panic(self) -> None:
        pass

    def use_soundfont(self, soundfont: str | os.PathLike) -> None:
        pass
