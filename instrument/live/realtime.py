"""The real-time settings of a live session, in one place, applied once by ``prepare``.

``play``, ``jam`` and ``practice`` get the same ones (``live.lifecycle.Session.prepare``):

- the interpreter's switch interval: the MIDI callback (in the audio thread under JACK),
  the band's dispatcher and the main thread's drawing share the GIL; a short interval
  bounds how long drawing or the band's planner can keep a note waiting (the default is
  5 ms, a note's worth of latency);
- the collector: everything loaded so far (models, libraries, the SoundFont's tables)
  lives as long as the session. Frozen out of the collector's sight, a full collection
  no longer walks it while holding the GIL that the MIDI callback is waiting for.

Warm-ups happen where the work is built: each arranger runs its model once when it is
made (``arrange.neural``), before ``prepare``. No thread priority is changed: FluidSynth's
and JACK's audio threads get theirs from the audio server.
"""

from __future__ import annotations

import gc
import sys

SWITCH_INTERVAL_S = 0.0005  # seconds a thread may hold the GIL before it is asked to yield


def set_switch_interval() -> None:
    """The short GIL switch interval (benches that time the band's threads use it too)."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def apply_realtime_settings() -> None:
    """Apply every setting above; call once everything the session plays with is loaded."""
    set_switch_interval()
    gc.collect()
    gc.freeze()
