"""A deliberate GIL hog, for the stress benchmark only (``bench/bench_stress.py``).

With ``INSTRUMENT_GIL_HOG=1`` in the environment, every ``instrument`` command starts one
daemon thread that, once the live session is prepared (``release``), spins in pure Python
for as long as the process runs: it holds the GIL whenever the interpreter lets it, so
each other Python thread (the MIDI callback, the stage, the listener, the band) waits for
its turn exactly as it would behind a busy planner or a long drawing pass.
``INSTRUMENT_GIL_HOG=N`` starts N such threads. Unset, empty or ``0`` (the default):
nothing starts. It is not a player's option: it only makes the app worse, on purpose, so
that a benchmark can show what the GIL costs the note path.

The threads wait for the prepared session because the hog is a handicap for playing, not
for loading: an import or a cache read gives the GIL up at every file it touches and, at
the default switch interval, waits up to 5 ms to get it back each time; hogged from the
first line, ``jam``'s start-up took 140-170 s instead of 4 s on a two-core machine.
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


_prepared = threading.Event()


def _spin_once_prepared() -> None:
    _prepared.wait()
    spin()


def release() -> None:
    """Let the hog threads spin: the live session calls it at the end of its preparation."""
    _prepared.set()


def hog_threads() -> int:
    """How many hog threads ``$INSTRUMENT_GIL_HOG`` asks for (0: none)."""
    value = os.environ.get(ENV, "").strip()
    if value in ("", "0"):
        return 0
    if not value.isdigit() or int(value) > 16:
        raise InstrumentError(f"{ENV}={value!r}: give a number of threads, 0-16")
    return int(value)


def start_from_environment() -> list[threading.Thread]:
    """Start the hog threads ``$INSTRUMENT_GIL_HOG`` asks for, waiting for ``release``;
    returns them (daemons)."""
    threads = [
        threading.Thread(target=_spin_once_prepared, name=f"gil-hog-{k}", daemon=True)
        for k in range(hog_threads())
    ]
    for t in threads:
        t.start()
    return threads
