"""How long ``instrument jam`` takes to open its ports: from numba's cache as ``setup.sh``
leaves it and from an empty one, with and without the stress bench's GIL hog, side by side
in one run; and what filling the cache costs (``python -m instrument.live.warmcache``, the
step ``setup.sh`` ends with).

The app is the stress bench's (``bench/bench_stress.py`` ``start_app``: ``jam --listen
--multi-out``, quartet, LSTM arranger, the stage window under SDL's dummy driver), on a
JACK dummy server of its own; timed from the process's start until its MIDI input, the
probe part's output and the listener's inputs are all on the server. An empty cache is a
fresh ``NUMBA_CACHE_DIR``, so nothing of the project's own cache is touched.

    .venv/bin/python bench/bench_startup.py [--write]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _root  # noqa: F401 - the repository root on sys.path, for tests.support
import bench_stress as stress

from instrument.report import markdown_table, run_line, write_section
from instrument.synth import find_soundfont
from tests.support.jackserver import JackServer

TARGETS = {"app-no-hog": "no", "app": "yes (`INSTRUMENT_GIL_HOG=1`)"}


def time_to_ports(name: str, ensemble: Path, folder: Path) -> float:
    """Seconds from starting the stress bench's target ``name`` to its ports."""
    import jack

    client = jack.Client("startup-watch", no_start_server=True)
    try:
        start = time.monotonic()
        target = stress.start_app(name, ensemble, find_soundfont(), folder)
        try:
            stress.wait_ready(client, target, timeout=600.0)
            return time.monotonic() - start
        finally:
            stress.stop(target)
    finally:
        client.close()


def fill_cache() -> float:
    """Seconds that ``setup.sh``'s last step takes on the cache ``$NUMBA_CACHE_DIR`` names."""
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "instrument.live.warmcache"], check=True)
    return time.monotonic() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as scratch, JackServer(name=f"bench-startup-{os.getpid()}"):
        folder = Path(scratch)
        ensemble = stress.stress_ensemble(folder)
        for name, hog in TARGETS.items():
            seconds = time_to_ports(name, ensemble, folder)
            rows.append(["as `setup.sh` leaves it", hog, f"{seconds:.1f}"])
            print(rows[-1], flush=True)
        for name, hog in TARGETS.items():
            os.environ["NUMBA_CACHE_DIR"] = str(folder / f"cache-{name}")  # empty
            rows.append(["empty", hog, f"{time_to_ports(name, ensemble, folder):.1f}"])
            print(rows[-1], flush=True)
        os.environ["NUMBA_CACHE_DIR"] = str(folder / "cache-setup")
        fill = fill_cache()
    lines = [
        "## Start-up: `instrument jam` from numba's cache and from an empty one",
        "",
        f"{run_line('bench/bench_startup.py', sys.argv[1:])}.",
        "",
        markdown_table(["numba's cache", "GIL hog", "seconds to the ports"], rows),
        "",
        f"Filling an empty cache (`python -m instrument.live.warmcache`, the last step of "
        f"`setup.sh`): {fill:.0f} s. The hog threads wait for the session's `prepare` to end "
        "(`instrument/gil_hog.py`): they handicap playing, not loading.",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section("benchmarks.md", "startup", text)


if __name__ == "__main__":
    main()
