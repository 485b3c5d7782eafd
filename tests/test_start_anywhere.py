"""`instrument play` starts anywhere: each missing part is really missing, and each step
of the fallback is named on the terminal.

No JACK: $JACK_DEFAULT_SERVER names a server that does not run. No ALSA sequencer:
$INSTRUMENT_ALSA_SEQ points at a device path that does not exist. A PulseAudio driver that
fails to open: $PULSE_SERVER names a socket nobody listens on. An ALSA audio device that
fails to open: $ALSA_CARD names a card that does not exist.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _play(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "instrument", "play", "--no-display", "--arranger", "zone",
         "--duration", "1", *args],
        capture_output=True, text=True, env=env, timeout=timeout, stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.fixture
def bare_machine(tmp_path) -> dict[str, str]:
    """An environment with no JACK server, no ALSA sequencer, no usable sound server."""
    env = dict(os.environ)
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    env.pop("SDL_VIDEODRIVER", None)
    env["JACK_DEFAULT_SERVER"] = f"no-such-server-{os.getpid()}"
    env["JACK_NO_START_SERVER"] = "1"
    env["INSTRUMENT_ALSA_SEQ"] = str(tmp_path / "no-seq")
    env["PULSE_SERVER"] = f"unix:{tmp_path / 'no-pulse-socket'}"
    env["ALSA_CARD"] = "NoSuchCard"
    return env


def _chosen(stderr: str, what: str) -> str:
    lines = [x for x in stderr.splitlines() if x.startswith(f"instrument: {what}")]
    assert len(lines) == 1, stderr
    return lines[0]


def test_no_arguments_on_a_bare_machine_falls_back_to_keyboard_and_silence(bare_machine):
    done = _play(env=bare_machine)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    midi = _chosen(done.stderr, "MIDI in:")
    assert "the computer keyboard" in midi and "no MIDI system" in midi
    if "warning: no audio output works" in done.stderr:  # a machine with no sound at all
        warning = _chosen(done.stderr, "warning: no audio output works")
        for step in ("jack: no JACK server answers", "pulseaudio: could not open",
                     "alsa: could not open"):
            assert step in warning, warning
        assert "audio none" in done.stdout
    else:  # PortAudio found an output device of its own
        audio = _chosen(done.stderr, "audio:")
        assert audio.startswith("instrument: audio: sounddevice, the first that opened"), audio
        assert "pulseaudio: could not open" in audio


def test_computer_keyboard_only_does_not_die_on_audio(bare_machine):
    done = _play("--midi-in", "none", env=bare_machine)
    assert done.returncode == 0, done.stderr
    assert "instrument: MIDI in: the computer keyboard (--midi-in none)" in done.stderr
    assert "instrument: error" not in done.stderr


def test_an_output_asked_for_by_name_must_open(bare_machine):
    done = _play("--audio", "alsa", env=bare_machine)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1] == \
        "instrument: error: could not open audio output 'alsa'", done.stderr
    assert "Traceback" not in done.stderr


def test_audio_none_is_taken_as_asked(bare_machine):
    done = _play("--audio", "none", env=bare_machine)
    assert done.returncode == 0, done.stderr
    assert "instrument: audio: none, as asked" in done.stderr
    assert "warning" not in done.stderr


@pytest.mark.jack
def test_with_a_jack_server_and_no_alsa_sequencer_both_go_through_jack(jack_server,
                                                                        bare_machine):
    env = dict(bare_machine, JACK_DEFAULT_SERVER=jack_server.name)
    done = _play(env=env)
    assert done.returncode == 0, done.stderr
    assert _chosen(done.stderr, "audio:") == "instrument: audio: jack, the first that opened"
    midi = _chosen(done.stderr, "MIDI in:")
    assert "(jack, " in midi and "computer keyboard" not in midi, midi


def test_an_alsa_sequencer_that_fails_to_open_falls_back_to_the_computer_keyboard(
        bare_machine):
    """The sequencer device is there (a file stands for it), but neither FluidSynth's
    sequencer driver (the compiled note path's way in) nor rtmidi can open ALSA MIDI
    through it: the next step is taken, and both reasons named."""
    env = dict(bare_machine, INSTRUMENT_ALSA_SEQ="/dev/null")
    done = _play(env=env)
    assert done.returncode == 0, done.stderr
    midi = _chosen(done.stderr, "MIDI in:")
    if os.path.exists("/dev/snd/seq"):  # a real sequencer opens: ALSA MIDI is taken
        assert "(alsa, " in midi, midi
    else:
        assert midi.startswith("instrument: MIDI in: the computer keyboard (alsa: cannot open "
                               "MIDI (alsa)"), midi
        assert ("FluidSynth's sequencer input failed too: could not open FluidSynth's "
                "alsa_seq MIDI input") in midi, midi  # fmt: skip


def test_multi_out_without_jack_is_one_line(bare_machine):
    done = _play("--multi-out", env=bare_machine)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1] == (
        "instrument: error: --multi-out needs a JACK server: no JACK server answers "
        "(start jackd, or play without --multi-out)"), done.stderr
