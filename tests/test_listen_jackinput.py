"""The listener's JACK input: a compiled capture cycle fills a ring, Python reads blocks.

The ring's bookkeeping (``advance``, ``store``) is checked as plain compiled functions;
then a real JACK server carries a seeded noise signal from a compiled player into
``JackInput`` while a Python thread in this process holds the GIL for 100 ms at a time:
every sample heard is the song's own at its own frame, and nearly all of it is heard,
where a Python process callback beside it (the anchor) misses nearly all of it.
"""

from __future__ import annotations

import sys
import threading
import time

import numpy as np
import pytest

from instrument.listen import jackinput as J


def test_a_missed_cycle_is_heard_as_silence_of_its_length():
    state = np.zeros(J.N_STATE, np.int64)
    ring = np.full((16, 2), 9.0, np.float32)
    assert J.advance(state, 16, 1000, 4) == 0  # the first cycle: nothing missed
    assert state[J.ORIGIN] == 1000
    assert J.advance(state, 16, 1004, 4) == 0
    assert J.advance(state, 16, 1016, 4) == 0  # two cycles of 4 missed, or one late...
    assert J.advance(state, 16, 1020, 4) == 8  # ... missed: the silence goes in now
    assert state[J.LOST] == 8
    assert J.advance(state, 16, 1020 + 1000, 4) == 0
    assert J.advance(state, 16, 2024, 4) == 16  # at most a ring's worth
    assert J.advance(state, 16, 100, 4) == 0  # a stamp far behind the last: a new server
    assert J.advance(state, 16, 104, 4) == 0  # ... with nothing held from the old one
    assert J.advance(state, 16, (1 << 32) - 4, 4) == 0  # ... and stamps wrap
    assert J.advance(state, 16, 0, 4) == 0
    assert state[J.LOST] == 8 + 16
    J.store(ring, 14, 3, 1, np.array([1.0, 2.0], np.float32))  # 3 silent, then the block
    assert ring[[14, 15, 0], 1].tolist() == [0.0, 0.0, 0.0]
    assert ring[[1, 2], 1].tolist() == [1.0, 2.0]
    assert ring[:, 0].tolist() == [9.0] * 16  # the other channel is untouched


def test_a_late_cycle_that_read_the_next_stamp_adds_no_silence():
    state = np.zeros(J.N_STATE, np.int64)
    assert [J.advance(state, 64, t, 4) for t in (1000, 1004)] == [0, 0]
    # woken late, the cycle of 1008 read the stamp 1012; the next one reads 1012 again
    assert [J.advance(state, 64, t, 4) for t in (1012, 1012, 1016, 1020)] == [0, 0, 0, 0]
    assert state[J.LOST] == 0
    # two periods late, then one period behind: one period was missed after all
    assert [J.advance(state, 64, t, 4) for t in (1032, 1032, 1036)] == [0, 0, 4]
    assert state[J.LOST] == 4


def test_a_reader_that_falls_behind_gets_silence_for_what_was_overwritten():
    source = J.JackInput(48000.0, 4, 1)
    n = source.ring.shape[0]
    source.ring[:, 0] = np.arange(n)
    source.state[J.HEAD] = n + 8  # the cycle wrote a ring and two blocks past the reader
    pieces = source.get(timeout=0.0)
    skipped = sum(len(p) for p in pieces)
    assert not any(p.any() for p in pieces) and skipped % 4 == 0
    assert source.dropped == skipped // 4
    block = source.get(timeout=0.0)[0]  # then the oldest rows still in the ring
    assert block[:, 0].tolist() == [(skipped + k) % n for k in range(4)]
    assert "dropped" in source.health()


def hog(stop: threading.Event) -> None:
    n = 0
    while not stop.is_set():
        for _ in range(100_000):  # pure Python: the GIL is held until the switch interval
            n += 1


def missed(heard: np.ndarray, song: np.ndarray) -> float:
    """The fraction of ``song`` (frames, channels) that ``heard`` lacks: its frames heard
    exactly, anywhere. On a loaded machine JACK's graph can run a cycle partly (a client
    downstream of a late one reads its stale buffer, or one it is still writing), so
    frames go missing, come twice or come torn; what counts is how many arrive whole."""
    assert np.all(song != 0)  # the noise has no exact zeros: silence is a missed cycle
    keys = np.ascontiguousarray(song).view(np.int64)[:, 0]  # a stereo frame's 64 bits
    assert len(np.unique(keys)) == len(keys)
    got = np.ascontiguousarray(heard[np.any(heard != 0, axis=1)]).view(np.int64)[:, 0]
    return 1.0 - np.isin(keys, got).mean()


class PythonInput:
    """The anchor: the same recording by frame stamp, with a Python process callback (as
    ``jack.Client.set_process_callback`` gives): each cycle waits for the GIL."""

    def __init__(self, seconds: float):
        import jack

        self.client = jack.Client("test-python-input", no_start_server=True)
        self.ports = [self.client.inports.register(f"in_{k}") for k in (1, 2)]
        self.audio = np.zeros((int(seconds * self.client.samplerate), 2), np.float32)
        self.start: int | None = None
        self.client.set_process_callback(self._process)

    def _process(self, frames: int) -> None:
        stamp = self.client.last_frame_time
        self.start = stamp if self.start is None else self.start
        at = stamp - self.start
        if at + frames <= len(self.audio):
            for k, port in enumerate(self.ports):
                self.audio[at : at + frames, k] = port.get_array()


def play_while_hogging(state: np.ndarray, listen) -> None:
    """Play the song once from the top (``state``: the compiled player's ``L_*`` fields)
    while a Python thread holds the GIL 100 ms at a time; ``listen()`` is called meanwhile
    (it may wait, but must return)."""
    from tests.support import compiledjack as cj

    stop, interval = threading.Event(), sys.getswitchinterval()
    state[[cj.L_PLAYING, cj.L_STARTED, cj.L_DONE]] = 0
    sys.setswitchinterval(0.1)
    threading.Thread(target=hog, args=(stop,), daemon=True).start()
    try:
        state[cj.L_PLAYING] = 1
        deadline = time.monotonic() + 30
        while not state[cj.L_DONE] and time.monotonic() < deadline:
            listen()
    finally:
        stop.set()
        sys.setswitchinterval(interval)
    assert state[cj.L_DONE], "playback did not finish"


@pytest.mark.jack
def test_every_sample_arrives_while_python_hogs_the_gil(async_jack_server):
    # The compiled input and the Python anchor each hear the song alone, one after the
    # other: a client stuck waiting for the GIL holds up the server's next cycles, for the
    # player too, and the song's frames due then are never sent, to anyone. (On its own
    # server in JACK2's default asynchronous mode: the synchronous session server would
    # wait out each of the anchor's late cycles.)
    import jack

    from tests.support import compiledjack as cj

    rate = 48000.0
    song = np.random.default_rng(7).uniform(-0.5, 0.5, (int(3 * rate), 2)).astype(np.float32)
    player = jack.Client("test-player", no_start_server=True)
    outs = [player.outports.register(f"out_{c}") for c in range(2)]
    state = np.zeros(cj.L_FIELDS, np.int64)
    state[cj.L_CLIENT] = cj.address(player._ptr)
    ports = np.array([cj.address(p._ptr) for p in outs], np.int64)
    fns = cj.function_addresses()
    table = cj.table(fns, ports, state, song)
    cj.set_process(player, cj.player_cycle(), table)
    blocks = []
    with player:
        source = J.JackInput(rate, 512, 2)
        source.start()
        try:
            for dst in player.get_ports(f"{J.CLIENT_NAME}:", is_input=True):
                for src in player.get_all_connections(dst):  # the capture ports: off
                    player.disconnect(src, dst)
            for out, k in zip(outs, (1, 2), strict=True):
                player.connect(out, f"{J.CLIENT_NAME}:in_{k}")
            # a block per switch interval, at best; the ring keeps the rest
            play_while_hogging(state, lambda: blocks.extend(source.get(timeout=5.0)))
            while sum(map(len, blocks)) < len(song) + int(rate):  # to the song's end and on
                blocks += source.get(timeout=5.0)
        finally:
            source.close()
        anchor = PythonInput(seconds=40)
        with anchor.client:
            for out, k in zip(outs, (1, 2), strict=True):
                player.connect(out, f"test-python-input:in_{k}")
            play_while_hogging(state, lambda: time.sleep(0.05))
            time.sleep(0.5)
    # Both inputs record by frame stamp, silence where they missed a cycle. A callback
    # that waits for the GIL (held 100 ms at a time) misses nearly every cycle: the
    # anchor shows how many. The compiled one waits for nothing, and misses a cycle only
    # when the machine stalls the graph (this VM's host was seen to stop it for 15 ms):
    # such a stall may leave a cycle that the player ran unheard, so a few may go.
    ours, python = missed(np.concatenate(blocks), song), missed(anchor.audio, song)
    print(f"song missed: compiled input {ours:.2%}, Python callback {python:.2%}")
    assert python > 0.5, f"the anchor missed only {python:.1%}: the hog did not hog"
    assert ours < 0.1, f"missed {ours:.1%} of the song (Python callback: {python:.1%})"
    assert source.dropped == 0, "the listener's thread fell behind the ring"
