"""An ``instrument`` command hearing audio through JACK: the app as a process, and this
test's JACK client playing into the audio inputs it opens, in real time."""

from __future__ import annotations

import subprocess
import time

import numpy as np
import pytest

from tests.support.jackclients import start_app


def run_hearing(
    args: list[str], audio: np.ndarray, play_for: float, timeout: float
) -> tuple[str, int]:
    """Run ``python -m instrument ARGS`` while ``audio`` (frames, 2, at the server's rate)
    plays into its JACK inputs; returns what it printed and the JACK frame the playback
    started at. The playback must end within ``play_for`` s, the app ``timeout`` s after;
    it must exit 0 (else its stderr fails it).
    """
    app = start_app(*args, stdin=subprocess.DEVNULL)
    try:
        start = play_into_app(app, audio, play_for)
        out, err = app.communicate(timeout=timeout)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    assert app.returncode == 0, err
    return out, start


def play_into_app(app: subprocess.Popen, audio: np.ndarray, seconds: float) -> int:
    """Play ``audio`` (frames, 2) in real time into the JACK audio inputs that the app
    process ``app`` opens (waiting for them), instead of the system capture ports; returns
    the JACK frame its first frame played at. The player's process callback is compiled
    (``compiledjack``): no cycle lost to the GIL."""
    jack = pytest.importorskip("jack")
    from tests.support import compiledjack as cj

    client = jack.Client("test-player", no_start_server=True)
    outs = [client.outports.register(f"out_{c}") for c in range(2)]
    song = np.ascontiguousarray(audio[:, :2], dtype=np.float32)
    state = np.zeros(cj.L_FIELDS, np.int64)
    state[cj.L_CLIENT] = cj.address(client._ptr)
    ports = np.array([cj.address(p._ptr) for p in outs], np.int64)
    fns = cj.function_addresses()  # read by address in the cycle: alive while it runs
    table = cj.table(fns, ports, state, song)
    cj.set_process(client, cj.player_cycle(), table)
    with client:
        deadline, ins = time.monotonic() + 40, []
        while not ins and time.monotonic() < deadline:
            ins = [
                p
                for p in client.get_ports(is_audio=True, is_input=True)
                if not p.name.startswith(("system:", "test-player"))
            ]
            if app.poll() is not None:
                pytest.fail(f"the app exited: {app.stderr.read()}")
            time.sleep(0.1)
        assert ins, "the app opened no JACK input ports"
        for src in client.get_ports("system:capture", is_audio=True):
            for dst in ins:
                try:
                    client.disconnect(src, dst)
                except jack.JackError:
                    pass
        for out, dst in zip(outs * len(ins), ins, strict=False):
            client.connect(out, dst)
        state[cj.L_PLAYING] = 1
        deadline = time.monotonic() + seconds
        while not state[cj.L_DONE] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert state[cj.L_DONE], "playback did not finish"
    return int(state[cj.L_START_FRAME])
