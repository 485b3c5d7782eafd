"""The ALSA sequencer's ports and subscriptions, through libasound (ctypes).

With the compiled note path and ALSA MIDI, the keyboard goes straight to FluidSynth's own
sequencer client (its ``alsa_seq`` MIDI driver, whose thread calls the compiled handler,
``live.notepath``: no Python, no GIL). rtmidi only subscribes a source to a port of its
own; a subscription between two other clients is made with the sequencer API itself, as
``aconnect`` does. ``Sequencer`` is what ``input.midi.MidiInput`` uses; ``AlsaSequencer``
is libasound's (already a dependency of FluidSynth); the tests implement a fake of it.

Called from the main thread only (opening, ``poll``, closing), never from a MIDI thread.
"""

from __future__ import annotations

import ctypes
import errno
from abc import ABC, abstractmethod
from dataclasses import dataclass

from instrument.errors import InstrumentError

SND_SEQ_OPEN_DUPLEX = 3  # as aconnect opens it
CAP_READ, CAP_WRITE, CAP_SUBS_READ, CAP_SUBS_WRITE = 1 << 0, 1 << 1, 1 << 5, 1 << 6
CAP_NO_EXPORT = 1 << 7
# A port of none of these kinds (a timer, a client's private port) is not MIDI, as rtmidi.
TYPE_MIDI_GENERIC, TYPE_SYNTH, TYPE_APPLICATION = 1 << 1, 1 << 10, 1 << 20
SYSTEM_CLIENT = 0  # the kernel's Timer and Announce ports


@dataclass(frozen=True)
class SeqPort:
    """One sequencer port. source: others may subscribe to what it sends (a keyboard);
    destination: others may subscribe it to what they send (a synth's input)."""

    client: int
    port: int
    client_name: str
    port_name: str
    source: bool
    destination: bool

    @property
    def name(self) -> str:
        """As rtmidi lists it, and ``--midi-in`` matches it: ``client:port 20:0``."""
        return f"{self.client_name}:{self.port_name} {self.client}:{self.port}"


class Sequencer(ABC):
    """The ALSA sequencer as ``MidiInput`` needs it: the ports, and subscriptions between
    two of them."""

    @abstractmethod
    def ports(self) -> list[SeqPort]:
        """Every MIDI port of every client but the system's, now."""

    @abstractmethod
    def connect(self, source: SeqPort, destination: SeqPort) -> None:
        """Subscribe ``destination`` to what ``source`` sends; a subscription that exists
        already (someone made it first) is as good as ours. InstrumentError if it fails."""

    @abstractmethod
    def disconnect(self, source: SeqPort, destination: SeqPort) -> None:
        """End that subscription; one that is gone already (a port unplugged) is no error."""

    @abstractmethod
    def close(self) -> None:
        """Let go of the sequencer (subscriptions made stay, as aconnect's do)."""


_vp = ctypes.c_void_p


class _Addr(ctypes.Structure):
    _fields_ = [("client", ctypes.c_ubyte), ("port", ctypes.c_ubyte)]


_PROTOTYPES = {
    "snd_seq_open": (ctypes.c_int, [ctypes.POINTER(_vp), ctypes.c_char_p, ctypes.c_int,
                                    ctypes.c_int]),
    "snd_seq_close": (ctypes.c_int, [_vp]),
    "snd_seq_set_client_name": (ctypes.c_int, [_vp, ctypes.c_char_p]),
    "snd_seq_client_info_malloc": (ctypes.c_int, [ctypes.POINTER(_vp)]),
    "snd_seq_client_info_free": (None, [_vp]),
    "snd_seq_client_info_set_client": (None, [_vp, ctypes.c_int]),
    "snd_seq_client_info_get_client": (ctypes.c_int, [_vp]),
    "snd_seq_client_info_get_name": (ctypes.c_char_p, [_vp]),
    "snd_seq_query_next_client": (ctypes.c_int, [_vp, _vp]),
    "snd_seq_port_info_malloc": (ctypes.c_int, [ctypes.POINTER(_vp)]),
    "snd_seq_port_info_free": (None, [_vp]),
    "snd_seq_port_info_set_client": (None, [_vp, ctypes.c_int]),
    "snd_seq_port_info_set_port": (None, [_vp, ctypes.c_int]),
    "snd_seq_port_info_get_port": (ctypes.c_int, [_vp]),
    "snd_seq_port_info_get_name": (ctypes.c_char_p, [_vp]),
    "snd_seq_port_info_get_capability": (ctypes.c_uint, [_vp]),
    "snd_seq_port_info_get_type": (ctypes.c_uint, [_vp]),
    "snd_seq_query_next_port": (ctypes.c_int, [_vp, _vp]),
    "snd_seq_port_subscribe_malloc": (ctypes.c_int, [ctypes.POINTER(_vp)]),
    "snd_seq_port_subscribe_free": (None, [_vp]),
    "snd_seq_port_subscribe_set_sender": (None, [_vp, ctypes.POINTER(_Addr)]),
    "snd_seq_port_subscribe_set_dest": (None, [_vp, ctypes.POINTER(_Addr)]),
    "snd_seq_subscribe_port": (ctypes.c_int, [_vp, _vp]),
    "snd_seq_unsubscribe_port": (ctypes.c_int, [_vp, _vp]),
    "snd_strerror": (ctypes.c_char_p, [ctypes.c_int]),
}  # fmt: skip


def _libasound() -> ctypes.CDLL:
    try:
        lib = ctypes.CDLL("libasound.so.2")
    except OSError as e:
        raise InstrumentError(f"cannot open the ALSA sequencer: no libasound ({e})") from None
    for name, (restype, argtypes) in _PROTOTYPES.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes
    return lib


def _text(raw: bytes | None) -> str:
    return (raw or b"").decode("utf-8", "replace")


class AlsaSequencer(Sequencer):
    """libasound's sequencer, as a client ``client_name`` of its own with no ports."""

    def __init__(self, client_name: str = "instrument-patch"):
        self._lib = lib = _libasound()
        handle = _vp()
        err = lib.snd_seq_open(ctypes.byref(handle), b"default", SND_SEQ_OPEN_DUPLEX, 0)
        if err < 0:
            raise InstrumentError(f"cannot open the ALSA sequencer: {self._why(err)}")
        self._seq = handle
        lib.snd_seq_set_client_name(handle, client_name.encode())

    def _why(self, err: int) -> str:
        return _text(self._lib.snd_strerror(err))

    def ports(self) -> list[SeqPort]:
        lib, found = self._lib, []
        cinfo, pinfo = _vp(), _vp()
        lib.snd_seq_client_info_malloc(ctypes.byref(cinfo))
        lib.snd_seq_port_info_malloc(ctypes.byref(pinfo))
        try:
            lib.snd_seq_client_info_set_client(cinfo, -1)
            while lib.snd_seq_query_next_client(self._seq, cinfo) >= 0:
                client = lib.snd_seq_client_info_get_client(cinfo)
                if client == SYSTEM_CLIENT:
                    continue
                client_name = _text(lib.snd_seq_client_info_get_name(cinfo))
                lib.snd_seq_port_info_set_client(pinfo, client)
                lib.snd_seq_port_info_set_port(pinfo, -1)
                while lib.snd_seq_query_next_port(self._seq, pinfo) >= 0:
                    caps = lib.snd_seq_port_info_get_capability(pinfo)
                    kind = lib.snd_seq_port_info_get_type(pinfo)
                    if caps & CAP_NO_EXPORT or not kind & (
                        TYPE_MIDI_GENERIC | TYPE_SYNTH | TYPE_APPLICATION
                    ):
                        continue
                    source = caps & (CAP_READ | CAP_SUBS_READ) == CAP_READ | CAP_SUBS_READ
                    dest = caps & (CAP_WRITE | CAP_SUBS_WRITE) == CAP_WRITE | CAP_SUBS_WRITE
                    found.append(SeqPort(client, lib.snd_seq_port_info_get_port(pinfo),
                                         client_name, _text(lib.snd_seq_port_info_get_name(pinfo)),
                                         source, dest))  # fmt: skip
        finally:
            lib.snd_seq_port_info_free(pinfo)
            lib.snd_seq_client_info_free(cinfo)
        return found

    def _subscription(self, source: SeqPort, destination: SeqPort, subscribe: bool) -> int:
        lib, sub = self._lib, _vp()
        lib.snd_seq_port_subscribe_malloc(ctypes.byref(sub))
        try:
            sender, dest = (
                _Addr(source.client, source.port),
                _Addr(destination.client, destination.port),
            )
            lib.snd_seq_port_subscribe_set_sender(sub, ctypes.byref(sender))
            lib.snd_seq_port_subscribe_set_dest(sub, ctypes.byref(dest))
            call = lib.snd_seq_subscribe_port if subscribe else lib.snd_seq_unsubscribe_port
            return call(self._seq, sub)
        finally:
            lib.snd_seq_port_subscribe_free(sub)

    def connect(self, source: SeqPort, destination: SeqPort) -> None:
        err = self._subscription(source, destination, subscribe=True)
        if err < 0 and err != -errno.EBUSY:  # EBUSY: subscribed already
            raise InstrumentError(f"cannot connect {source.name} to {destination.name}: "
                                  f"{self._why(err)}")  # fmt: skip

    def disconnect(self, source: SeqPort, destination: SeqPort) -> None:
        err = self._subscription(source, destination, subscribe=False)
        if err < 0 and err not in (-errno.ENOENT, -errno.ENXIO, -errno.EINVAL):
            raise InstrumentError(f"cannot disconnect {source.name} from {destination.name}: "
                                  f"{self._why(err)}")  # fmt: skip

    def close(self) -> None:
        if self._seq.value:
            self._lib.snd_seq_close(self._seq)
            self._seq = _vp()


def open_sequencer() -> Sequencer:
    """The machine's ALSA sequencer. InstrumentError (one line) if it cannot be opened."""
    return AlsaSequencer()


def fluid_client_name(seq_id: str) -> str:
    """The sequencer client FluidSynth's ``alsa_seq`` MIDI driver makes for
    ``midi.alsa_seq.id`` = ``seq_id`` (its ``fluid_alsa_seq_full_id``)."""
    return f"FLUID Synth ({seq_id})"
