"""The stress benchmark's GIL hog (``INSTRUMENT_GIL_HOG``): off by default, on when asked
and then only once the live session is prepared, and a bad value is a one-line error."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from instrument.errors import InstrumentError
from instrument.gil_hog import ENV, hog_threads


def run(env_value: str | None, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != ENV}
    if env_value is not None:
        env[ENV] = env_value
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.parametrize(("value", "threads"), [(None, 0), ("", 0), ("0", 0), ("2", 2)])
def test_how_many_threads_the_environment_asks_for(monkeypatch, value, threads):
    if value is None:
        monkeypatch.delenv(ENV, raising=False)
    else:
        monkeypatch.setenv(ENV, value)
    assert hog_threads() == threads


@pytest.mark.parametrize("value", ["lots", "-1", "17", "1.5"])
def test_a_bad_value_is_refused(monkeypatch, value):
    monkeypatch.setenv(ENV, value)
    with pytest.raises(InstrumentError, match=ENV):
        hog_threads()


WHERE = """
import sys, threading, time
from instrument import gil_hog
threads = gil_hog.start_from_environment()
def where():
    frames = sys._current_frames()
    return sorted({frames[t.ident].f_code.co_name for t in threads})
def wait_for(place):
    deadline = time.monotonic() + 60
    while where() != place and time.monotonic() < deadline:
        time.sleep(0.01)
    return where()
before = wait_for(["wait"] if threads else [])
gil_hog.release()
after = wait_for(["spin"] if threads else [])
print(len(threads), all(t.daemon and t.is_alive() for t in threads), before, after)
"""


def test_the_hog_threads_wait_for_the_prepared_session_then_spin():
    # In a child process: the threads never stop (they are daemons, gone at its exit).
    assert run("2", "-c", WHERE).stdout.split("\n")[0] == "2 True ['wait'] ['spin']"
    assert run(None, "-c", WHERE).stdout.split("\n")[0] == "0 True [] []"


def test_a_prepared_session_lets_them_spin(monkeypatch):
    from instrument import gil_hog
    from instrument.arrange import make_arranger
    from instrument.ensemble import load_ensemble
    from instrument.live.session import LiveSession
    from instrument.synth import find_soundfont

    released = []
    monkeypatch.setattr(gil_hog, "release", lambda: released.append(True))
    quartet = load_ensemble("quartet")
    live = LiveSession(quartet, make_arranger("zone", quartet), find_soundfont(),
                       audio="none", midi_in="none")  # fmt: skip
    try:
        assert not released  # loading is never hogged...
        live.prepare()
        assert released == [True]  # ... playing is
    finally:
        live.close()


def test_the_command_line_says_so_and_refuses_a_bad_value():
    on = run("1", "-m", "instrument", "practice", "--list")
    assert on.returncode == 0 and f"{ENV} set: 1 GIL hog thread" in on.stderr
    assert ENV not in run(None, "-m", "instrument", "practice", "--list").stderr
    bad = run("lots", "-m", "instrument", "practice", "--list")
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and ENV in bad.stderr
