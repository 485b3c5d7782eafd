"""Connections to and from a client's ports, noticed in JACK's notification thread
without Python.

JACK calls a client's port-connect callback from its notification thread. A Python
callback there waits for the GIL (the stage drawing, the band's planner), and while it
waits the notifications to that client queue up on the server: the watch client's xrun
and shutdown callbacks are compiled for the same reason (``live/jackwatch.py``). This one
is a numba ``cfunc``: it copies the two ports' names (libjack called by address, as in
``jackcycle``) into a ring, since a port that goes before the main thread looks has no
name any more; ``drain`` hands the connections on, a few times a second.

The ring is one byte array: a header of int64s (connections written so far, the client,
the addresses of ``jack_port_by_id`` and ``jack_port_name``), then ``CAPACITY`` rows of
(connected, source name, destination name), names NUL-terminated. One writer (JACK's
notification thread), one reader (the main thread): the writer fills a row, then (after
a release fence) stores the count; the reader reads the count, then the rows, and drops
the rows the writer may have overwritten meanwhile (``CAPACITY`` behind).
"""

from __future__ import annotations

import functools

import jack
import numpy as np
from numba import carray, types
from numba.core.ccallback import CFunc

from instrument.jackcycle import address, install, jack_port_by_id, jack_port_name
from instrument.jit import cfunc, njit
from instrument.native import as_voidptr, release_fence, resident

CAPACITY = 256  # connections remembered between two drains
NAME_BYTES = 320  # JACK's full port name size (jack_port_name_size), NUL included
ROW_BYTES = 8 + 2 * NAME_BYTES  # connected (1) or broken (0), source, destination
COUNT, CLIENT, FN_PORT_BY_ID, FN_PORT_NAME = range(4)  # the header's int64s
HEADER_BYTES = 8 * 4
SIZE = HEADER_BYTES + CAPACITY * ROW_BYTES


@njit(cache=True, inline="always")
def _copy_name(head, ring, port_id, at):
    """The full name of port ``port_id`` into ``ring[at:]``, NUL-terminated ("" if none)."""
    port = jack_port_by_id(head[FN_PORT_BY_ID], head[CLIENT], port_id)
    k = 0
    if port != 0:
        name = carray(as_voidptr(jack_port_name(head[FN_PORT_NAME], port)), (NAME_BYTES,),
                      np.uint8)  # fmt: skip
        while k < NAME_BYTES - 1 and name[k] != 0:
            ring[at + k] = name[k]
            k += 1
    ring[at + k] = 0


def _on_connect(source, destination, connected, arg):
    """JACK's ``JackPortConnectCallback``: void (*)(jack_port_id_t a, jack_port_id_t b,
    int connect, void *arg)."""
    head = carray(arg, (4,), np.int64)
    ring = carray(arg, (SIZE,), np.uint8)
    n = head[COUNT]
    row = HEADER_BYTES + ROW_BYTES * (n % CAPACITY)
    ring[row] = 1 if connected != 0 else 0
    _copy_name(head, ring, source, row + 8)
    _copy_name(head, ring, destination, row + 8 + NAME_BYTES)
    release_fence()
    head[COUNT] = n + 1


@functools.cache
def callback() -> CFunc:
    """The compiled port-connect callback (cached: its code lives as long as the process),
    compiled on first use or loaded from numba's cache."""
    sig = types.void(types.uint32, types.uint32, types.int32, types.voidptr)
    return cfunc(sig, cache=True)(_on_connect)


class ConnectionLog:
    """The connections one client hears of, handed on by ``drain`` in the main thread.

    One per owner for every client it opens (reopenings included): the ring must outlive
    them all, since an abandoned client of a dead server is never closed."""

    def __init__(self) -> None:
        self.ring = resident(SIZE, np.uint8)
        self._head = self.ring[:HEADER_BYTES].view(np.int64)
        self.missed = 0  # connections overwritten before a drain read them
        self._read = 0

    @property
    def count(self) -> int:
        """Connections made or broken since the log was made."""
        return int(self._head[COUNT])

    def attach(self, client: jack.Client) -> None:
        """Log ``client``'s port connections; call before ``client.activate()``.
        jack.JackError if JACK refuses the callback."""
        self._head[CLIENT] = address(client._ptr)
        self._head[FN_PORT_BY_ID] = address(jack._lib.jack_port_by_id)
        self._head[FN_PORT_NAME] = address(jack._lib.jack_port_name)
        self._read = self.count  # a new client: what an old one logged is stale
        install(jack._lib.jack_set_port_connect_callback, "JackPortConnectCallback",
                client, callback(), self.ring)  # fmt: skip

    def drain(self) -> list[tuple[str, str, bool]]:
        """(source, destination, connected) for each connection logged since the last
        drain, oldest first, by full port name."""
        n = self.count
        start = max(self._read, n - CAPACITY)
        rows = [self._row(k) for k in range(start, n)]
        overwritten = max(0, self.count - CAPACITY - start)  # while they were copied
        self.missed += start - self._read + overwritten
        self._read = n
        return rows[overwritten:]

    def _row(self, k: int) -> tuple[str, str, bool]:
        at = HEADER_BYTES + ROW_BYTES * (k % CAPACITY)
        row = self.ring[at : at + ROW_BYTES].tobytes()
        source, destination = (_text(row[8 + i * NAME_BYTES :][:NAME_BYTES]) for i in range(2))
        return source, destination, bool(row[0])


def _text(name: bytes) -> str:
    """A NUL-terminated name from the ring."""
    return name.split(b"\0", 1)[0].decode("utf-8", "replace")
