"""The live path for real: `instrument play` under a JACK dummy server, driven by a probe.

The probe is a JACK client that plays MIDI into the app's port at exact frames and records
the app's per-part outputs (``--multi-out``: one stereo pair per part, named after it), so
each assertion is about sound coming out of the right part.
"""

from __future__ import annotations

import numpy as np
import pytest

from instrument.ensemble import load_ensemble
from instrument.live.session import part_port_names
from tests.conftest import wait_for
from tests.support.jackclients import start_app, stop_app, wait_for_app, wait_for_play

pytestmark = pytest.mark.jack
SILENT = 1e-3
# s: how long to wait for something the app does in its own time (a release to end, a port
# to come back). A failsafe, not a measure: on a loaded machine the server's cycles run
# late, so a few seconds of the wall clock can be much less of the recording.
PATIENCE = 30.0


@pytest.fixture
def app(jack_server):
    """`instrument play` on the quartet with the zone arranger (pitch decides the part)."""
    flags = "play --audio jack --no-display --multi-out --ensemble quartet --arranger zone"
    proc = start_app(*flags.split())
    wait_for_app(proc, ["instrument:midi_00", _left("Violin I")], 120)
    wait_for_play(proc, 120)
    yield proc
    stop_app(proc, 10)


def _left(part_name: str) -> str:
    """The left output of a part under ``--multi-out``: ``instrument:violin-i_l``."""
    ensemble = load_ensemble("quartet")
    part = next(p for p in ensemble.parts if p.name == part_name)
    return f"instrument:{part_port_names(ensemble)[part.channel]}_l"


@pytest.fixture
def probe(app):
    from tests.support.jackprobe import Probe

    ensemble = load_ensemble("quartet")
    p = Probe("probe", n_inputs=len(ensemble), seconds=60).activate()
    p.connect_to("instrument:midi_00", [_left(part.name) for part in ensemble.parts])
    assert wait_for(lambda: p.start_frame is not None)
    yield p
    p.close()


def _zone_part(pitch: int) -> int:
    from instrument.arrange.base import Note
    from instrument.arrange.zone import ZoneArranger

    return ZoneArranger(load_ensemble("quartet")).assign(Note(pitch, 100, 0.0))


def _levels(probe, seconds: float) -> np.ndarray:
    """Peak level of each part's output over the last ``seconds`` recorded."""
    a = probe.audio()[-int(seconds * probe.rate) :]
    return np.abs(a).max(axis=0)


def _levels_at(probe, frame: int, after: float, until: float) -> np.ndarray:
    """Peak level of each part's output from ``after`` to ``until`` s past JACK ``frame``
    (a note's send frame), once the recording has got there: the window is of sound, not
    of when this process woke up."""
    a, b = frame + probe.seconds(after), frame + probe.seconds(until)
    assert wait_for(lambda: probe.recorded_until() >= b, timeout=PATIENCE), "recording stalled"
    return np.abs(probe.audio_between(a, b)).max(axis=0)


def _onsets(probe, frame: int, threshold: float, parts: int | list[int]) -> np.ndarray:
    """Seconds from JACK ``frame`` (the notes' send frame) to each part's first sample over
    ``threshold`` (NaN: none), once ``parts`` have sounded (a number of parts, or these
    parts), or after ``PATIENCE``. The app answers in its own time; how soon is the latency
    benchmark's business, not this test's."""

    def enough(d: np.ndarray) -> bool:
        if isinstance(parts, int):
            return (~np.isnan(d)).sum() >= parts
        return not np.isnan(d[parts]).any()

    wait_for(lambda: enough(probe.first_sound(frame, threshold)), timeout=PATIENCE)
    return probe.first_sound(frame, threshold)


def _what_was_sent(probe, frame: int) -> str:
    """For a note that never sounded: what the probe sent from ``frame`` on, and where."""
    ports = [p.name for p in probe.client.get_all_connections(probe.midi_out)]
    ears = [[p.name for p in probe.client.get_all_connections(i)] for i in probe.inputs]
    sent = [(f - frame, d.hex()) for f, d in probe.sent if f >= frame - probe.block]
    return (
        f"sent (frames after {frame}, bytes) {sent} to {ports}; recorded to "
        f"{probe.recorded_until()} from {ears}"
    )


def test_note_sounds_on_its_part_and_note_off_silences_it(probe):
    for pitch in (40, 84):
        part = _zone_part(pitch)
        on = probe.send([0x90, pitch, 100])
        delays = _onsets(probe, on, 0.01, [part])
        assert not np.isnan(delays[part]), (
            f"pitch {pitch}: part {part} silent: {_what_was_sent(probe, on)}"
        )
        until = float(np.nanmax(delays)) + 0.3
        levels = _levels_at(probe, on, 0.0, until)
        others = np.delete(levels, part)
        assert others.max() < SILENT, f"pitch {pitch}: other parts sound: {levels}"
        probe.send([0x80, pitch, 0])
        assert wait_for(lambda: _levels(probe, 0.1).max() < SILENT, timeout=PATIENCE)


def test_sustain_pedal_holds_until_released(probe):
    part = _zone_part(60)
    probe.send([0xB0, 64, 127])
    on = probe.send([0x90, 60, 100])
    off = probe.send([0x80, 60, 0], at=on + probe.seconds(0.3))
    delays = _onsets(probe, on, SILENT, [part])
    assert not np.isnan(delays[part]), f"the note never sounded: {_what_was_sent(probe, on)}"
    # a second past the note-off, or past the note's onset if the app answered later
    after = max(off, on + probe.seconds(delays[part]))
    ringing = _levels_at(probe, after, 0.8, 1.0)[part]
    assert ringing > SILENT, f"pedal down: the note must ring on ({delays[part]:.3f} s to sound)"
    probe.send([0xB0, 64, 0])
    assert wait_for(lambda: _levels(probe, 0.1).max() < SILENT, timeout=PATIENCE)


def test_all_notes_off_silences_everything(probe):
    on = probe.now() + probe.block
    for pitch in (40, 55, 67, 84):
        probe.send([0x90, pitch, 100], at=on)
    probe.send([0xB0, 64, 127], at=on)
    delays = _onsets(probe, on, 0.005, 3)
    assert (~np.isnan(delays)).sum() >= 3, f"onsets {delays}: {_what_was_sent(probe, on)}"
    panic = probe.send([0xB0, 120, 0])  # all sound off: the performer's panic
    assert _levels_at(probe, panic, 0.4, 0.5).max() < SILENT, "the panic left sound"


def test_garbage_and_sysex_do_not_stop_the_loop(probe):
    for junk in ([0xF0, 1, 2, 3, 0xF7], [0x90], [0xF8], [0xB0, 7], [0x90, 60, 100, 5]):
        probe.send(junk)
    part = _zone_part(72)
    on = probe.send([0x90, 72, 100])
    assert not np.isnan(_onsets(probe, on, 0.01, [part])[part])
    probe.send([0x80, 72, 0])


def test_vanished_keyboard_releases_its_notes_and_comes_back(app, jack_server):
    from tests.support.jackprobe import Probe

    keyboard = Probe("usb-keys", n_inputs=0).activate()
    keyboard.connect_to("instrument:midi_00", [])
    ear = Probe("ear", n_inputs=1, seconds=30).activate()
    ear.client.connect(_left("Violin I"), "ear:in_0")
    part = load_ensemble("quartet").parts[_zone_part(84)]
    ear.client.disconnect(_left("Violin I"), "ear:in_0")
    ear.client.connect(_left(part.name), "ear:in_0")
    keyboard.send([0x90, 84, 100])
    assert wait_for(lambda: ear.level(4800) > 0.01, timeout=PATIENCE), "the held note sounds"
    keyboard.close()  # the cable is pulled with the key still down
    assert wait_for(lambda: ear.level(4800) < SILENT, timeout=PATIENCE), "the held note hangs"
    keyboard = Probe("usb-keys", n_inputs=0).activate()  # plugged back in
    assert wait_for(
        lambda: keyboard.client.get_all_connections("usb-keys:out"), timeout=PATIENCE
    ), "the app did not reconnect the returning port"
    keyboard.send([0x90, 84, 100])
    assert wait_for(lambda: ear.level(4800) > 0.01, timeout=PATIENCE), "no sound after reconnect"
    keyboard.send([0x80, 84, 0])
    keyboard.close()
    ear.close()
    assert app.poll() is None, "the loop must keep running"
