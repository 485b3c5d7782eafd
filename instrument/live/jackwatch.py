"""The JACK watch client's callbacks, compiled: xruns counted, the server's end noticed.

JACK calls a client's xrun and shutdown callbacks from its notification thread. A Python
callback there waits for the GIL, and while it waits the server's notification round
stalls (jackd was seen stalling on the app's watch client under load). These callbacks
are numba ``cfunc``s that only write an int64 array (``ServerWatch.counts``), handed to
them as their ``arg`` pointer; the main thread reads it. They are registered through
libjack itself (ctypes, from the main thread) on the python-jack client's
``jack_client_t *``, before the client is activated.

One writer per field (JACK's notification thread), aligned int64 stores: the main
thread's reads see a whole value, a moment late at worst.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from typing import TYPE_CHECKING

import numpy as np
from numba import carray, types
from numba.core.ccallback import CFunc

from instrument.jit import cfunc

if TYPE_CHECKING:
    import jack

XRUNS, SHUT_DOWN = range(2)  # ServerWatch.counts
N_COUNTS = 2


def _on_xrun(arg):
    """JACK's ``JackXRunCallback``: int (*)(void *arg)."""
    counts = carray(arg, (N_COUNTS,), np.int64)
    counts[XRUNS] += 1
    return 0


def _on_shutdown(arg):
    """JACK's ``JackShutdownCallback``: void (*)(void *arg)."""
    counts = carray(arg, (N_COUNTS,), np.int64)
    counts[SHUT_DOWN] = 1


@functools.cache
def callbacks() -> tuple[CFunc, CFunc]:
    """The compiled xrun and shutdown callbacks (cached: their code lives as long as the
    process), compiled on first use or loaded from numba's cache; the session's prepare
    asks, so that opening JACK does not compile."""
    xrun = cfunc(types.int32(types.voidptr), cache=True)(_on_xrun)
    shutdown = cfunc(types.void(types.voidptr), cache=True)(_on_shutdown)
    return xrun, shutdown


@functools.cache
def _libjack() -> ctypes.CDLL:
    """libjack as JACK-Client loads it (the same library, so the same clients)."""
    lib = ctypes.CDLL(ctypes.util.find_library("jack"))
    lib.jack_set_xrun_callback.argtypes = [ctypes.c_void_p] * 3
    lib.jack_set_xrun_callback.restype = ctypes.c_int
    lib.jack_on_shutdown.argtypes = [ctypes.c_void_p] * 3
    lib.jack_on_shutdown.restype = None
    return lib


class ServerWatch:
    """What the watch client's compiled callbacks report: xruns since the session began
    and whether the server shut its client down. One per session, for every watch client
    it opens (reconnections included): the array must outlive them all, since an
    abandoned client of a dead server is never closed."""

    def __init__(self) -> None:
        self.counts = np.zeros(N_COUNTS, np.int64)

    @property
    def xruns(self) -> int:
        return int(self.counts[XRUNS])

    @property
    def shut_down(self) -> bool:
        return bool(self.counts[SHUT_DOWN])

    def rearm(self) -> None:
        """A new server answers: its shutdown is yet to be noticed."""
        self.counts[SHUT_DOWN] = 0

    def attach(self, client: jack.Client) -> None:
        """Count ``client``'s xruns and notice its server's shutdown; call before
        ``client.activate()``. jack.JackError if JACK refuses the xrun callback."""
        import jack

        from instrument.jackcycle import address

        xrun, shutdown = callbacks()
        lib, pointer, arg = _libjack(), address(client._ptr), self.counts.ctypes.data
        if lib.jack_set_xrun_callback(pointer, xrun.address, arg) != 0:
            raise jack.JackError("JACK refused the watch client's xrun callback")
        lib.jack_on_shutdown(pointer, shutdown.address, arg)
