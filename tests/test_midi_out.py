"""MIDI out for real: `instrument play --midi-out` under a JACK dummy server.

A JACK client plays the keyboard into the app and another one stands for the external
synth (or a DAW): it records every message the app sends, so each assertion is about the
channel and the notes that reached it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from instrument.arrange.base import Note
from instrument.arrange.zone import ZoneArranger
from instrument.ensemble import load_ensemble
from tests.conftest import wait_for
from tests.support.jackclients import ports_appear, start_app, stop_app, wait_for_app

if TYPE_CHECKING:
    from tests.support.jackprobe import MidiTap, Probe

pytestmark = pytest.mark.jack
QUARTET = load_ensemble("quartet")


def receiver(name: str) -> MidiTap:
    """The external synth (or a DAW): a JACK MIDI input ``<name>:in`` that keeps every
    message the app sends it, its process callback compiled, so that a loaded machine
    cannot make it miss one."""
    from tests.support.jackprobe import MidiTap

    return MidiTap(name).activate()


def _start_app(*extra: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    flags = "play --no-display --ensemble quartet --arranger zone".split()
    return start_app(*flags, *extra, env=env)


def _keyboard(input_port: str, proc: subprocess.Popen):
    from tests.support.jackprobe import Probe

    keys = Probe("keys", n_inputs=0).activate()
    wait_for_app(proc, [input_port], 30)
    keys.connect_to(input_port, [])  # or the app took us for its keyboard first
    assert wait_for(lambda: keys.start_frame is not None)
    return keys


@dataclass
class Stage:
    """The app sending to the external ``synth``, played by ``keys``; ``err``: what it
    printed on stderr, once ``_stage`` stopped it."""

    app: subprocess.Popen
    synth: MidiTap
    keys: Probe | None = None
    err: str = ""


@contextmanager
def _stage(keyboard: str, *args: str) -> Iterator[Stage]:
    """``play ARGS`` with ``ext-synth`` listening and a keyboard on its input port
    ``keyboard``; all three closed at the end, the app first (its panic reaches the synth)."""
    synth = receiver("ext-synth")  # up before the app, which connects to it
    stage = Stage(_start_app(*args), synth)
    try:
        stage.keys = _keyboard(keyboard, stage.app)
        yield stage
    except AssertionError as e:  # what each side saw, so that a failure can be traced
        keys = stage.keys
        played = keys.sent[-8:] if keys is not None else []
        xruns = (keys.xruns if keys is not None else None, stage.synth.xruns)
        heard = stage.synth.seen()[-12:]  # before the app's closing panic
        stage.err = stop_app(stage.app)
        raise AssertionError(
            f"{e}\nkeys played (frame, bytes): {played}; xruns (keys, synth): {xruns}; "
            f"synth heard: {heard}\napp said: {stage.err[-1500:]}"
        ) from e
    finally:
        if stage.keys is not None:
            stage.keys.close()
        if stage.app.poll() is None:
            stage.err = stop_app(stage.app)
        stage.synth.close()


def _zone_channel(pitch: int) -> int:
    part = ZoneArranger(QUARTET).assign(Note(pitch, 100, 0.0))
    return QUARTET.parts[part].channel


@pytest.mark.parametrize("audio", ["jack", "none"])
def test_each_part_goes_out_on_its_channel(jack_server, audio):
    # With --audio none the keyboard comes in through rtmidi's own JACK port.
    keyboard = "instrument:midi_00" if audio == "jack" else "instrument-midi:in"
    with _stage(keyboard, "--audio", audio, "--midi-api", "jack", "--midi-out", "ext-synth") as st:
        synth, keys = st.synth, st.keys
        # Set-up: every part's program, volume and pan on its own channel.
        for part in QUARTET.parts:
            assert wait_for(lambda p=part: (0xC0 | p.channel, p.program) in synth.seen()), (
                f"no program change for {part.name}"
            )
            assert (0xB0 | part.channel, 7, part.volume) in synth.seen()
            assert (0xB0 | part.channel, 10, part.pan) in synth.seen()
        before = len(synth.seen())
        low, high = _zone_channel(40), _zone_channel(84)
        assert low != high
        keys.send([0x90, 40, 90])
        assert wait_for(lambda: (0x90 | low, 40, 90) in synth.seen()[before:])
        keys.send([0x90, 84, 100])
        assert wait_for(lambda: (0x90 | high, 84, 100) in synth.seen()[before:])
        notes = [m for m in synth.seen()[before:] if m[0] & 0xE0 == 0x80]
        assert notes == [(0x90 | low, 40, 90), (0x90 | high, 84, 100)], notes
        # The mod wheel and the bend follow every part (the sustain pedal is the
        # performer's to place: a monophonic part holds under it without CC64); a note-off
        # follows its note-on's channel.
        keys.send([0xB0, 1, 99])
        keys.send([0xE0, 0x00, 0x50])
        keys.send([0x80, 84, 0])
        channels = [p.channel for p in QUARTET.parts]
        assert wait_for(lambda: all((0xE0 | ch, 0x00, 0x50) in synth.seen() for ch in channels))
        assert all((0xB0 | ch, 1, 99) in synth.seen() for ch in channels)
        assert wait_for(lambda: (0x80 | high, 84, 0) in synth.seen())
        offs = [m for m in synth.seen() if m[0] & 0xF0 == 0x80 and m[1] == 84]
        assert offs == [(0x80 | high, 84, 0)], "the note-off went elsewhere too"
        # Closing the app sends all-notes-off on every channel, so the held 40 ends.
        mark = len(synth.seen())
        stop_app(st.app)
        closing = synth.seen()[mark:]
        assert all((0xB0 | ch, 123, 0) in closing for ch in range(16)), closing
        assert all((0xB0 | ch, 64, 0) in closing for ch in range(16))


def test_virtual_port_for_a_daw(jack_server):
    proc = _start_app("--audio", "none", "--midi-api", "jack", "--midi-out", "virtual")
    keys = daw = None
    try:
        keys = _keyboard("instrument-midi:in", proc)
        daw = receiver("daw")
        assert wait_for(lambda: daw.client.get_ports("instrument-out:out"))
        daw.client.connect("instrument-out:out", "daw:in")
        # A DAW that connects later is told the set-up all the same.
        for part in QUARTET.parts:
            assert wait_for(lambda p=part: (0xC0 | p.channel, p.program) in daw.seen())
        keys.send([0x90, 84, 100])
        keys.send([0x80, 84, 0])
        high = _zone_channel(84)
        assert wait_for(lambda: (0x80 | high, 84, 0) in daw.seen())
        assert (0x90 | high, 84, 100) in daw.seen()
    finally:
        for c in (keys, daw):
            if c is not None:
                c.close()
        err = stop_app(proc)
    assert "MIDI out: instrument-out:out (virtual, jack)" in err


def test_unknown_midi_out_port_is_one_line(jack_server):
    proc = _start_app("--audio", "none", "--midi-api", "jack", "--midi-out", "no-such-synth")
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    lines = [x for x in err.splitlines() if x.strip()]
    assert lines[-1].startswith("instrument: error: no MIDI output matches 'no-such-synth'"), err
    assert "Traceback" not in err


def test_devices_lists_the_midi_outputs(jack_server):
    synth = receiver("ext-synth")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "instrument", "devices"],
            capture_output=True,
            text=True,
            timeout=60,
            env=dict(os.environ),
        )
    finally:
        synth.close()
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    outputs = lines[lines.index("MIDI outputs (for --midi-out; or 'virtual'):") + 1 :]
    jack_line = next(x for x in outputs if x.startswith("  jack: "))
    assert "ext-synth:in" in jack_line


def test_program_change_recalls_a_registration_and_the_held_note_ends_on_its_channel(
    jack_server, tmp_path
):
    (tmp_path / "strings.toml").write_text(
        'name = "Strings"\nensemble = "quartet"\narranger = "zone"\n'
    )
    (tmp_path / "voices.toml").write_text(
        'name = "Voices"\nensemble = "choir"\narranger = "zone"\ntranspose = 12\nprogram = 5\n'
    )
    choir = load_ensemble("choir")
    registrations = ["-r", str(tmp_path / "strings.toml"), "-r", str(tmp_path / "voices.toml")]
    args = ["--audio", "jack", "--midi-api", "jack", "--midi-out", "ext-synth", "--multi-out"]
    with _stage("instrument:midi_00", *args, *registrations) as st:
        synth, keys = st.synth, st.keys
        assert wait_for(
            lambda: (0xC0 | QUARTET.parts[0].channel, QUARTET.parts[0].program) in synth.seen()
        )
        low = _zone_channel(40)
        keys.send([0x90, 40, 90])  # held across the recall
        assert wait_for(lambda: (0x90 | low, 40, 90) in synth.seen())
        mark = len(synth.seen())
        keys.send([0xC0, 5])  # the keyboard's registration button
        for part in choir.parts:  # the choir's programs go out...
            assert wait_for(lambda p=part: (0xC0 | p.channel, p.program) in synth.seen()[mark:])
        # ...and its parts name the ports now
        assert ports_appear(["instrument:soprano_l"], 10)
        keys.send([0x80, 40, 0])  # the old note ends where it started
        assert wait_for(lambda: (0x80 | low, 40, 0) in synth.seen()[mark:])
        keys.send([0x90, 60, 100])  # a new one: an octave up, on the choir
        assert wait_for(
            lambda: any(m[0] & 0xF0 == 0x90 and m[1:] == (72, 100) for m in synth.seen()[mark:])
        )
        keys.send([0x80, 60, 0])
        assert wait_for(
            lambda: any(m[0] & 0xF0 == 0x80 and m[1] == 72 for m in synth.seen()[mark:])
        )
        ons = sorted((m[0] & 0x0F, m[1]) for m in synth.seen() if m[0] & 0xF0 == 0x90)
        offs = sorted((m[0] & 0x0F, m[1]) for m in synth.seen() if m[0] & 0xF0 == 0x80)
        assert ons == offs, "every note-on has its note-off on the same channel"
    assert "registration 2: Voices" in st.err


def test_a_synth_that_goes_away_is_reconnected_and_set_up_again(jack_server):
    args = ["--audio", "none", "--midi-api", "jack", "--midi-out", "ext-synth"]
    with _stage("instrument-midi:in", *args) as st:
        synth, keys = st.synth, st.keys
        program = (0xC0 | QUARTET.parts[0].channel, QUARTET.parts[0].program)
        assert wait_for(lambda: program in synth.seen())
        synth.close()  # its cable pulled
        synth = st.synth = receiver("ext-synth")  # and plugged back in
        assert wait_for(lambda: program in synth.seen()), (
            f"not set up again: {[p.name for p in synth.client.get_ports()]} "
            f"{[p.name for p in synth.client.get_all_connections('ext-synth:in')]}"
        )
        keys.send([0x90, 84, 100])
        assert wait_for(lambda: (0x90 | _zone_channel(84), 84, 100) in synth.seen())
        keys.send([0x80, 84, 0])
    assert "MIDI out: ext-synth:in is back" in st.err


def test_midi_out_comes_back_with_the_jack_server(jack_server):
    """The server dies and returns (and the synth with it): the parts go out again."""
    from instrument.input.midi import forget_jack_client
    from tests.support.jackserver import JackServer

    name = f"midi-out-fault-{os.getpid()}"
    server = JackServer(name=name, synchronous=True).start()
    env = dict(os.environ, JACK_DEFAULT_SERVER=name)
    synth = receiver("ext-synth")
    proc = _start_app("--audio", "jack", "--midi-out", "ext-synth", env=env)
    keys, failure = None, None
    try:
        program = (0xC0 | QUARTET.parts[0].channel, QUARTET.parts[0].program)
        assert wait_for(lambda: program in synth.seen(), 30), "app not up"
        forget_jack_client(synth.client)  # its server is about to die: never close it
        server.stop()
        time.sleep(2.0)
        assert proc.poll() is None, "the app must survive the server's death"
        server = JackServer(name=name, synchronous=True).start()
        synth = receiver("ext-synth")
        assert wait_for(lambda: program in synth.seen(), 30), "MIDI out did not come back"
        keys = _keyboard("instrument:midi_00", proc)
        keys.send([0x90, 84, 100])
        assert wait_for(lambda: (0x90 | _zone_channel(84), 84, 100) in synth.seen())
        keys.send([0x80, 84, 0])
    except AssertionError as e:
        failure = e
    finally:
        if keys is not None:
            keys.close()
        heard = synth.seen()[-12:]
        err = stop_app(proc)
        synth.close()
        server.stop()
    if failure is not None:  # what the app said, so that a failure can be traced
        raise AssertionError(f"{failure}\nsynth heard: {heard}\napp said: {err[-2500:]}")
    assert "MIDI out: ext-synth:in is back" in err
    assert "Traceback" not in err
