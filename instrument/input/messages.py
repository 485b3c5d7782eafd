"""Turning raw MIDI bytes into channel messages, robustly.

Keyboards, drivers and fuzzers can deliver anything: running status, SysEx, real-time
bytes between data bytes, truncated messages, data bytes above 127. ``parse`` accepts one
complete message (as rtmidi and the JACK port deliver them) and never raises: what cannot
be used is dropped and counted by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

# Channel-message kinds: the status byte's high nibble.
NOTE_OFF = 0x80
NOTE_ON = 0x90
POLY_AFTERTOUCH = 0xA0
CONTROL = 0xB0
PROGRAM = 0xC0
CHANNEL_PRESSURE = 0xD0
PITCH_BEND = 0xE0

# Data bytes that follow each channel-message status (by high nibble).
_DATA_LENGTH = {0x80: 2, 0x90: 2, 0xA0: 2, 0xB0: 2, 0xC0: 1, 0xD0: 1, 0xE0: 2}


class Message(NamedTuple):
    """A channel message. kind: status high nibble (NOTE_ON, ...); channel 0-15;
    data1, data2: the data bytes (data2 = 0 for one-byte messages). Note-on with velocity 0
    is reported as NOTE_OFF, as every keyboard means it.

    Read them by what they mean, as mido names them: ``note``/``velocity`` (note on and
    off, poly aftertouch), ``control``/``value`` (control change), ``program``, ``pressure``
    (channel pressure) and ``pitch`` (bend, -8192..8191; ``bend14`` is the raw 0..16383).
    """

    kind: int
    channel: int
    data1: int
    data2: int

    @property
    def note(self) -> int:
        return self.data1

    @property
    def velocity(self) -> int:
        return self.data2

    @property
    def control(self) -> int:
        return self.data1

    @property
    def value(self) -> int:
        return self.data2

    @property
    def program(self) -> int:
        return self.data1

    @property
    def pressure(self) -> int:
        return self.data1

    @property
    def bend14(self) -> int:
        return self.data1 | (self.data2 << 7)

    @property
    def pitch(self) -> int:
        return self.bend14 - 8192


def parse(data: Iterable[int]) -> Message | None:
    """One complete MIDI message -> Message, or None if it is not a usable channel message."""
    try:
        data = list(data)
    except TypeError:
        return None
    if not data or not all(isinstance(x, int) and 0 <= x <= 255 for x in data):
        return None
    status = data[0]
    kind = status & 0xF0
    if status < 0x80 or kind == 0xF0:
        return None  # stray data byte, SysEx, system common or real-time
    need = _DATA_LENGTH[kind]
    body = data[1:]
    if len(body) < need or any(x > 127 for x in body[:need]):
        return None
    data1 = body[0]
    data2 = body[1] if need == 2 else 0
    if kind == NOTE_ON and data2 == 0:
        kind = NOTE_OFF
    return Message(kind, status & 0x0F, data1, data2)
