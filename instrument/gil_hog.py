"""A deliberate GIL hog, for the stress benchmark only (``bench/bench_stress.py``).

With ``INSTRUMENT_GIL_HOG=1`` in the environment, every ``instrument`` command starts one
daemon thread that spins in pure Python for as long as the process runs: it holds the GIL
whenever the interpreter lets it, so each other Python thread (the MIDI callback, the
stage, the listener, the band) waits for its turn exactly as it would behind a busy
planner or a long drawing pass. ``INSTRUMENT_GIL_HOG=N`` starts N such threads. Unset,
empty or ``0`` (the default): nothing starts. It is not a player's option: it only makes
the app worse, on purpose, so that a benchmark can show what the GIL costs the note path.
"""

from __future__ import annotations

import os
import threading

from instrument.errors import InstrumentError

ENV = "INSTRUMENT_GIL_HOG"


def spin() -> None:
    """Pure-Python work that never sleeps and never calls into C that releases the GIL."""
    x = 0
    while True:
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF


def hog_threads() -> int:
    """How many hog threads ``$INSTRUMENT_GIL_HOG`` asks for (0: none)."""
    value = os.environ.get(ENV, "").strip()
    if value in ("", "0"):
        return 0
    if not value.isdigit() or int(value) > 16:
        raise InstrumentError(f"{ENV}={value!r}: give a number of threads, 0-16")
    return int(value)


def start_from_environment() -> list[threading.Thread]:
    """Start the hog threads ``$INSTRUMENT_GIL_HOG`` asks for; returns them (daemons)."""
    threads = [
        threading.Thread(target=spin, name=f"gil-hog-{k}", daemon=True)
        for k in range(hog_threads())
    ]
    for t in threads:
        t.start()
    return threads
