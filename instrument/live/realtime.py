"""The real-time settings of a live session, in one place, applied once by ``prepare``.

``play``, ``jam`` and ``practice`` get the same ones (``live.lifecycle.Session.prepare``):

- the interpreter's switch interval: the MIDI callback (in the audio thread under JACK),
  the band's dispatcher and the main thread's drawing share the GIL; a short interval
  bounds how long drawing or the band's planner can keep a note waiting (the default is
  5 ms, a note's worth of latency);
- the collector: everything loaded so far (models, libraries, the SoundFont's tables)
  lives as long as the session. Frozen out of the collector's sight, a full collection
  no longer walks it while holding the GIL that the MIDI callback is waiting for.

- the C heap: the memory the session frees stays in the process (glibc's ``mallopt``: no
  trimming, large blocks from the heap rather than from fresh ``mmap``s). Given back, it
  comes back as fresh pages, each a page fault when first written; on a virtual machine
  the host may serve such a fault late while the whole virtual CPU, the audio thread's
  included, waits.

Warm-ups happen where the work is built: each arranger runs its model once when it is
made (``arrange.neural``), before ``prepare``. No thread priority is changed: FluidSynth's
and JACK's audio threads get theirs from the audio server.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys

SWITCH_INTERVAL_S = 0.0005  # seconds a thread may hold the GIL before it is asked to yield
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
KEEP_BYTES = 1 << 30  # free memory at the heap's top kept rather than given back
HEAP_BLOCKS_BYTES = 32 << 20  # blocks up to this size come from the heap, not from mmap


def set_switch_interval() -> None:
    """The short GIL switch interval (benches that time the band's threads use it too)."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def keep_freed_memory() -> bool:
    """Tell glibc's allocator to keep what is freed (see above); False where the C
    library is not glibc (nothing is changed there)."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError, TypeError):  # musl, macOS: no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_TRIM_THRESHOLD, KEEP_BYTES) and
                mallopt(M_MMAP_THRESHOLD, HEAP_BLOCKS_BYTES))  # fmt: skip


def apply_realtime_settings() -> None:
    """Apply every setting above; call once everything the session plays with is loaded."""
    set_switch_interval()
    keep_freed_memory()
    gc.collect()
    gc.freeze()
