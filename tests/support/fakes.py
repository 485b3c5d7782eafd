"""Fakes of the app's declared interfaces."""

from __future__ import annotations

import os

from instrument.ensemble import Ensemble
from instrument.errors import InstrumentError
from instrument.input.alsaseq import SeqPort, Sequencer
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


class FakeSequencer(Sequencer):
    """An ALSA sequencer (``input.alsaseq``) whose ports come and go as the test says, with
    subscriptions kept as the kernel keeps them: one of a port that vanishes goes with it,
    and only a source may be subscribed to a destination, both present."""

    def __init__(self, *ports: SeqPort):
        self.present = list(ports)
        self.subscriptions: set[tuple[tuple[int, int], tuple[int, int]]] = set()
        self.closed = False

    def ports(self) -> list[SeqPort]:
        if self.closed:
            raise InstrumentError("the sequencer is closed")
        return list(self.present)

    def connect(self, source: SeqPort, destination: SeqPort) -> None:
        if source not in self.present or destination not in self.present:
            raise InstrumentError(f"no such port: {source.name} or {destination.name}")
        if not (source.source and destination.destination):
            raise InstrumentError(f"{source.name} cannot be subscribed to {destination.name}")
        self.subscriptions.add(((source.client, source.port),
                                (destination.client, destination.port)))  # fmt: skip

    def disconnect(self, source: SeqPort, destination: SeqPort) -> None:
        self.subscriptions.discard(((source.client, source.port),
                                    (destination.client, destination.port)))  # fmt: skip

    def close(self) -> None:
        self.closed = True

    def plug(self, port: SeqPort) -> None:
        self.present.append(port)

    def unplug(self, port: SeqPort) -> None:
        self.present.remove(port)
        here = (port.client, port.port)
        self.subscriptions = {s for s in self.subscriptions if here not in s}
