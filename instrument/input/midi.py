"""MIDI keyboard input through python-rtmidi, with port choice and hot-plug recovery.

Port choice: ``--midi-in NAME`` (substring, case-insensitive), else the first hardware
input, else a virtual input port that any software keyboard can connect to.

Under JACK the app owns one MIDI port and connects the chosen sources to it itself: either
rtmidi's ``instrument-midi:in``, or a port another part of the app made (``jack_port``:
FluidSynth's ``instrument:midi_00``, which is heard a period sooner, see
docs/benchmarks.md); under ALSA rtmidi subscribes to the chosen port, or (``seq_client``:
FluidSynth's ``alsa_seq`` driver, read by the compiled note path without the GIL) the
chosen port is subscribed to that client's port through ``input.alsaseq``. Either way
``poll()`` (called a few times a second from the main thread, never from the callback)
notices a vanished source, reports it through ``on_lost`` so the player can release the
notes it held, and reconnects when a port of that name comes back.
"""

from __future__ import annotations

import errno
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import rtmidi

from instrument.errors import InstrumentError
from instrument.input import alsaseq

if TYPE_CHECKING:
    from instrument.input.connections import ConnectionLog

CLIENT_NAME = "instrument-midi"
PORT_NAME = "in"
# Ports that are never a player's keyboard.
_NOT_HARDWARE = re.compile(r"through|instrument|rtmidi|probe|fluid", re.I)

MessageCallback = Callable[[list[int], float], None]


def _strip_ids(name: str) -> str:
    """ALSA port names end in client:port numbers that change on replug."""
    return re.sub(r"\s+\d+:\d+$", "", name)


def quiet_audio_libraries() -> None:
    """Keep libjack's and alsa-lib's own stderr chatter out of the player's terminal.

    Failures still surface: as exceptions from the calls, turned into one-line errors.
    """
    try:
        import jack

        jack.set_error_function(lambda _msg: None)
        jack.set_info_function(lambda _msg: None)
    except Exception:  # noqa: BLE001 - without libjack there is nothing to quiet
        pass
    try:
        import ctypes

        handler_type = ctypes.CFUNCTYPE(
            None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p
        )
        global _alsa_handler  # must outlive the call
        _alsa_handler = handler_type(lambda *_: None)
        ctypes.CDLL("libasound.so.2").snd_lib_error_set_handler(_alsa_handler)
    except OSError:
        pass


_alsa_handler = None


def forget_jack_client(client) -> None:
    """Make a client of a dead JACK server inert: closing it then would crash in libjack."""
    if client is not None:
        import jack

        client._ptr = jack._ffi.NULL  # jack.Client.close (also run by __del__) skips NULL


def jack_running() -> bool:
    """Whether a JACK server answers (without starting one)."""
    try:
        import jack

        os.environ.setdefault("JACK_NO_START_SERVER", "1")
        c = jack.Client("instrument-probe", no_start_server=True)
        c.close()
        return True
    except Exception:  # jack raises JackOpenError, or OSError without libjack
        return False


ALSA_SEQUENCER = "/dev/snd/seq"


def alsa_sequencer() -> bool:
    """Whether this machine has an ALSA sequencer device (rtmidi's ALSA MIDI needs one).

    ``$INSTRUMENT_ALSA_SEQ`` names another device path to look for: the tests point it at
    nothing to run as a machine without a sequencer."""
    return os.path.exists(os.environ.get("INSTRUMENT_ALSA_SEQ", ALSA_SEQUENCER))


def choose_api(requested: str = "auto") -> str:
    """'alsa' or 'jack': the requested one, else ALSA when a sequencer exists, else JACK."""
    if requested in ("alsa", "jack"):
        return requested
    if requested != "auto":
        raise InstrumentError(f"unknown MIDI API {requested!r} (auto, alsa, jack)")
    if alsa_sequencer():
        return "alsa"
    if jack_running():
        return "jack"
    raise InstrumentError(
        "no MIDI system: neither an ALSA sequencer (/dev/snd/seq) nor a JACK server; "
        "start jackd or use the computer keyboard (--midi-in none)"
    )


@dataclass
class InputStatus:
    """What the status line shows. state: connected | virtual | lost | closed."""

    state: str
    port: str
    api: str
    reconnects: int = 0


def list_inputs(api: str = "auto") -> list[str]:
    """MIDI input ports visible through ``api`` (sources a keyboard could be)."""
    api = choose_api(api)
    if api == "jack":
        import jack

        c = jack.Client("instrument-list", no_start_server=True)
        try:
            return [p.name for p in c.get_ports(is_midi=True, is_output=True)]
        finally:
            c.close()
    m = rtmidi.MidiIn(rtmidi.API_LINUX_ALSA, "instrument-list")
    try:
        return list(m.get_ports())
    finally:
        m.delete()


class MidiInput:
    """One MIDI input delivering raw messages to ``on_message(bytes, t_monotonic)``.

    ``on_message`` runs in rtmidi's thread (JACK's process thread under JACK): it must
    return quickly and never block.
    """

    def __init__(
        self,
        on_message: MessageCallback,
        port: str | None = None,
        api: str = "auto",
        on_lost: Callable[[], None] | None = None,
        jack_port: str | None = None,
        seq_client: str | None = None,
        sequencer: alsaseq.Sequencer | None = None,
    ):
        """seq_client: under ALSA, the sequencer client whose port the chosen source is
        subscribed to (FluidSynth's, which reads it; ``on_message`` is then not called);
        sequencer: the ALSA sequencer to do it through (default: the machine's)."""
        self.on_message = on_message
        self.jack_port = jack_port
        self.seq_client = seq_client
        self._seq = sequencer
        self._seq_dest: alsaseq.SeqPort | None = None  # the seq_client's port
        self.on_lost = on_lost or (lambda: None)
        self.wanted = port
        self.api = choose_api(api)
        self.status = InputStatus("closed", "", self.api)
        self._midi: rtmidi.MidiIn | None = None
        self._jack = None
        self._sources: set[str] = set()  # JACK: source ports we keep connected
        self._connections: ConnectionLog | None = None  # JACK: the monitor's, compiled
        self._alsa_source: str | None = None  # ALSA: the port we subscribed to
        self._port_name = f"{CLIENT_NAME}:{PORT_NAME}"

    # -- opening -----------------------------------------------------------------------------
    def open(self) -> InputStatus:
        if self.api == "jack" and self.jack_port:
            self._open_jack()
            return self.status
        if self.api == "alsa" and self.seq_client:
            try:
                self._open_seq()
            except InstrumentError:
                self.close()  # the sequencer, if it opened
                raise
            return self.status
        rt_api = rtmidi.API_UNIX_JACK if self.api == "jack" else rtmidi.API_LINUX_ALSA
        try:
            self._midi = rtmidi.MidiIn(rt_api, CLIENT_NAME)
        except rtmidi.RtMidiError as e:
            raise InstrumentError(f"cannot open MIDI ({self.api}): {e}") from None
        self._midi.ignore_types(sysex=True, timing=True, active_sense=True)
        self._midi.set_callback(self._callback)
        if self.api == "jack":
            self._open_jack()
        else:
            self._open_alsa()
        return self.status

    def _pick(self, ports: list[str]) -> str | None:
        if self.wanted:
            hits = [p for p in ports if self.wanted.lower() in p.lower()]
            if not hits:
                shown = ", ".join(ports) or "none"
                raise InstrumentError(f"no MIDI input matches {self.wanted!r} (inputs: {shown})")
            return hits[0]
        hardware = [p for p in ports if not _NOT_HARDWARE.search(p)]
        return hardware[0] if hardware else None

    def _open_jack(self) -> None:
        import jack

        if self._midi is not None:
            self._midi.open_virtual_port(PORT_NAME)
        from instrument.input.connections import ConnectionLog

        self._jack = jack.Client("instrument-monitor", no_start_server=True)
        # Every connection is logged the moment it is made (poll names the sources), by
        # a compiled callback: a Python one would wait for the GIL in JACK's thread.
        if self._connections is None:  # one log for every client: see ConnectionLog
            self._connections = ConnectionLog()
        self._connections.attach(self._jack)
        self._jack.activate()
        # JACK renames a client whose name is taken; ours is the newest such port.
        if self.jack_port:
            self._port_name = self.jack_port
        else:
            ours = self._jack.get_ports(
                f"^{CLIENT_NAME}[-0-9]*:{PORT_NAME}$", is_midi=True, is_input=True
            )
            self._port_name = ours[-1].name if ours else f"{CLIENT_NAME}:{PORT_NAME}"
        # A patchbay (QjackCtl, a2j, a session manager) may have connected a keyboard the
        # moment our port appeared: such a connection counts as ours.
        try:
            self._sources |= {p.name for p in self._jack.get_all_connections(self.port_name)}
        except jack.JackError:  # our port is not there (yet): nothing is connected to it
            pass
        source = self._pick([p.name for p in self._jack.get_ports(is_midi=True, is_output=True)])
        if source:
            self._connect(source)
            self._sources.add(source)
        if self._sources:
            self.status = InputStatus("connected", ", ".join(sorted(self._sources)), "jack")
        else:
            self.status = InputStatus("virtual", self.port_name, "jack")

    def _connect(self, source: str) -> None:
        """Connect ``source`` to our port; a connection that already exists (someone else
        made it first, even between our look and our call) is as good as ours."""
        import jack

        try:
            self._jack.connect(source, self.port_name)
        except jack.JackErrorCode as e:
            if e.code != errno.EEXIST:
                raise

    def _open_alsa(self) -> None:
        ports = self._midi.get_ports()
        source = self._pick(ports)
        if source:
            self._midi.open_port(ports.index(source), PORT_NAME)
            self._alsa_source = _strip_ids(source)
            self.status = InputStatus("connected", source, "alsa")
        else:
            self._midi.open_virtual_port(PORT_NAME)
            self.status = InputStatus("virtual", f"{CLIENT_NAME}:{PORT_NAME}", "alsa")

    def _open_seq(self) -> None:
        if self._seq is None:
            self._seq = alsaseq.open_sequencer()
        ports = self._seq.ports()
        ours = [p for p in ports if p.destination and p.client_name == self.seq_client]
        if not ours:
            raise InstrumentError(f"no ALSA sequencer client {self.seq_client!r} to play into")
        self._seq_dest = ours[0]
        self._port_name = f"{ours[0].client_name}:{ours[0].port_name}"
        sources = [p for p in ports if p.source and p.client != self._seq_dest.client]
        chosen = self._pick([p.name for p in sources])
        if chosen:
            source = sources[[p.name for p in sources].index(chosen)]
            self._seq.connect(source, self._seq_dest)
            self._alsa_source = _strip_ids(chosen)
            self.status = InputStatus("connected", chosen, "alsa")
        else:  # a software keyboard can still be connected to FluidSynth's port
            self.status = InputStatus("virtual", self.port_name, "alsa")

    def _seq_source(self) -> alsaseq.SeqPort | None:
        """The port of the chosen source's name now there (its numbers change on replug)."""
        for p in self._seq.ports():
            if p.source and _strip_ids(p.name) == self._alsa_source:
                return p
        return None

    @property
    def port_name(self) -> str:
        """Our own port's full name (under JACK: ``instrument-midi:in``)."""
        return self._port_name

    # -- real-time callback ------------------------------------------------------------------
    def _callback(self, event: tuple[list[int], float], _data: object = None) -> None:
        try:
            self.on_message(event[0], time.monotonic())
        except Exception:  # noqa: BLE001 - an exception must never kill the MIDI thread
            pass

    # -- health (main thread) ----------------------------------------------------------------
    def poll(self) -> InputStatus:
        """Notice vanished sources and reconnect returning ones. Cheap; call at a few Hz."""
        if self._midi is None and self._jack is None and self._seq is None:
            return self.status
        try:
            if self._jack is not None:
                self._poll_jack()
            elif self._seq is not None and self._alsa_source is not None:
                self._poll_seq()
            elif self._alsa_source is not None:
                self._poll_alsa()
        except Exception as e:  # noqa: BLE001 - the audio server may be gone; report, don't die
            if self.status.state != "lost":
                self.status = InputStatus(
                    "lost", f"{self.status.port} ({e})", self.api, self.status.reconnects
                )
                self.on_lost()
        return self.status

    def _poll_jack(self) -> None:
        for source, destination, connected in self._connections.drain():
            if connected and destination == self._port_name:
                self._sources.add(source)  # connected since the last poll, maybe gone
        connected = {p.name for p in self._jack.get_all_connections(self.port_name)}
        gone = self._sources - connected
        self._sources |= connected  # remember sources others connected, to restore them
        if gone and self.status.state != "lost":
            self.status = InputStatus(
                "lost", ", ".join(sorted(gone)), "jack", self.status.reconnects
            )
            self.on_lost()
        if self.status.state == "lost":
            present = {p.name for p in self._jack.get_ports(is_midi=True, is_output=True)}
            back = [s for s in gone if s in present]
            for s in back:
                self._connect(s)
            if back and len(back) == len(gone):
                self.status = InputStatus(
                    "connected",
                    ", ".join(sorted(self._sources)),
                    "jack",
                    self.status.reconnects + 1,
                )
        elif connected and self.status.state == "virtual":
            self.status = InputStatus(
                "connected", ", ".join(sorted(connected)), "jack", self.status.reconnects
            )

    def _poll_alsa(self) -> None:
        ports = self._midi.get_ports()
        names = [_strip_ids(p) for p in ports]
        present = self._alsa_source in names
        if not present and self.status.state != "lost":
            self.status = InputStatus("lost", self._alsa_source, "alsa", self.status.reconnects)
            self.on_lost()
        elif present and self.status.state == "lost":
            self._midi.close_port()
            self._midi.open_port(names.index(self._alsa_source), PORT_NAME)
            self.status = InputStatus(
                "connected",
                ports[names.index(self._alsa_source)],
                "alsa",
                self.status.reconnects + 1,
            )

    def _poll_seq(self) -> None:
        source = self._seq_source()
        if source is None and self.status.state != "lost":
            self.status = InputStatus("lost", self._alsa_source, "alsa", self.status.reconnects)
            self.on_lost()
        elif source is not None and self.status.state == "lost":
            self._seq.connect(source, self._seq_dest)
            self.status = InputStatus("connected", source.name, "alsa",
                                      self.status.reconnects + 1)  # fmt: skip

    def abandon(self) -> None:
        """Let go of a MIDI system that died (its server is gone): nothing is called on it."""
        forget_jack_client(self._jack)
        self._abandoned = (self._midi, self._jack, self._seq)
        self._midi = self._jack = self._seq = None
        self.status = InputStatus("closed", self.status.port, self.api, self.status.reconnects)

    def close(self) -> None:
        if self._midi is not None:
            self._midi.cancel_callback()
            self._midi.close_port()
            self._midi.delete()
            self._midi = None
        if self._jack is not None:
            self._jack.deactivate()
            self._jack.close()
            self._jack = None
        if self._seq is not None:  # FluidSynth's port goes with its driver, after this
            try:
                source = self._seq_source() if self._alsa_source else None
                if source is not None and self._seq_dest is not None:
                    self._seq.disconnect(source, self._seq_dest)
            finally:
                self._seq.close()
                self._seq = None
        self.status = InputStatus("closed", self.status.port, self.api, self.status.reconnects)
