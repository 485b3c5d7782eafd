"""The MIDI input hears of connections through a compiled port-connect callback.

A keyboard that a patchbay connects and that goes again before the input's next health
poll must still count as the input's source: when it comes back, the input connects it
again. The callback that notices it runs in JACK's notification thread, where Python
would wait for the GIL, so it is a numba ``cfunc`` writing a ring (``input/connections.py``).
"""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.jack

KEYS = "stage-keys"
SYNTH_PORT = "instrument-synth:midi_00"


def _wait(predicate, seconds: float = 10.0) -> bool:
    """JACK applies graph changes and sends their notifications in its own time."""
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    return predicate()


def test_the_log_names_each_connection_made_and_broken(jack_server):
    import jack

    from instrument.input.connections import ConnectionLog

    watcher = jack.Client("watcher", no_start_server=True)
    log = ConnectionLog()
    log.attach(watcher)
    watcher.activate()
    a = jack.Client("a", no_start_server=True)
    a.midi_outports.register("out")
    b = jack.Client("b", no_start_server=True)
    b.midi_inports.register("in")
    a.activate()
    b.activate()
    try:
        a.connect("a:out", "b:in")
        a.disconnect("a:out", "b:in")
        assert _wait(lambda: log.count >= 2)
        assert log.drain() == [("a:out", "b:in", True), ("a:out", "b:in", False)]
        assert log.drain() == []  # each connection is handed on once
        assert log.missed == 0
    finally:
        for c in (a, b, watcher):
            c.deactivate()
            c.close()


def test_a_source_gone_before_the_poll_is_connected_again_when_it_returns(jack_server):
    import jack

    from instrument.input.midi import MidiInput

    synth = jack.Client("instrument-synth", no_start_server=True)  # stands in for FluidSynth
    synth.midi_inports.register("midi_00")
    synth.activate()
    lost: list[bool] = []
    midi = MidiInput(lambda data, t: None, api="jack", on_lost=lambda: lost.append(True),
                     jack_port=SYNTH_PORT)  # fmt: skip
    keys = None
    try:
        assert midi.open().state == "virtual"
        # A patchbay connects a keyboard, which goes (unplugged) before the next poll.
        keys = jack.Client(KEYS, no_start_server=True)
        keys.midi_outports.register("out")
        keys.activate()
        keys.connect(f"{KEYS}:out", SYNTH_PORT)
        assert _wait(lambda: midi._connections.count >= 1)
        keys.deactivate()
        keys.close()
        keys = None
        status = midi.poll()
        assert status.state == "lost" and lost == [True], status
        # It comes back: the input connects it again, by itself.
        keys = jack.Client(KEYS, no_start_server=True)
        keys.midi_outports.register("out")
        keys.activate()
        assert _wait(lambda: midi.poll().state == "connected")
        assert midi.status.reconnects == 1
        assert [p.name for p in keys.get_all_connections(f"{KEYS}:out")] == [SYNTH_PORT]
    finally:
        midi.close()
        if keys is not None:
            keys.close()
        synth.close()
