"""Raw MIDI parsing: complete messages, byte streams with running status, and fuzzing."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from instrument.input.messages import (
    CONTROL,
    NOTE_OFF,
    NOTE_ON,
    PITCH_BEND,
    Message,
    StreamParser,
    parse,
)


def test_parse_channel_messages():
    assert parse([0x93, 60, 100]) == Message(NOTE_ON, 3, 60, 100)
    assert parse([0x90, 60, 0]) == Message(NOTE_OFF, 0, 60, 0)  # velocity 0 means off
    assert parse([0xB0, 64, 127]) == Message(CONTROL, 0, 64, 127)
    assert parse([0xEF, 0, 64]) == Message(PITCH_BEND, 15, 0, 64)


def test_parse_rejects_what_is_not_a_channel_message():
    for bad in ([], [0x90], [0x90, 60], [60, 100], [0xF0, 1, 0xF7], [0xF8], [0x90, 128, 1],
                [0x90, 60, 300]):
        assert parse(bad) is None


def test_stream_running_status_sysex_and_realtime():
    p = StreamParser()
    stream = [0x90, 60, 100, 64, 100,  # running status: a second note-on
              0xF8,  # a clock tick in the middle of nowhere
              67, 0xF8, 100,  # and inside a message
              0xF0, 0x7E, 0x7F, 0x06, 0x01, 0xF7,  # SysEx: ignored, cancels running status
              72, 100,  # data with no status: dropped
              0x80, 60, 0]
    got = list(p.feed(stream))
    assert got == [Message(NOTE_ON, 0, 60, 100), Message(NOTE_ON, 0, 64, 100),
                   Message(NOTE_ON, 0, 67, 100), Message(NOTE_OFF, 0, 60, 0)]
    assert p.dropped >= 2


def test_stream_split_across_feeds():
    p = StreamParser()
    assert list(p.feed([0x91, 60])) == []
    assert list(p.feed([90])) == [Message(NOTE_ON, 1, 60, 90)]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.integers(min_value=-5, max_value=300), max_size=64))
def test_fuzzed_bytes_never_raise(data):
    parse(data)
    for msg in StreamParser().feed(data):
        assert 0 <= msg.channel <= 15 and 0 <= msg.data1 <= 127 and 0 <= msg.data2 <= 127
