"""Shared fixtures: a real JACK server with the dummy driver, and the music data folder."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")


@pytest.fixture(scope="session")
def jack_server():
    """A private ``jackd -d dummy -r 48000 -p 128`` for the whole test session.

    Sets $JACK_DEFAULT_SERVER so every JACK client the tests (or the app under test)
    open connects to it. Skips if jackd is not installed.
    """
    from instrument.errors import InstrumentError
    from instrument.jackserver import JackServer

    server = JackServer(name=f"instrument-test-{os.getpid()}")
    try:
        server.start()
    except InstrumentError as e:
        pytest.skip(f"no JACK server: {e}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def data_dir():
    """../shared/data beside the project root; skips the test when it is absent."""
    from instrument.paths import data_dir as _data_dir

    d = _data_dir()
    if not d.is_dir():
        pytest.skip(f"music data folder not found: {d}")
    return d
