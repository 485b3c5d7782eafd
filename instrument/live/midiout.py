"""The ensemble's parts sent out as MIDI, to external synths or a DAW's instruments.

``MidiOut`` has the part-facing side of ``Synth`` (``set_ensemble``, ``noteon``, ``cc``,
...), so the performer's output fan-out (``live.outputs.PartOutputs``) treats it like the
synth: part k goes out on its own channel, with its program change, volume (CC7) and pan
(CC10) at set-up and on every switch; sustain, bend and the other followed controllers
reach each part's channel, and a note-off goes to the channel its note-on went to.

Ports go through python-rtmidi, over ALSA or JACK: ``port`` is a substring of a
destination's name (a hardware synth, a DAW's input), or ``virtual`` for a port of our own
(``instrument-out:out``) that the DAW connects to. Under JACK rtmidi queues each message in
a lock-free ring that its own C process callback empties: no Python runs in JACK's thread.
``send_message`` keeps the GIL for its whole call, so the MIDI thread and the main thread
(panic, switches) never write into that ring at the same time.
"""

from __future__ import annotations

import os
import time

import rtmidi

from instrument.ensemble import Ensemble
from instrument.errors import InstrumentError
from instrument.synth.base import SynthPort

CLIENT_NAME = "instrument-out"
PORT_NAME = "out"
VIRTUAL = "virtual"
CC_VOLUME, CC_PAN, CC_SUSTAIN = 7, 10, 64
CC_ALL_SOUND_OFF, CC_RESET_ALL, CC_ALL_NOTES_OFF = 120, 121, 123
N_CHANNELS = 16
_APIS = {"alsa": rtmidi.API_LINUX_ALSA, "jack": rtmidi.API_UNIX_JACK}


class MidiOut(SynthPort):
    """One MIDI output port carrying every part on its channel."""

    def __init__(self, port: str, api: str):
        if api not in _APIS:
            raise InstrumentError(f"unknown MIDI API {api!r} for --midi-out (alsa, jack)")
        if not port:
            raise InstrumentError("--midi-out needs a port name (a substring) or 'virtual'")
        self.wanted, self.api = port, api
        self.port = ""  # what we are connected to, for the status line
        self.ensemble: Ensemble | None = None
        self._out: rtmidi.MidiOut | None = None
        self._send = _discard
        self._destination: str | None = None  # the port named by ``wanted``, once found
        self._watch = None  # JACK: a client that sees our port's connections
        self._connected: set[str] = set()
        self._resend = False
        self.lost = False  # the destination went away (JACK): reconnected when it returns

    def open(self) -> str:
        """Open the port; returns what it is connected to. InstrumentError if impossible."""
        try:
            out = rtmidi.MidiOut(_APIS[self.api], CLIENT_NAME)
        except rtmidi.RtMidiError as e:
            raise InstrumentError(f"cannot open MIDI output ({self.api}): {e}") from None
        try:
            if self.wanted.lower() == VIRTUAL:
                out.open_virtual_port(PORT_NAME)
                self.port = f"{CLIENT_NAME}:{PORT_NAME} (virtual, {self.api})"
            else:
                ports = out.get_ports()
                hits = [
                    i
                    for i, p in enumerate(ports)
                    if self.wanted.lower() in p.lower() and CLIENT_NAME not in p
                ]
                if not hits:
                    shown = ", ".join(ports) or "none"
                    raise InstrumentError(
                        f"no MIDI output matches {self.wanted!r} "
                        f"({self.api} outputs: {shown}; or 'virtual')"
                    )
                out.open_port(hits[0], PORT_NAME)
                self._destination = ports[hits[0]]
                self.port = f"{ports[hits[0]]} ({self.api})"
        except rtmidi.RtMidiError as e:
            out.delete()
            raise InstrumentError(f"cannot open MIDI output {self.wanted!r}: {e}") from None
        except InstrumentError:
            out.delete()
            raise
        self._out = out
        self._send = out.send_message
        if self.api == "jack":
            self._open_watch()
        if self.ensemble is not None:
            self.set_ensemble(self.ensemble)
        return self.port

    def _open_watch(self) -> None:
        import jack

        try:
            self._watch = jack.Client("instrument-out-watch", no_start_server=True)
        except jack.JackError:
            return  # then nobody notices connections: the port itself still works
        ours = self._watch.get_ports(
            f"^{CLIENT_NAME}[-0-9]*:{PORT_NAME}$", is_midi=True, is_output=True
        )
        self._port_name = ours[-1].name if ours else f"{CLIENT_NAME}:{PORT_NAME}"
        self._connected = set()  # the first poll sends the set-up again (see ``poll``)

    def _connections(self) -> set[str]:
        return {p.name for p in self._watch.get_all_connections(self._port_name)}

    def poll(self) -> str | None:
        """JACK, from the main thread a few times a second: a DAW that connects gets the
        parts' programs, volumes and pans; a named destination that went away is
        reconnected when it comes back, and set up again. Returns what changed, if
        anything, for the status line."""
        if self._watch is None or self._out is None or self.ensemble is None:
            return None
        try:
            now = self._connections()
            fresh = now - self._connected
            said = None
            if self._destination is not None and self._destination not in now:
                present = {p.name for p in self._watch.get_ports(is_midi=True, is_input=True)}
                if self._destination in present:
                    self._watch.connect(self._port_name, self._destination)
                    now = self._connections()
                    fresh.add(self._destination)  # a new port of the old name: set it up
                    said = f"MIDI out: {self._destination} is back"
                elif not self.lost:
                    said = f"MIDI out: {self._destination} is gone; waiting for it"
                self.lost = self._destination not in now
            # Someone new listens: tell them the set-up, now and once more at the next poll.
            # Messages sent in the period a connection is made can be lost: JACK takes
            # a new connection into its graph from the next period on.
            if fresh or self._resend:
                self._send_setup(self.ensemble)
                self._resend = bool(fresh)
            self._connected = now
            return said
        except Exception as e:  # noqa: BLE001 - a dying JACK server: say it once, never crash
            if self.lost:
                return None
            self.lost = True
            return f"MIDI out: lost ({e})"

    # -- set-up (main thread) ----------------------------------------------------------------
    def set_ensemble(self, ensemble: Ensemble) -> None:
        """Reset every channel, then each part's program, volume and pan."""
        self.panic()
        for ch in range(N_CHANNELS):
            self._send((0xB0 | ch, CC_RESET_ALL, 0))
        self._send_setup(ensemble)
        self.ensemble = ensemble

    def _send_setup(self, ensemble: Ensemble) -> None:
        """Each part's program, volume and pan (no reset: sounding notes go on)."""
        for part in ensemble.parts:
            self._send((0xC0 | part.channel, part.program))
            self._send((0xB0 | part.channel, CC_VOLUME, part.volume))
            self._send((0xB0 | part.channel, CC_PAN, part.pan))

    # -- real-time path: one small tuple per message, straight into rtmidi -------------------
    def noteon(self, channel: int, pitch: int, velocity: int) -> None:
        self._send((0x90 | channel, pitch, velocity))

    def noteoff(self, channel: int, pitch: int) -> None:
        self._send((0x80 | channel, pitch, 0))

    def cc(self, channel: int, control: int, value: int) -> None:
        self._send((0xB0 | channel, control, value))

    def pitch_bend(self, channel: int, value14: int) -> None:
        self._send((0xE0 | channel, value14 & 0x7F, value14 >> 7))

    def program(self, channel: int, program: int) -> None:
        self._send((0xC0 | channel, program))

    def panic(self) -> None:
        """Sustain up, all notes off and all sound off on every channel (drums included)."""
        for ch in range(N_CHANNELS):
            self._send((0xB0 | ch, CC_SUSTAIN, 0))
            self._send((0xB0 | ch, CC_ALL_NOTES_OFF, 0))
            self._send((0xB0 | ch, CC_ALL_SOUND_OFF, 0))

    def reopen(self) -> None:
        """JACK, after its server died and came back: a new port (the old one's client is
        kept, never closed: closing a client of a dead server can crash in libjack),
        connected to the destination by ``poll`` once that is back too."""
        from instrument.input.midi import forget_jack_client

        forget_jack_client(self._watch)
        _ABANDONED.append((self._out, self._watch))
        self._out, self._watch, self._send = None, None, _discard
        try:
            out = rtmidi.MidiOut(_APIS[self.api], CLIENT_NAME)
            out.open_virtual_port(PORT_NAME)
        except rtmidi.RtMidiError as e:
            raise InstrumentError(f"cannot reopen MIDI output ({self.api}): {e}") from None
        self._out, self._send = out, out.send_message
        self._open_watch()
        self.lost = self._destination is not None

    def use_soundfont(self, soundfont: str | os.PathLike) -> None:
        """The receiving synths have their own sounds: a SoundFont is not theirs."""

    def close(self) -> None:
        """Silence the receiving synths, then close the port. Safe to call twice."""
        if self._out is None:
            return
        self.panic()
        if self.api == "jack":
            time.sleep(0.05)  # a few periods, for rtmidi's process callback to send them
        out, self._out, self._send = self._out, None, _discard
        out.close_port()
        out.delete()
        if self._watch is not None:
            watch, self._watch = self._watch, None
            watch.close()


def list_outputs(api: str) -> list[str]:
    """MIDI destinations ``--midi-out`` can name through ``api`` ('alsa' or 'jack')."""
    if api not in _APIS:
        raise InstrumentError(f"unknown MIDI API {api!r} (alsa, jack)")
    out = rtmidi.MidiOut(_APIS[api], "instrument-list")
    try:
        return [p for p in out.get_ports() if CLIENT_NAME not in p]
    finally:
        out.delete()


_ABANDONED: list[tuple] = []  # the ports of dead JACK servers, kept from their destructors


def _discard(_message: tuple[int, ...]) -> None:
    """Where messages go while no port is open."""
