"""Registrations: the shipped ones load, bad files are one line, and a recall while notes
are held leaves none hanging (each ends on its old part, at its old pitch)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest

from instrument.errors import InstrumentError
from instrument.registration import (
    available_registrations,
    load_registration,
    note_number,
)
from tests.support.fakes import SilentSynth


def test_shipped_registrations_load():
    names = available_registrations()
    assert {"choir", "quartet", "pop-band", "practice"} <= set(names)
    for name in names:
        reg = load_registration(name)
        assert reg.name
    band = load_registration("pop-band")
    assert (band.split, band.style, band.tempo) == (60, "pop8", 100.0)


def test_note_names():
    assert note_number("C4", "x") == 60
    assert note_number("F#3", "x") == 54
    assert note_number("Bb2", "x") == 46
    assert note_number(36, "x") == 36
    with pytest.raises(InstrumentError, match="split must be a MIDI note"):
        note_number("H9", "x")


@pytest.mark.parametrize(("text", "message"), [
    ('name = "x"\nvolume = 3\n', "unknown key 'volume'"),
    ('name = "x"\ntranspose = 40\n', "transpose must be an integer -24-24"),
    ('name = "x"\ntranspose = "up"\n', "transpose must be an integer"),
    ('name = "x"\ntempo = true\n', "tempo must be a number 20-400"),
    ('name = "x"\nprogram = 128\n', "program must be an integer 0-127"),
    ('ensemble = "choir"\n', "needs a name"),
    ('name = ""\n', "name must be a non-empty string"),
    ('name = "x"\nsplit = "Q7"\n', "split must be a MIDI note"),
    ("name = [unclosed\n", "not a readable registration file"),
])  # fmt: skip
def test_bad_registration_is_one_line(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InstrumentError, match=message) as e:
        load_registration(path)
    assert "\n" not in str(e.value)


def test_binary_garbage_and_missing_file(tmp_path):
    import numpy as np

    path = tmp_path / "noise.toml"
    path.write_bytes(np.random.default_rng(16).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(InstrumentError, match="not a readable registration file"):
        load_registration(path)
    with pytest.raises(InstrumentError, match="registration file not found"):
        load_registration(tmp_path / "missing.toml")
    with pytest.raises(InstrumentError, match="unknown registration 'nope'"):
        load_registration("nope")


def test_cli_bad_registration_is_one_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "x"\ntranspose = 99\n')
    done = subprocess.run([sys.executable, "-m", "instrument", "play", "--no-display",
                           "--audio", "none", "--midi-in", "none", "--registration", str(path)],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("instrument: error: "), done.stderr
    assert "transpose must be an integer -24-24" in lines[0]


class Log(SilentSynth):
    """A part output that keeps what reached it: (kind, channel, pitch)."""

    def __init__(self):
        self.events: list[tuple] = []

    def set_ensemble(self, ensemble) -> None:
        pass  # the ensemble is not logged

    def noteon(self, channel, pitch, velocity):
        self.events.append(("on", channel, pitch))

    def noteoff(self, channel, pitch):
        self.events.append(("off", channel, pitch))

    def program(self, channel, program):
        self.events.append(("program", channel, program))

    def use_soundfont(self, soundfont):
        self.events.append(("soundfont", soundfont))


@pytest.fixture
def session(tmp_path):
    from instrument.arrange import make_arranger
    from instrument.ensemble import load_ensemble
    from instrument.live.session import LiveSession
    from instrument.synth import find_soundfont

    try:
        soundfont = find_soundfont()
    except InstrumentError as e:
        pytest.skip(str(e))
    (tmp_path / "strings.toml").write_text(
        'name = "Strings"\nensemble = "quartet"\narranger = "zone"\nprogram = 10\n')
    (tmp_path / "voices.toml").write_text(
        'name = "Voices up an octave"\nensemble = "choir"\narranger = "zone"\n'
        'transpose = 12\nprogram = 11\n')
    quartet = load_ensemble("quartet")
    live = LiveSession(quartet, make_arranger("zone", quartet), soundfont, audio="none",
                       midi_in="none")
    live.start()
    live.load_registrations([load_registration(tmp_path / "strings.toml"),
                             load_registration(tmp_path / "voices.toml")])
    log = Log()
    live.outputs.add(log)
    yield live, log
    live.close()


def test_program_change_recalls_with_no_hanging_note(session):
    live, log = session
    live.recall(0)
    live.handle([0x90, 40, 100])  # held across the recall
    old = [e for e in log.events if e[0] == "on"]
    assert len(old) == 1
    _, old_channel, _ = old[0]
    live.handle([0xC0, 11])  # the keyboard's program button: "Voices up an octave"
    assert live.health().messages == ["registration 2: Voices up an octave"]
    assert live.performer.setup.ensemble.name == "choir"
    live.handle([0x90, 60, 100])  # a new note: transposed, on the choir
    live.handle([0x80, 40, 0])  # the old note ends where and as it started
    live.handle([0x80, 60, 0])
    notes = [e for e in log.events if e[0] in ("on", "off")]
    assert ("off", old_channel, 40) in notes
    assert ("on", notes[1][1], 72) == notes[1] and ("off", notes[1][1], 72) in notes
    # Every note-on has its note-off on the same channel and pitch: nothing hangs.
    ons = Counter(e[1:] for e in notes if e[0] == "on")
    offs = Counter(e[1:] for e in notes if e[0] == "off")
    assert ons == offs
    assert not live.performer.sounding


def test_transpose_change_while_held_ends_the_shifted_note(session):
    live, log = session
    live.recall(1)  # +12
    live.handle([0x90, 60, 100])
    live.recall(0)  # back to 0 while the key is down
    live.handle([0x80, 60, 0])
    notes = [e for e in log.events if e[0] in ("on", "off")]
    assert [e[2] for e in notes] == [72, 72]
    assert not live.performer.sounding


def test_unknown_program_change_is_said_and_ignored(session):
    live, _log = session
    before = live.performer.setup
    live.handle([0xC0, 99])
    assert live.health().messages == ["program change 99: no registration for it"]
    assert live.performer.setup is before


def test_headless_commands_recall_by_number():
    done = subprocess.run(
        [sys.executable, "-m", "instrument", "play", "--no-display", "--audio", "none",
         "--midi-in", "none", "--arranger", "zone", "-r", "practice", "-r", "quartet",
         "--duration", "30"],
        input="2\n7\nq\n", capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "instrument: registration 1: Practice: ii-V-I in C (2 in the bank)" in done.stderr
    assert "instrument: registration 2: String quartet" in done.stderr
    assert "instrument: no registration 7 (there are 2)" in done.stderr


def test_jam_and_practice_take_a_registration_and_typed_options_win():
    jam = subprocess.run(
        [sys.executable, "-m", "instrument", "jam", "--no-display", "--audio", "none",
         "--midi-in", "none", "-r", "pop-band", "--tempo", "90", "--duration", "1"],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert jam.returncode == 0, jam.stderr
    assert "instrument jam: 90 BPM, 4/4, style pop8, chords from keys below 60" in jam.stdout
    practice = subprocess.run(
        [sys.executable, "-m", "instrument", "practice", "-r", "practice", "--show"],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert practice.returncode == 0, practice.stderr
    assert practice.stdout.startswith("title: ii–V–I (major) in C")


def test_ctrl_number_recalls_in_the_stage_window(session, pygame_offscreen):
    import pygame

    from instrument.display.stage import run_stage

    live, _log = session
    live.recall(0)
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_2, mod=pygame.KMOD_CTRL))
    try:
        model = run_stage(live, duration=0.5)
    finally:
        pygame.display.init()  # run_stage closed the display the other tests draw with
        pygame.font.init()
    assert live.registration.name == "Voices up an octave"
    assert model.status.message == "registration 2: Voices up an octave"
    assert model.ensemble.name == "choir"
    assert not live.performer.sounding, "Ctrl+2 is a recall, not the piano key 2"


def test_a_registrations_soundfont_is_loaded_before_and_taken_on_recall(tmp_path):
    import shutil

    from instrument.arrange import make_arranger
    from instrument.ensemble import load_ensemble
    from instrument.live.session import LiveSession
    from instrument.synth import find_soundfont, list_soundfonts

    main = find_soundfont()
    other = tmp_path / "other.sf2"  # a second SoundFont file: a copy of the smallest found
    shutil.copyfile(min(list_soundfonts(), key=lambda p: p.stat().st_size), other)
    (tmp_path / "other.toml").write_text(
        f'name = "Other sound"\narranger = "zone"\nsoundfont = "{other}"\n')
    (tmp_path / "plain.toml").write_text('name = "Plain"\narranger = "zone"\n')
    quartet = load_ensemble("quartet")
    live = LiveSession(quartet, make_arranger("zone", quartet), main, audio="none",
                       midi_in="none")
    try:
        live.start()
        live.load_registrations([load_registration(tmp_path / "plain.toml"),
                                 load_registration(tmp_path / "other.toml")])
        loaded = dict(live.synth._loaded)
        assert other.resolve() in loaded, "preloaded at the start, not at the recall"
        live.recall(1)
        assert live.synth.soundfont == other.resolve()
        assert live.synth.sfid == loaded[other.resolve()]
        assert live.synth._fs.channel_info(0)[0] == live.synth.sfid  # the parts play it
        live.recall(0)  # a registration without one: back to the SoundFont of the start
        assert live.synth.soundfont == main.resolve()
        assert live.synth._fs.channel_info(0)[0] == loaded[main.resolve()]
        assert dict(live.synth._loaded) == loaded, "nothing loaded while playing"
    finally:
        live.close()
