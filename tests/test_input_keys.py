"""The computer keyboard as an input: its key map, its held keys, and no pygame headless."""

from __future__ import annotations

import subprocess
import sys

import mido
import pytest

from instrument.input.keys import LOWER_ROW, PIANO_KEYS, RECALL_KEYS, UPPER_ROW, KeyboardPiano

# Run in a fresh interpreter: headless play and jam with a file played in, then whether
# anything on their way imported pygame.
HEADLESS = """
import sys

from instrument.cli import main
from instrument.errors import InstrumentError
from instrument.synth import find_soundfont

try:
    find_soundfont()
except InstrumentError as e:
    print("skip:", e)
    raise SystemExit(0)
common = ["--midi-in", "none", "--audio", "none", "--no-display", "--duration", "0.3",
          "--play-file", sys.argv[1]]
assert main(["play", *common]) == 0
assert main(["jam", "--style", "block", *common]) == 0
print("pygame imported:", "pygame" in sys.modules)
"""


def test_headless_play_and_jam_never_import_pygame(tmp_path):
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.Message("note_on", note=60, velocity=90, time=0))
    track.append(mido.Message("note_off", note=60, velocity=0, time=240))
    mid.save(tmp_path / "one.mid")
    done = subprocess.run(
        [sys.executable, "-c", HEADLESS, str(tmp_path / "one.mid")],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    if done.stdout.startswith("skip:"):
        pytest.skip(done.stdout.strip())
    assert "pygame imported: False" in done.stdout, done.stdout + done.stderr


def test_the_two_rows_are_two_chromatic_octaves():
    assert sorted(LOWER_ROW.values()) == list(range(13))
    assert sorted(UPPER_ROW.values()) == list(range(12, 25))
    assert PIANO_KEYS["z"] == 0 and PIANO_KEYS[","] == 12 and PIANO_KEYS["q"] == 12
    assert RECALL_KEYS["1"] == 0 and RECALL_KEYS["9"] == 8


def test_key_names_resolve_to_pygames_key_codes(pygame_offscreen):
    import pygame

    from instrument.input.keys import key_codes

    piano = key_codes(PIANO_KEYS)
    assert piano[pygame.K_z] == 0 and piano[pygame.K_s] == 1 and piano[pygame.K_COMMA] == 12
    assert piano[pygame.K_q] == 12 and piano[pygame.K_2] == 13 and piano[pygame.K_i] == 24
    assert len(piano) == len(PIANO_KEYS)
    assert key_codes(RECALL_KEYS) == {getattr(pygame, f"K_{n}"): n - 1 for n in range(1, 10)}


def test_a_held_key_sounds_once_and_ends_the_pitch_it_started():
    sent: list[list[int]] = []
    piano = KeyboardPiano(sent.append, {1: 0, 2: 4, 3: 12})
    assert piano.press(1, octave=4, velocity=80)
    assert piano.press(1, octave=4, velocity=80)  # the window repeats a held key: used, silent
    assert sent == [[0x90, 60, 80]]
    assert piano.press(2, octave=5, velocity=100)  # the octave changed while 1 is held
    piano.release(1)
    assert sent[-2:] == [[0x90, 76, 100], [0x80, 60, 0]]
    piano.release(1)  # released twice: once is enough
    assert len(sent) == 3
    assert not piano.press(9, octave=4, velocity=80), "not a piano key"
    assert piano.press(3, octave=9, velocity=80), "a piano key, though above MIDI's range"
    assert len(sent) == 3 and piano.held == {2: 76}
    piano.release_all()
    assert sent[-1] == [0x80, 76, 0] and piano.held == {}


def test_piano_keys_in_the_window_play_through_the_session(pygame_offscreen):
    """The real loop on a live session without devices: z (a C) down then up, with the
    octave raised once."""
    import pygame

    from instrument.arrange import make_arranger
    from instrument.display.stage import run_stage
    from instrument.ensemble import load_ensemble
    from instrument.errors import InstrumentError
    from instrument.live.session import LiveSession
    from instrument.synth import find_soundfont

    try:
        soundfont = find_soundfont()
    except InstrumentError as e:
        pytest.skip(str(e))
    quartet = load_ensemble("quartet")
    session = LiveSession(
        quartet, make_arranger("zone", quartet), soundfont, audio="none", midi_in="none"
    )
    played = []
    try:
        session.start()
        session.performer.add_listener(lambda e: played.append((e.on, e.pitch, e.velocity)))
        for kind, key in (
            (pygame.KEYDOWN, pygame.K_RIGHT),
            (pygame.KEYDOWN, pygame.K_z),
            (pygame.KEYDOWN, pygame.K_z),
            (pygame.KEYUP, pygame.K_z),
        ):
            pygame.event.post(pygame.event.Event(kind, key=key, mod=0))
        model = run_stage(session, duration=0.5)
    finally:
        session.close()
        pygame.display.init()  # run_stage closed the display the other tests draw with
        pygame.font.init()
    assert model.octave == 5
    c5 = 12 * (5 + 1)
    assert played == [(True, c5, model.velocity), (False, c5, 0)], "one note for a key held"
