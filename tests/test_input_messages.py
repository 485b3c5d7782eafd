"""Raw MIDI parsing: complete messages, what is not one, and fuzzing."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from instrument.input.messages import (
    CONTROL,
    NOTE_OFF,
    NOTE_ON,
    PITCH_BEND,
    Message,
    parse,
)


def test_parse_channel_messages():
    assert parse([0x93, 60, 100]) == Message(NOTE_ON, 3, 60, 100)
    assert parse([0x90, 60, 0]) == Message(NOTE_OFF, 0, 60, 0)  # velocity 0 means off
    assert parse([0xB0, 64, 127]) == Message(CONTROL, 0, 64, 127)
    assert parse([0xEF, 0, 64]) == Message(PITCH_BEND, 15, 0, 64)


def test_parse_rejects_what_is_not_a_channel_message():
    for bad in (
        [],
        [0x90],
        [0x90, 60],
        [60, 100],
        [0xF0, 1, 0xF7],
        [0xF8],
        [0x90, 128, 1],
        [0x90, 60, 300],
    ):
        assert parse(bad) is None


@settings(max_examples=500, deadline=None)
@given(st.lists(st.integers(min_value=-5, max_value=300), max_size=64))
def test_fuzzed_bytes_never_raise(data):
    msg = parse(data)
    if msg is not None:
        assert 0 <= msg.channel <= 15 and 0 <= msg.data1 <= 127 and 0 <= msg.data2 <= 127
