"""Starting a private JACK server with the dummy driver (no sound card needed).

Used by the tests and benchmarks: the app then gets real JACK audio and MIDI ports, and a
probe client can play into it and record it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time

from instrument.errors import InstrumentError


class JackServer:
    """``jackd -d dummy`` under a unique server name, exported as ``$JACK_DEFAULT_SERVER``;
    ``synchronous``: ``jackd -S``, whose driver waits for every client's cycle to end.

    Every JACK client started afterwards in this process (and its children) connects to it.
    """

    def __init__(
        self,
        name: str | None = None,
        sample_rate: int = 48000,
        period: int = 128,
        synchronous: bool = False,
    ):
        self.name = name or f"instrument-{os.getpid()}"
        self.sample_rate = sample_rate
        self.period = period
        self.synchronous = synchronous
        self.proc: subprocess.Popen | None = None
        self._previous: str | None = None
        self._log: tempfile._TemporaryFileWrapper | None = None

    def start(self, timeout: float = 10.0) -> JackServer:
        if shutil.which("jackd") is None:
            raise InstrumentError("jackd not found: install jackd2 (./setup.sh does)")
        env = dict(os.environ, JACK_NO_AUDIO_RESERVATION="1")
        if subprocess.run(["jack_lsp", "-s", self.name], capture_output=True).returncode == 0:
            raise InstrumentError(f"a JACK server named {self.name!r} is already running")
        # jackd logs every client and xrun to stderr for as long as it runs: a pipe that
        # nobody drains fills up (64 KiB) and then blocks the server, and every client with it.
        self._log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            ["jackd", "-n", self.name, *(["-S"] if self.synchronous else []), "-d", "dummy",
             "-r", str(self.sample_rate), "-p", str(self.period)],
            stdout=subprocess.DEVNULL, stderr=self._log, env=env,
        )  # fmt: skip
        self._previous = os.environ.get("JACK_DEFAULT_SERVER")
        os.environ["JACK_DEFAULT_SERVER"] = self.name
        os.environ["JACK_NO_START_SERVER"] = "1"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._log.seek(0)
                err = self._log.read().decode(errors="replace").strip().splitlines()
                raise InstrumentError(f"jackd exited: {err[-1] if err else 'no message'}")
            probe = subprocess.run(
                ["jack_lsp", "-s", self.name], capture_output=True, env=dict(os.environ)
            )
            if probe.returncode == 0 and self.proc.poll() is None:
                return self
            time.sleep(0.1)
        self.stop()
        raise InstrumentError("jackd did not come up within the timeout")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._previous is None:
            os.environ.pop("JACK_DEFAULT_SERVER", None)
        else:
            os.environ["JACK_DEFAULT_SERVER"] = self._previous

    def __enter__(self) -> JackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
