"""The app's JACK watch callbacks (``live.jackwatch``), under a private jackd: xruns are
counted and the server's end is noticed by compiled code that never waits for the GIL."""

from __future__ import annotations

import os

import numpy as np
import pytest
from numba import njit

from instrument.errors import InstrumentError
from instrument.input.midi import forget_jack_client
from instrument.live.jackwatch import XRUNS, ServerWatch
from instrument.native import CLOCK_MONOTONIC, call_clock, clock_address
from tests.conftest import wait_for
from tests.support.jackserver import JackServer

pytestmark = pytest.mark.jack
_ABANDONED: list[ServerWatch] = []  # a dead server's client may hold its counts' address


@njit
def _xruns_counted_holding_the_gil(counts, clock, timespec, ns):
    """Spin until ``counts[XRUNS]`` moves or ``ns`` pass; returns (before, after). Called
    from Python, compiled code keeps the GIL throughout (numba releases it only when told
    to), so no Python runs anywhere meanwhile, and between the two reads no thread switch
    can slip in as it could between two Python statements."""
    call_clock(clock, CLOCK_MONOTONIC, timespec)
    end = timespec[0] * 1_000_000_000 + timespec[1] + ns
    before = counts[XRUNS]
    while counts[XRUNS] == before:
        call_clock(clock, CLOCK_MONOTONIC, timespec)
        if timespec[0] * 1_000_000_000 + timespec[1] > end:
            break
    return before, counts[XRUNS]


def _watched(name: str) -> tuple[ServerWatch, object]:
    import jack

    watch = ServerWatch()
    client = jack.Client(name, no_start_server=True)
    watch.attach(client)
    client.activate()
    return watch, client


def test_an_xrun_is_counted_while_python_waits(jack_server):
    """A client of the test holds the GIL in its process callback, once, for up to
    200 ms, far beyond a period (2.7 ms): the server has an xrun, and the watch's callback
    counts it while the GIL is still held (a Python callback, as JACK-Client's, could not
    run before the hold ends: it counts nothing here)."""
    import jack

    watch, watcher = _watched("test-watch")
    clock, timespec = clock_address(), np.zeros(2, np.int64)
    _xruns_counted_holding_the_gil(watch.counts, clock, timespec, 0)  # compiled now
    seen: list[tuple[int, int]] = []  # the watch's count before and during the stall
    stall = jack.Client("test-stall", no_start_server=True)

    @stall.set_process_callback
    def process(frames: int) -> None:
        if not seen:
            seen.append(_xruns_counted_holding_the_gil(watch.counts, clock, timespec, 200_000_000))

    try:
        stall.activate()
        assert wait_for(lambda: bool(seen), timeout=5), "the stalling client never ran"
        before, during = seen[0]
        assert during > before, "no xrun counted while the GIL was held"
        assert watch.xruns >= during
        assert not watch.shut_down
    finally:
        stall.deactivate()
        stall.close()
        watcher.deactivate()
        watcher.close()


def test_the_servers_end_is_noticed(jack_server):
    server = JackServer(name=f"watch-end-{os.getpid()}")
    try:
        server.start()
    except InstrumentError as e:
        pytest.skip(f"no JACK server: {e}")
    try:
        watch, client = _watched("test-watch-end")
        assert not watch.shut_down
        forget_jack_client(client)  # its server is about to die: never close it
        _ABANDONED.append(watch)
        server.stop()
        assert wait_for(lambda: watch.shut_down, timeout=5), "the server's end went unnoticed"
        watch.rearm()
        assert not watch.shut_down
    finally:
        server.stop()
