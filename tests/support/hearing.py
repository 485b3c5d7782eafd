"""An ``instrument`` command hearing audio through JACK: the app as a process, and this
test's JACK client playing into the audio inputs it opens, in real time."""

from __future__ import annotations

import subprocess
import threading
import time

import numpy as np
import pytest

from tests.support.jackclients import start_app


def run_hearing(args: list[str], audio: np.ndarray, play_for: float, timeout: float) -> str:
    """Run ``python -m instrument ARGS`` while ``audio`` (frames, 2, at the server's rate)
    plays into its JACK inputs; returns what it printed. The playback must end within
    ``play_for`` s, the app ``timeout`` s after; it must exit 0 (else its stderr fails it).
    """
    app = start_app(*args, stdin=subprocess.DEVNULL)
    try:
        play_into_app(app, audio, play_for)
        out, err = app.communicate(timeout=timeout)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    assert app.returncode == 0, err
    return out


def play_into_app(app: subprocess.Popen, audio: np.ndarray, seconds: float) -> None:
    """Play ``audio`` (frames, 2) in real time into the JACK audio inputs that the app
    process ``app`` opens (waiting for them), instead of the system capture ports."""
    jack = pytest.importorskip("jack")
    client = jack.Client("test-player", no_start_server=True)
    outs = [client.outports.register(f"out_{c}") for c in range(2)]
    start: list[int] = []  # the JACK frame the song starts at
    playing, done = threading.Event(), threading.Event()

    @client.set_process_callback
    def process(frames: int) -> None:
        # The song is placed by the cycle's frame stamp, not by counting cycles: a cycle
        # this Python client misses on a loaded machine is a dropout in the room, never a
        # stretch of the song (which would slow its tempo by as much as was missed).
        if playing.is_set() and not start:
            start.append(client.last_frame_time)
        pos = client.last_frame_time - start[0] if start else len(audio)
        chunk = audio[pos : pos + frames] if pos >= 0 else audio[:0]
        for c, out in enumerate(outs):
            buf = out.get_array()
            buf[: len(chunk)] = chunk[:, c]
            buf[len(chunk) :] = 0.0
        if start and pos + frames >= len(audio):
            done.set()

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
        playing.set()
        assert done.wait(seconds), "playback did not finish"
