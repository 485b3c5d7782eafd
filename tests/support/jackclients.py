"""The app under JACK as the tests drive it: started as a process, waited for until its
ports appear (seen by a watcher client of our own), and stopped."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterable

import pytest


def start_app(
    *args: str,
    env: dict[str, str] | None = None,
    stdout: int = subprocess.PIPE,
    stdin: int | None = None,
) -> subprocess.Popen:
    """``python -m instrument ARGS`` with its stderr (and by default stdout) piped, as text;
    ``stdin``: the test's own unless given (``subprocess.DEVNULL``: no terminal to read)."""
    return subprocess.Popen(
        [sys.executable, "-m", "instrument", *args],
        stdin=stdin,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ) if env is None else env,
    )


def ports_appear(
    names: Iterable[str], timeout: float, app: subprocess.Popen | None = None, step: float = 0.05
) -> bool:
    """Whether every JACK port in ``names`` exists within ``timeout`` s; False at once if
    ``app`` exits first."""
    import jack

    wanted = set(names)
    watcher = jack.Client("test-watcher", no_start_server=True)
    try:
        deadline = time.monotonic() + timeout
        while not wanted <= {p.name for p in watcher.get_ports()}:
            if time.monotonic() >= deadline or (app is not None and app.poll() is not None):
                return False
            time.sleep(step)
        return True
    finally:
        watcher.close()


def wait_for_app(app: subprocess.Popen, ports: Iterable[str], timeout: float = 30) -> None:
    """Until the app's JACK ``ports`` are up; else the test fails with the app's stderr."""
    if not ports_appear(ports, timeout, app):
        app.kill()
        _out, err = app.communicate()
        pytest.fail(f"app did not come up: {(err or '')[-2000:]}")


def wait_for_play(app: subprocess.Popen, timeout: float) -> str:
    """Until ``instrument play`` has said on stdout what it plays (its first line, printed
    once the session is started): its ports appear earlier, while it is still setting up,
    and a note sent then may go unheard. Returns the line; fails with the app's stderr if it
    does not come within ``timeout`` s (a failsafe, not a measure)."""
    import threading

    said: list[str] = []
    reader = threading.Thread(target=lambda: said.append(app.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not said or not said[0]:
        app.kill()
        _out, err = app.communicate()
        pytest.fail(f"app did not start playing: {(err or '')[-2000:]}")
    return said[0]


def stop_app(app: subprocess.Popen, timeout: float = 15) -> str:
    """Terminate the app (killed if it has not ended within ``timeout`` s); its stderr."""
    app.terminate()
    try:
        _out, err = app.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        app.kill()
        _out, err = app.communicate()
    return err or ""
