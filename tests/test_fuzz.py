"""Bad input, fuzzed: random and truncated MIDI files, random MIDI streams into the loop."""

from __future__ import annotations

import io

import mido
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from instrument.arrange import make_arranger
from instrument.ensemble import load_ensemble
from instrument.errors import InstrumentError
from instrument.input.midifile import keyboard_events, read_midi
from instrument.live.performer import Performer
from instrument.synth import Synth, find_soundfont


def _valid_midi_bytes() -> bytes:
    mid = mido.MidiFile()
    track = mido.MidiTrack()
    mid.tracks.append(track)
    for p in (60, 64, 67, 72):
        track.append(mido.Message("note_on", note=p, velocity=80, time=120))
        track.append(mido.Message("control_change", control=64, value=127, time=0))
        track.append(mido.Message("note_off", note=p, velocity=0, time=240))
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


VALID = _valid_midi_bytes()


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(
    st.binary(max_size=300),
    st.integers(min_value=0, max_value=len(VALID)).map(lambda n: VALID[:n]),
    st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)).map(
        lambda iv: VALID[: iv[0]] + bytes([iv[1]]) + VALID[iv[0] + 1 :]),
))  # fmt: skip
def test_random_and_truncated_midi_files_give_a_clean_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "f.mid"
    path.write_bytes(data)
    try:
        midi = read_midi(path)
    except InstrumentError as e:
        assert str(e) and "\n" not in str(e)
        return
    for t, msg in keyboard_events(midi):
        assert t >= 0 and isinstance(msg, list)


@pytest.fixture(scope="module")
def band():
    synth = Synth(find_soundfont(), sample_rate=22050)
    quartet = load_ensemble("quartet")
    yield synth, quartet
    synth.close()


message = st.one_of(
    st.lists(st.integers(0, 255), min_size=0, max_size=4),  # anything at all
    st.tuples(st.sampled_from([0x80, 0x90, 0xB0, 0xE0, 0xA0, 0xC0, 0xD0]), st.integers(0, 15),
              st.integers(0, 127), st.integers(0, 127)).map(
        lambda m: [m[0] | m[1], m[2], m[3]]),  # well-formed, on all 16 channels
    st.just([0xF0, 0x7E, 0x7F, 0x09, 0x01, 0xF7]),  # SysEx
    st.just([0xB0, 64, 127]),  # pedal down
)  # fmt: skip


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=st.lists(message, max_size=80))
def test_random_streams_leave_no_hanging_note(band, stream):
    synth, quartet = band
    synth.panic()
    perf = Performer(synth, quartet, make_arranger("closest", quartet))
    t = 0.0
    for data in stream:
        t += 0.01
        perf.handle(data, t)  # must never raise
    # The player lets go of every key and the pedal, on every channel.
    for ch in range(16):
        perf.handle([0xB0 | ch, 64, 0], t)
        for pitch in range(128):
            perf.handle([0x80 | ch, pitch, 0], t)
    assert perf.sounding == {}
    synth.render(22050 * 3)  # let every release ring out
    assert synth.active_voices() == 0
    assert np.abs(synth.render(2205)).max() < 1e-4
