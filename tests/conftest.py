"""Shared fixtures: a real JACK server with the dummy driver, and the music data folder.

Also the rules every test runs under:

- **CI cannot pass by skipping.** With ``CI`` set (``CI=true``), a test that skips (no
  JACK, no ``../shared/data``, no shipped model, no SoundFont: any ``pytest.skip``,
  ``skipif`` or ``importorskip``) is reported as failed, with the reason. Outside CI it
  skips, saying what is missing.
- **GPU-only tests** (marked ``gpu``) are not collected where no CUDA device is present,
  so a CPU-only CI neither skips nor fails them: they are deselected.
- **Hypothesis is deterministic**: examples are derived from each test's own text
  (``derandomize``) and no example database is replayed, so every run checks the same
  cases. ``--hypothesis-profile=explore`` searches fresh random cases instead.
"""

from __future__ import annotations

import os
import time

import pytest
from hypothesis import settings

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

settings.register_profile("deterministic", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("deterministic")

IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a skipped test is a failed one: whatever it needs must be there."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped in CI (CI={os.environ['CI']}), which must not skip: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """The same for a whole module skipped at import (``importorskip`` at its top)."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped:
        report.outcome = "failed"
        report.longrepr = (
            f"skipped in CI (CI={os.environ['CI']}), which must not skip: {report.longrepr}"
        )


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` are deselected (not skipped) without a CUDA device."""
    gpu = [it for it in items if it.get_closest_marker("gpu")]
    if not gpu:
        return
    import torch

    if torch.cuda.is_available():
        return
    config.hook.pytest_deselected(items=gpu)
    items[:] = [it for it in items if not it.get_closest_marker("gpu")]


@pytest.fixture(scope="session", autouse=True)
def compiled_note_path():
    """The compiled note path built into numba's cache before any test, as ``setup.sh``
    does: an app a test starts loads it in a second instead of compiling it for up to a
    minute inside the test's wait for its ports."""
    from instrument.live.compiled import warm_up

    warm_up()


@pytest.fixture(scope="session")
def jack_server():
    """A private ``jackd -S -d dummy -r 48000 -p 128`` for the whole test session.

    Synchronous: in JACK2's default (asynchronous) mode a cycle the graph does not finish
    in time is cut short, and a client still running misses that cycle's MIDI. On a
    machine that stalls the server (this project's CI VM, in xrun storms of hundreds a
    second) that lost up to about one message in a hundred, a probe into the app into a
    tap (``bench/bench_midi_delivery.py``, docs/benchmarks.md: 0-11 of 600 lost in each
    run; none with ``-S``), so a test of one note saw it vanish. With ``-S`` the driver
    waits for every client, and a message sent is a message delivered; a late cycle is
    still reported as an xrun.

    Sets $JACK_DEFAULT_SERVER so every JACK client the tests (or the app under test)
    open connects to it. Skips if jackd is not installed (fails in CI). Also builds the
    test clients' compiled process callbacks (``compiledjack``; numba's cache: seconds
    the first time, then a fraction of one), so that no test compiles them mid-take.
    """
    from instrument.errors import InstrumentError
    from tests.support.jackserver import JackServer

    server = JackServer(name=f"instrument-test-{os.getpid()}", synchronous=True)
    try:
        server.start()
    except InstrumentError as e:
        pytest.skip(f"no JACK server: {e}")
    from tests.support import compiledjack  # libjack is there: jackd is

    compiledjack.warm_up()
    yield server
    server.stop()


@pytest.fixture
def async_jack_server(jack_server):
    """A second dummy server, in JACK2's default asynchronous mode, for one test (its
    $JACK_DEFAULT_SERVER; the session's is back afterwards): for a test of what one slow
    client does to the others, which a synchronous server would make wait for it."""
    from tests.support.jackserver import JackServer

    server = JackServer(name=f"instrument-async-{os.getpid()}").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def data_dir():
    """../shared/data beside the project root; skips the test when it is absent (fails in CI)."""
    from instrument.paths import data_dir as _data_dir

    d = _data_dir()
    if not d.is_dir():
        pytest.skip(f"music data folder not found: {d}")
    return d


EXCERPT_SONG, EXCERPT_START, EXCERPT_SECONDS = "017", 30.0, 20.0  # a validation-split song


@pytest.fixture(scope="session")
def pop909_excerpt(data_dir):
    """20 s of a POP909 song rendered at 48 kHz (frames, 2), with its annotations."""
    import numpy as np

    from instrument.datasets import pop909
    from instrument.listen.evaluate import pop909_reference
    from instrument.listen.renders import Condition, render_excerpt
    from instrument.synth import list_soundfonts

    fonts = [p for p in list_soundfonts() if p.name == "FluidR3_GM.sf2"] or list_soundfonts()
    if not fonts:
        pytest.skip("no GM SoundFont installed")
    song = pop909.load_song(pop909.song_dir(EXCERPT_SONG, data_dir))
    cond = Condition(fonts[0].name, 0.4, np.inf, False, 0.0, 0.0)
    audio = render_excerpt(song.midi_path, EXCERPT_START, EXCERPT_SECONDS, cond, fonts[0], 48000)
    return audio, pop909_reference(song, EXCERPT_START, EXCERPT_SECONDS)


@pytest.fixture(scope="module")
def pygame_offscreen():
    """pygame's display and fonts under SDL's dummy video driver, for one test module."""
    import pygame

    # Restored afterwards: later tests start commands that open the stage when a display
    # (or this variable) is present.
    before = os.environ.get("SDL_VIDEODRIVER")
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    pygame.display.init()
    pygame.font.init()
    yield
    pygame.display.quit()
    if before is None:
        os.environ.pop("SDL_VIDEODRIVER", None)
    else:
        os.environ["SDL_VIDEODRIVER"] = before


def wait_for(predicate, timeout: float = 10.0, step: float = 0.05) -> bool:
    """Poll ``predicate`` every ``step`` s until it holds (True) or ``timeout`` s pass (False):
    for what a JACK client or the app does in its own time (ports appearing, sound ending)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False
