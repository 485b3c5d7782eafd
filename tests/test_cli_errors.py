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


# -- render's outputs and the numeric options -----------------------------------------------
def _main(capsys, *args: str) -> tuple[int, str]:
    """The command in this process (fast): its exit status and stderr."""
    from instrument.cli import main

    try:
        rc = main(list(args))
    except SystemExit as e:  # the option parser exits
        rc = e.code
    return rc, capsys.readouterr().err


def _assert_one_line(rc: int, err: str, *words: str) -> None:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2 and len(lines) == 1 and lines[0].startswith("instrument: error:"), err
    assert "Traceback" not in err
    for w in words:
        assert w in lines[0], lines[0]


@pytest.mark.parametrize("output", ["out.xyz", "out", "a-folder", "out.mid"])
def test_render_refuses_an_output_it_cannot_write_naming_those_it_can(midi_file, tmp_path,
                                                                     capsys, output):
    from instrument.synth.audiofile import writable_formats

    (tmp_path / "a-folder").mkdir()
    out = tmp_path / output
    rc, err = _main(capsys, "render", str(midi_file), "-o", str(out), "--arranger", "closest")
    _assert_one_line(rc, err, str(out), *writable_formats())
    assert not out.is_file()


@pytest.mark.parametrize("ext", [".mp3", ".ogg", ".flac"])
def test_render_writes_each_format_libsndfile_can_else_says_which_it_can(midi_file, tmp_path,
                                                                        capsys, ext):
    import soundfile

    from instrument.synth.audiofile import FORMATS, writable_formats

    out = tmp_path / f"out{ext}"
    rc, err = _main(capsys, "render", str(midi_file), "-o", str(out), "--arranger", "closest",
                    "--sample-rate", "44100")
    if ext not in writable_formats():  # a libsndfile built without this codec
        _assert_one_line(rc, err, f"the {ext} format", ".wav")
        return
    assert rc == 0, err
    info = soundfile.info(str(out))
    assert info.format == FORMATS[ext][0] and info.samplerate == 44100
    audio, _ = soundfile.read(str(out))
    assert len(audio) > 44100 and abs(audio).max() > 0.01  # the piece is heard in it


def test_render_refuses_an_arranged_file_that_is_not_midi(midi_file, tmp_path, capsys):
    rc, err = _main(capsys, "render", str(midi_file), "-o", str(tmp_path / "o.wav"),
                    "--arranged", str(tmp_path / "o.wav"))
    _assert_one_line(rc, err, ".mid")


BAD_NUMBERS = [
    ("render", "IN", "-o", "o.wav", "--sample-rate", "-5"),
    ("render", "IN", "-o", "o.wav", "--sample-rate", "0"),
    ("render", "IN", "-o", "o.wav", "--sample-rate", "10000000"),
    ("render", "IN", "-o", "o.wav", "--sample-rate", "44.1k"),
    ("play", "--period", "-128"),
    ("play", "--duration", "nan"),
    ("jam", "--tempo", "0"),
    ("jam", "--tempo", "inf"),
    ("jam", "--meter", "-3"),
    ("jam", "--top-p", "2"),
    ("jam", "--temperature", "-1"),
    ("accompany", "IN", "--chart", "blues-f", "-o", "o.mid", "--count-in", "-1"),
    ("practice", "blues-f", "--tempo-scale", "100"),
    ("practice", "blues-f", "--loops", "0"),
    ("listen", "--duration", "-1"),
    ("suggest", "summer", "--bars", "0"),
    ("suggest", "summer", "-n", "-2"),
    ("suggest", "summer", "--seed", "-1"),
]


@pytest.mark.parametrize("args", BAD_NUMBERS, ids=lambda a: "_".join(a[:1] + a[-2:]))
def test_numeric_options_out_of_range_are_one_line_errors(midi_file, capsys, args):
    args = tuple(str(midi_file) if a == "IN" else a for a in args)
    rc, err = _main(capsys, *args)
    _assert_one_line(rc, err, args[-2], args[-1])
