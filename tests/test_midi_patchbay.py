"""A patchbay connected the keyboard first: the app takes the connection as its own.

QjackCtl's patchbay, a2j or a session manager connect a keyboard to ``instrument:midi_00``
the moment that port appears, before the app looks. The app used to try the same
connection again and crash on JACK's "already exists". Here a patchbay thread makes the
connection as soon as the port exists, then the app starts its MIDI input: it must say it
is connected to that keyboard, never report it lost, and a held note must sound for as
long as it is held (a false "MIDI lost" releases every held note).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

pytestmark = pytest.mark.jack

KEYS = "stage-keys"  # a name the app takes for a hardware keyboard (not "probe", "through")
HOLD_S = 3.0  # several times the app's 0.25 s health poll, past the 0.8 s of the old fault


def _patchbay(client, stop: threading.Event, made: list[str]) -> None:
    """Connect the keyboard to the app's MIDI input the moment that port exists."""
    import jack

    while not stop.is_set():
        if client.get_ports("^instrument:midi_00$"):
            try:
                client.connect(f"{KEYS}:out", "instrument:midi_00")
                made.append("midi")
            except jack.JackError as e:
                made.append(f"failed: {e}")
            return
        time.sleep(0.0005)


def test_connection_made_by_a_patchbay_first_counts_as_connected(jack_server):
    from tests.support.jackprobe import Probe

    keys = Probe(KEYS, n_inputs=1, seconds=40).activate()
    stop, made = threading.Event(), []
    patchbay = threading.Thread(target=_patchbay, args=(keys.client, stop, made), daemon=True)
    patchbay.start()
    env = dict(os.environ, JACK_DEFAULT_SERVER=jack_server.name)
    app = subprocess.Popen(
        [sys.executable, "-m", "instrument", "play", "--audio", "jack", "--no-display",
         "--ensemble", "quartet", "--arranger", "zone", "--duration", "30"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(app.stderr), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while not any("MIDI in:" in ln for ln in lines) and app.poll() is None:
            assert time.monotonic() < deadline, "the app did not open its MIDI input"
            time.sleep(0.05)
        patchbay.join(5)
        # Nearly always the patchbay is first (it polls every 0.5 ms; the app opens a JACK
        # client first); when the app wins, the patchbay's own attempt finds the connection.
        # The order is pinned by the in-process test below.
        assert made == ["midi"] or "already exists" in made[0], made
        assert app.poll() is None, "".join(lines)
        keys.client.connect("instrument:left", f"{KEYS}:in_0")
        # A violin note (the zone split gives G4 to Violin II), held for HOLD_S, placed
        # on exact JACK frames; then wait until that much audio is recorded.
        on = keys.send([0x90, 67, 100], delay_frames=keys.rate // 2)
        off = keys.send([0x80, 67, 0], at=on + int(HOLD_S * keys.rate))
        end = off + 2 * keys.rate
        while keys.start_frame is None or keys.start_frame + len(keys.audio()) < end:
            assert app.poll() is None, "".join(lines)
            time.sleep(0.05)
        audio = keys.audio()[:, 0]
        start = keys.start_frame
        held = audio[on - start + keys.rate // 2 : off - start]  # after the attack
        blocks = np.abs(held[: len(held) // 4800 * 4800].reshape(-1, 4800)).max(axis=1)
        # A cut note is silent from ~1 s on; a (rare) gap the loaded dummy driver skipped
        # is one or two blocks of 0.1 s, not most of them.
        assert (blocks > 0.01).mean() > 0.9, f"the held note was cut: {blocks.round(3)}"
        assert (blocks[-5:] > 0.01).sum() >= 3, "the held note was silent at its end"
        after = audio[off - start + keys.rate : off - start + 2 * keys.rate]
        assert np.abs(after).max() < 0.01, "the note hangs after its note-off"
    finally:
        stop.set()
        app.terminate()
        app.wait(30)
        reader.join(5)
        keys.close()
    text = "".join(lines)
    assert "Traceback" not in text and "already exists" not in text, text
    assert f"MIDI in: {KEYS}:out (jack, connected)" in text, text
    assert "lost" not in text, text


def test_midi_input_opened_after_the_connection_takes_it_as_its_own(jack_server):
    """The same, in order for sure: the keyboard is connected to the synth's MIDI port,
    and only then does the app's MIDI input open and watch that port."""
    import jack

    from instrument.input.midi import MidiInput

    synth = jack.Client("instrument-synth", no_start_server=True)  # stands in for FluidSynth
    synth.midi_inports.register("midi_00")
    keys = jack.Client(KEYS, no_start_server=True)
    keys.midi_outports.register("out")
    synth.activate()
    keys.activate()
    lost: list[bool] = []
    midi = MidiInput(lambda data, t: None, api="jack", on_lost=lambda: lost.append(True),
                     jack_port="instrument-synth:midi_00")  # fmt: skip
    try:
        keys.connect(f"{KEYS}:out", "instrument-synth:midi_00")  # the patchbay, first
        status = midi.open()
        assert (status.state, status.port) == ("connected", f"{KEYS}:out"), status
        for _ in range(8):  # the health polls of two seconds of playing
            status = midi.poll()
        assert (status.state, status.port) == ("connected", f"{KEYS}:out"), status
        assert not lost
        # A real loss is still one: the held notes are released (and, the keyboard's port
        # being there, the input connects it again).
        keys.disconnect(f"{KEYS}:out", "instrument-synth:midi_00")
        deadline = time.monotonic() + 10
        while not lost and time.monotonic() < deadline:
            midi.poll()
            time.sleep(0.05)  # JACK applies graph changes in its own time
        assert lost == [True]
    finally:
        midi.close()
        keys.close()
        synth.close()
