"""Fill numba's on-disk cache with the live path, ahead of the first session.

``setup.sh`` runs it (``python -m instrument.live.warmcache``). From a fresh checkout the
first ``play`` or ``jam`` would otherwise compile for a minute or two before it opened its
ports (130 s for ``jam --listen --multi-out`` on a two-core machine, then 4-6 s a start
from the cache). It compiles what a session compiles anyway, through the entry points a
session uses: the note path (``live.compiled.warm_up``), the JACK callbacks, every shipped
ensemble's arranger, and the listener on a second of seeded noise.
"""

from __future__ import annotations

import sys
import time

import numpy as np


def warm() -> None:
    from instrument.arrange import make_arranger
    from instrument.ensemble import available_ensembles, load_ensemble
    from instrument.errors import InstrumentError, one_line
    from instrument.input import connections
    from instrument.listen import jackinput
    from instrument.listen.tracker import Listener
    from instrument.live import jackwatch
    from instrument.live.compiled import warm_up

    warm_up()
    jackwatch.callbacks()
    connections.callback()
    jackinput.capture_cycle()
    for name in available_ensembles():
        try:
            make_arranger("lstm", load_ensemble(name))  # its warm-up runs the model once
        except InstrumentError as e:  # a session then falls back to the zone split, saying so
            print(f"setup: {name}: {one_line(e)}", file=sys.stderr)
    rate = 48000.0
    listener = Listener(rate)
    noise = np.random.default_rng(0).uniform(-0.1, 0.1, int(rate)).astype(np.float32)
    for at in range(0, len(noise), 512):
        listener.process(noise[at : at + 512])


def main() -> int:
    start = time.monotonic()
    warm()
    took = time.monotonic() - start
    print(f"setup: the live path is in numba's cache ({took:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
