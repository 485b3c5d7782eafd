"""Bad input on the command line: one clear line on stderr, exit 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "instrument", *args], capture_output=True,
                          text=True, timeout=120, env=env)


def assert_one_line_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("instrument: error:"), proc.stderr
    for w in words:
        assert w in lines[0]


@pytest.fixture
def midi_file(tmp_path):
    from tests.test_render import make_piece

    path = tmp_path / "ok.mid"
    make_piece(path)
    return path


def test_unknown_ensemble(midi_file, tmp_path):
    proc = run("render", str(midi_file), "-o", str(tmp_path / "o.wav"), "--ensemble", "kazoo")
    assert_one_line_error(proc, "unknown ensemble", "kazoo")


def test_malformed_ensemble_files(midi_file, tmp_path):
    cases = {
        "syntax.toml": "name = 'x'\n[[parts]\n",
        "noparts.toml": "name = 'x'\n",
        "badprogram.toml": "name = 'x'\n[[parts]]\nname = 'a'\nprogram = 300\n",
        "badrange.toml": "name = 'x'\n[[parts]]\nname = 'a'\nrange = [80, 20]\n",
    }
    for name, text in cases.items():
        path = tmp_path / name
        path.write_text(text)
        proc = run("render", str(midi_file), "-o", str(tmp_path / "o.wav"), "--ensemble",
                   str(path), "--arranger", "closest")
        assert_one_line_error(proc, str(path))


def test_missing_and_corrupt_soundfont(midi_file, tmp_path):
    proc = run("render", str(midi_file), "-o", str(tmp_path / "o.wav"), "--soundfont",
               str(tmp_path / "nope.sf2"))
    assert_one_line_error(proc, "SoundFont not found")
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunk")
    proc = run("render", str(midi_file), "-o", str(tmp_path / "o.wav"), "--soundfont", str(bad))
    assert_one_line_error(proc, "not a SoundFont")


def test_malformed_empty_and_missing_midi(tmp_path):
    garbage = tmp_path / "garbage.mid"
    garbage.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\xff\xff")
    empty = tmp_path / "empty.mid"
    empty.write_bytes(b"")
    import mido

    silent = tmp_path / "silent.mid"
    mid = mido.MidiFile()
    mid.tracks.append(mido.MidiTrack([mido.MetaMessage("end_of_track")]))
    mid.save(silent)
    for path, words in ((garbage, "not a readable MIDI"), (empty, "not a readable MIDI"),
                        (silent, "no notes"), (tmp_path / "none.mid", "not found")):
        proc = run("render", str(path), "-o", str(tmp_path / "o.wav"))
        assert_one_line_error(proc, words)


@pytest.mark.jack
def test_unknown_midi_port(jack_server):
    proc = run("play", "--audio", "jack", "--no-display", "--midi-in", "no-such-keyboard",
               "--duration", "1")
    assert_one_line_error(proc, "no MIDI input matches", "no-such-keyboard")
