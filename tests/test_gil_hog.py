"""The stress benchmark's GIL hog (``INSTRUMENT_GIL_HOG``): off by default, on when asked,
and a bad value is a one-line error."""

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


def test_the_hog_threads_spin_in_the_process_that_asked():
    # In a child process: the threads never stop (they are daemons, gone at its exit).
    code = (
        "import threading; from instrument.gil_hog import start_from_environment; "
        "t = start_from_environment(); "
        "print(len(t), all(x.daemon and x.is_alive() for x in t), "
        "sorted(x.name for x in threading.enumerate() if x.name.startswith('gil-hog')))"
    )
    assert run("2", "-c", code).stdout.split("\n")[0] == "2 True ['gil-hog-0', 'gil-hog-1']"
    assert run(None, "-c", code).stdout.split("\n")[0] == "0 True []"


def test_the_command_line_says_so_and_refuses_a_bad_value():
    on = run("1", "-m", "instrument", "practice", "--list")
    assert on.returncode == 0 and f"{ENV} set: 1 GIL hog thread" in on.stderr
    assert ENV not in run(None, "-m", "instrument", "practice", "--list").stderr
    bad = run("lots", "-m", "instrument", "practice", "--list")
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and ENV in bad.stderr
