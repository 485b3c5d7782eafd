"""Faults on stage, for real under JACK: the server dies and returns, the CPU is hogged."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from tests.conftest import wait_for
from tests.support.jackclients import ports_appear, start_app, stop_app
from tests.support.jackserver import JackServer

pytestmark = pytest.mark.jack


def _start_app(server_name: str) -> subprocess.Popen:
    env = dict(os.environ, JACK_DEFAULT_SERVER=server_name)
    flags = "play --audio jack --no-display --ensemble quartet --arranger zone"
    return start_app(*flags.split(), env=env, stdout=subprocess.DEVNULL)


def _note_sounds(probe, pitch: int = 60) -> bool:
    probe.send([0x90, pitch, 100])
    ok = wait_for(lambda: probe.level(4800) > 0.01, timeout=3)
    probe.send([0x80, pitch, 0])
    return ok


def _probe_app():
    from tests.support.jackprobe import Probe

    assert ports_appear(["instrument:midi_00"], 30), "app not up"
    probe = Probe("fault-probe", n_inputs=1, seconds=60).activate()
    probe.connect_to("instrument:midi_00", ["instrument:left"])
    return probe


def test_audio_server_goes_away_and_comes_back(jack_server):
    name = f"fault-{os.getpid()}"
    server = JackServer(name=name, synchronous=True).start()
    app = _start_app(name)
    try:
        probe = _probe_app()
        assert _note_sounds(probe)
        from instrument.input.midi import forget_jack_client

        forget_jack_client(probe.client)  # its server is about to die: never close it
        server.stop()
        time.sleep(2.0)
        assert app.poll() is None, "the app must survive the server's death"
        server = JackServer(name=name, synchronous=True).start()
        probe = _probe_app()  # waits until the app has reconnected
        assert _note_sounds(probe), "no sound after the server came back"
        probe.close()
    finally:
        err = stop_app(app)
        server.stop()
    assert app.returncode == 0
    assert "lost, retrying" in err
    assert "Traceback" not in err


def test_cpu_hog_and_xruns_are_counted_and_survived(jack_server):
    import jack

    app = _start_app(jack_server.name)
    hogs = []
    try:
        probe = _probe_app()
        assert _note_sounds(probe, 62)
        # A client that overruns its period forces xruns; two busy processes hog the CPU.
        stall = jack.Client("stall", no_start_server=True)
        stall.set_process_callback(lambda frames: time.sleep(0.02))
        stall.activate()
        hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
        time.sleep(1.5)
        for h in hogs:
            h.kill()
        stall.deactivate()
        stall.close()
        time.sleep(0.5)
        assert probe.xruns > 0, "the stalling client should have caused xruns"
        assert _note_sounds(probe, 64), "no sound after the overload"
        probe.close()
    finally:
        for h in hogs:
            h.kill()
        err = stop_app(app)
    # "..., xruns N" on a status line, "... (N in all)" when xruns are summed up
    counts = [int(a or b) for a, b in re.findall(r"xruns (\d+)$|\((\d+) in all\)$", err, re.M)]
    assert counts and max(counts) > 0, f"the app did not report xruns: {err[-500:]}"
    assert app.returncode == 0
