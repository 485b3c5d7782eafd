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
