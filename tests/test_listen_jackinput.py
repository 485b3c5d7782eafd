"""The listener's JACK input: a compiled capture cycle fills a ring, Python reads blocks.

The ring's bookkeeping (``advance``, ``store``) is checked as plain compiled functions;
then a real JACK server carries a seeded noise signal from a compiled player into
``JackInput`` while a Python thread in this process holds the GIL for 100 ms at a time:
every sample comes back, in order, with nothing lost (a cycle the whole server missed is
heard as silence, which the check takes out).
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
    assert J.advance(state, 16, 1004, 4) == 0
    assert J.advance(state, 16, 1016, 4) == 8  # two cycles of 4 missed
    assert state[J.LOST] == 8
    assert J.advance(state, 16, 1020 + 1000, 4) == 16  # at most a ring's worth
    assert J.advance(state, 16, 100, 4) == 0  # a stamp behind the last: a new server
    assert J.advance(state, 16, (1 << 32) - 2, 4) == 0  # ... and it wraps
    assert J.advance(state, 16, 2, 4) == 0
    J.store(ring, 14, 3, 1, np.array([1.0, 2.0], np.float32))  # 3 silent, then the block
    assert ring[[14, 15, 0], 1].tolist() == [0.0, 0.0, 0.0]
    assert ring[[1, 2], 1].tolist() == [1.0, 2.0]
    assert ring[:, 0].tolist() == [9.0] * 16  # the other channel is untouched


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


@pytest.mark.jack
def test_every_sample_arrives_while_python_hogs_the_gil(jack_server):
    import jack

    from tests.support import compiledjack as cj

    rate = 48000.0
    song = np.random.default_rng(7).uniform(-0.5, 0.5, (int(3 * rate), 2)).astype(np.float32)
    source = J.JackInput(rate, 512, 2)
    player = jack.Client("test-player", no_start_server=True)
    outs = [player.outports.register(f"out_{c}") for c in range(2)]
    state = np.zeros(cj.L_FIELDS, np.int64)
    state[cj.L_CLIENT] = cj.address(player._ptr)
    ports = np.array([cj.address(p._ptr) for p in outs], np.int64)
    fns = cj.function_addresses()
    table = cj.table(fns, ports, state, song)
    cj.set_process(player, cj.player_cycle(), table)
    stop, interval = threading.Event(), sys.getswitchinterval()
    blocks = []
    with player:
        source.start()
        try:
            for dst in player.get_ports(f"{J.CLIENT_NAME}:", is_input=True):
                for src in player.get_all_connections(dst):  # the capture ports: off
                    player.disconnect(src, dst)
            for out, k in zip(outs, (1, 2), strict=True):
                player.connect(out, f"{J.CLIENT_NAME}:in_{k}")
            sys.setswitchinterval(0.1)
            threading.Thread(target=hog, args=(stop,), daemon=True).start()
            state[cj.L_PLAYING] = 1
            deadline = time.monotonic() + 30
            while not state[cj.L_DONE] and time.monotonic() < deadline:
                blocks += source.get(timeout=5.0)  # a block per switch interval, at best
            stop.set()  # the ring kept the rest: read it all, to the song's end and on
            while sum(map(len, blocks)) < len(song) + int(rate):
                blocks += source.get(timeout=5.0)
        finally:
            stop.set()
            sys.setswitchinterval(interval)
            source.close()
    assert state[cj.L_DONE], "playback did not finish"
    heard = np.concatenate(blocks)
    # A cycle the whole server missed (a stall of the machine: this VM's host was seen to
    # stop it for 15 ms) is heard as silence of its length, and the player missed it too,
    # so nothing of the song is lost. What this test guards against is the input missing
    # cycles the player ran (a callback waiting for the GIL): the song's samples gone. So
    # the song must come back whole, in order, once silence is taken out.
    assert np.all(song != 0)  # the noise has no exact zeros: silence is all that goes
    sound = heard[np.any(heard != 0, axis=1)]
    np.testing.assert_array_equal(sound, song, err_msg=f"lost frames: {source.lost_frames}")
    assert source.dropped == 0, "the listener's thread fell behind the ring"
