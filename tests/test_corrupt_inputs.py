"""Damaged files at start-up: a clear one-line error (exit 2), or a named fallback.

Models, SoundFonts, ensemble configs, chord charts and the practice database, each
damaged the ways files get damaged: cut short (a full disk, an interrupted download), a
Git LFS pointer in place of the weights, the wrong file under the right name, flipped or
random bytes. Every kind is tried on the loader the commands use (in process, fast), and
a few of each through the command itself in a subprocess, as a user runs it, with no
audio device (``--audio none``). Models are damaged in a copy of the models folder
(``$INSTRUMENT_MODELS``), never in place.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from instrument.errors import InstrumentError
from instrument.paths import MODELS
from tests.test_cli_errors import assert_one_line_error

LFS_POINTER = (b"version https://git-lfs.github.com/spec/v1\n"
               b"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
               b"size 1342177\n")  # fmt: skip
DAMAGE = ["truncated", "head-only", "empty", "lfs-pointer", "random", "flipped"]


def damaged(good: Path, how: str) -> bytes:
    data = good.read_bytes()
    return {
        "truncated": data[: len(data) // 2],
        "head-only": data[:64],
        "empty": b"",
        "lfs-pointer": LFS_POINTER,
        "random": os.urandom(4096),
        "flipped": data[:100] + bytes(b ^ 0xFF for b in data[100:4000]) + data[4000:],
    }[how]


def run(*args: str, models: Path | None = None, timeout: float = 180):
    """The command as a user runs it (SDL's dummy video driver stands in for a display)."""
    env = dict(os.environ, SDL_VIDEODRIVER="dummy")
    if models is not None:
        env["INSTRUMENT_MODELS"] = str(models)
    return subprocess.run([sys.executable, "-m", "instrument", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)  # fmt: skip


def assert_one_line(err: InstrumentError, *words: str) -> None:
    text = str(err)
    assert text and "\n" not in text and "Traceback" not in text
    for w in words:
        assert w in text, text


def _needs_soundfont() -> Path:
    from instrument.synth import find_soundfont

    try:
        return find_soundfont()
    except InstrumentError as e:
        pytest.skip(str(e))


def _needs(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"{path.name} is not shipped")
    return path


@pytest.fixture
def models_copy(tmp_path) -> Path:
    """A copy of the shipped models folder that a test may damage."""
    _needs(MODELS / "quartet-lstm.pt")
    dst = tmp_path / "models"
    shutil.copytree(MODELS, dst)
    return dst


def _damage_lstm(target: Path, how: str) -> None:
    if how == "wrong-kind":  # an offline BiLSTM checkpoint under the online model's name
        shutil.copy(_needs(MODELS / "choir-bilstm.pt"), target)
    elif how == "wrong-parts":  # a real online LSTM, trained for another ensemble
        shutil.copy(_needs(MODELS / "pop909-lstm.pt"), target)
    else:
        target.write_bytes(damaged(_needs(MODELS / "quartet-lstm.pt"), how))


PLAY = ("play", "--ensemble", "quartet", "--audio", "none", "--midi-in", "none",
        "--no-display", "--duration", "0.3")  # fmt: skip
JAM = ("jam", "--style", "block", "--audio", "none", "--midi-in", "none", "--duration", "0.3")


# -- arranger models --------------------------------------------------------------------------
@pytest.mark.parametrize("how", [*DAMAGE, "wrong-kind", "wrong-parts"])
def test_damaged_arranger_model_is_a_one_line_error_naming_it(tmp_path, how):
    from instrument.arrange.neural import LSTMArranger
    from instrument.ensemble import load_ensemble

    bad = tmp_path / "quartet-lstm.pt"
    _damage_lstm(bad, how)
    with pytest.raises(InstrumentError) as err:
        LSTMArranger(load_ensemble("quartet"), path=bad)
    assert_one_line(err.value, str(bad))
    assert "weights_only" not in str(err.value)  # no advice to load an untrusted file


@pytest.mark.parametrize("how", ["truncated", "lfs-pointer", "wrong-parts"])
def test_damaged_default_model_falls_back_to_zone_and_says_so(models_copy, how):
    _needs_soundfont()
    target = models_copy / "quartet-lstm.pt"
    _damage_lstm(target, how)
    proc = run(*PLAY, models=models_copy)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    warnings = [ln for ln in proc.stderr.splitlines() if "warning" in ln]
    assert len(warnings) == 1, proc.stderr
    assert str(target) in warnings[0] and "falling back to the zone arranger" in warnings[0]
    # the status line names the arranger actually playing
    assert "arranger zone (fallback: lstm unusable)" in proc.stdout, proc.stdout
    if how == "lfs-pointer":
        assert "git lfs pull" in warnings[0]


def test_damaged_model_asked_for_by_name_is_a_one_line_error(models_copy):
    _needs_soundfont()
    target = models_copy / "quartet-lstm.pt"
    _damage_lstm(target, "truncated")
    assert_one_line_error(run(*PLAY, "--arranger", "lstm", models=models_copy), str(target))


def test_damaged_zone_table_is_a_one_line_error(models_copy):
    _needs_soundfont()
    (models_copy / "quartet-zone.json").write_text('{"boundaries": [72, 60')
    proc = run(*PLAY, "--arranger", "zone", models=models_copy)
    assert_one_line_error(proc, "quartet-zone.json")


def test_session_status_counts_decisions_over_budget():
    """The status line's "over budget" is the LSTM guard's count of zone decisions."""
    _needs(MODELS / "quartet-lstm.pt")
    from instrument.arrange.neural import LSTMArranger
    from instrument.ensemble import load_ensemble
    from instrument.live.session import LiveSession

    quartet = load_ensemble("quartet")
    arranger = LSTMArranger(quartet, budget_s=0.0)  # every step overruns a zero budget
    session = LiveSession(quartet, arranger, _needs_soundfont(), audio="none", midi_in="none")
    try:
        session.start()
        for i, pitch in enumerate(range(60, 70)):
            session.performer.handle([0x90, pitch, 90], 0.1 * i)
            session.performer.handle([0x80, pitch, 0], 0.1 * i + 0.05)
        assert arranger.fallbacks == 5
        assert session.health().over_budget == 5
    finally:
        session.close()


# -- the band's accompaniment model and the listener's chord model ---------------------------
@pytest.mark.parametrize("how", [*DAMAGE, "wrong-file"])
def test_damaged_accompaniment_model_is_a_one_line_error(tmp_path, how):
    from instrument.accompany.model import load_model

    good = _needs(MODELS / "accompany-lstm.pt")
    bad = tmp_path / "band.pt"
    if how == "wrong-file":  # an arranger checkpoint given as the band's model
        shutil.copy(_needs(MODELS / "quartet-lstm.pt"), bad)
    else:
        bad.write_bytes(damaged(good, how))
    with pytest.raises(InstrumentError) as err:
        load_model(bad)
    assert_one_line(err.value, str(bad))


def test_damaged_accompaniment_model_in_jam(tmp_path):
    bad = tmp_path / "band.pt"
    shutil.copy(_needs(MODELS / "quartet-lstm.pt"), bad)
    proc = run("jam", "--style", "model", *JAM[3:], "--model", str(bad))
    assert_one_line_error(proc, str(bad))


CHORD_MODELS = ['{"treble": [[1, 2', "[]", '{"treble": "x"}', "",
                '{"treble": [[1]], "bass": [[1]], "bias": [0], "no_chord": 0, "scale": 1}']


@pytest.mark.parametrize("text", CHORD_MODELS)
def test_damaged_listener_chord_model_is_a_one_line_error(tmp_path, text):
    from instrument.listen import Listener

    bad = tmp_path / "listen_chords.json"
    bad.write_text(text)
    with pytest.raises(InstrumentError) as err:
        Listener(44100, chord_model=bad)
    assert_one_line(err.value, str(bad))


def test_damaged_listener_chord_model_in_listen(models_copy, tmp_path):
    import numpy as np

    from instrument.synth import write_wav

    (models_copy / "listen_chords.json").write_text(CHORD_MODELS[0])
    wav = write_wav(tmp_path / "a.wav", np.zeros((4410, 1), np.float32), 44100)
    proc = run("listen", str(wav), "--json", models=models_copy)
    assert_one_line_error(proc, "listen_chords.json")


# -- SoundFonts -------------------------------------------------------------------------------
def _damage_soundfont(bad: Path, how: str) -> None:
    if how == "riff-header-only":  # says RIFF sfbk, then garbage
        bad.write_bytes(b"RIFF\x00\x10\x00\x00sfbk" + os.urandom(4096))
    else:
        bad.write_bytes(damaged(_needs_soundfont(), how))


@pytest.mark.parametrize("how", ["truncated", "head-only", "flipped", "riff-header-only",
                                 "empty", "lfs-pointer"])  # fmt: skip
def test_damaged_soundfont_is_a_one_line_error(tmp_path, how):
    from instrument.synth import Synth

    bad = tmp_path / "bad.sf2"
    _damage_soundfont(bad, how)
    with pytest.raises(InstrumentError) as err:
        Synth(bad).close()
    assert_one_line(err.value, str(bad))


@pytest.mark.parametrize("how", ["truncated", "riff-header-only"])
def test_damaged_soundfont_in_play_says_one_line(tmp_path, how):
    """FluidSynth's own log lines must not reach the terminal beside the error."""
    bad = tmp_path / "bad.sf2"
    _damage_soundfont(bad, how)
    assert_one_line_error(run(*PLAY, "--arranger", "zone", "--soundfont", str(bad)), str(bad))


# -- ensemble configs -------------------------------------------------------------------------
ENSEMBLES = {
    "binary.toml": os.urandom(300),
    "syntax.toml": b"name = 'x'\n[[parts]\n",
    "empty.toml": b"",
    "parts-not-a-list.toml": b"name = 'x'\nparts = 3\n",
    "program-text.toml": b"name = 'x'\n[[parts]]\nname = 'a'\nprogram = 'violin'\n",
    "volume-range.toml": b"name = 'x'\n[[parts]]\nname = 'a'\nprogram = 1\nvolume = 900\n",
    "too-many-parts.toml": b"name = 'x'\n" + b"[[parts]]\nname = 'a'\nprogram = 1\n" * 17,
    "latin1.toml": "name = 'Ensemble à cordes'\n".encode("latin-1"),
    "cut-short.toml": b"name = 'x'\n[[parts]]\nname = 'Viol",
}


@pytest.mark.parametrize("name", sorted(ENSEMBLES))
def test_damaged_ensemble_config_is_a_one_line_error(tmp_path, name):
    from instrument.ensemble import load_ensemble

    path = tmp_path / name
    path.write_bytes(ENSEMBLES[name])
    with pytest.raises(InstrumentError) as err:
        load_ensemble(path)
    assert_one_line(err.value, str(path))


@pytest.mark.parametrize("command", ["play", "jam"])
def test_damaged_ensemble_config_in_play_and_jam(tmp_path, command):
    _needs_soundfont()
    path = tmp_path / "bad.toml"
    path.write_bytes(ENSEMBLES["binary.toml"])
    args = PLAY if command == "play" else JAM
    assert_one_line_error(run(*args, "--arranger", "zone", "--ensemble", str(path)), str(path))


# -- chord charts -----------------------------------------------------------------------------
CHARTS = {
    "binary.chart": os.urandom(200) + b"\xff\xfe",
    "empty.chart": b"",
    "bad-chord.chart": b"tempo: 120\n| C | Xq7 | F | G |\n",
    "bad-tempo.chart": b"tempo: fast\n| C | G |\n",
    "cut-short.chart": b"title: Cut\ntempo: 120\n| C | G7/",
    "nul-bytes.chart": b"tempo: 120\n| C |\x00\x00\x00| G |\n",
    "broken.mxl": b"PK\x03\x04" + os.urandom(200),
    "broken.musicxml": b"<?xml version='1.0'?><score-partwise><part><measure>",
}


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_damaged_practice_chart_is_a_one_line_error(tmp_path, name):
    from instrument.practice.exercises import resolve_chart

    path = tmp_path / name
    path.write_bytes(CHARTS[name])
    with pytest.raises(InstrumentError) as err:
        resolve_chart(str(path))
    assert_one_line(err.value, name)


def test_chart_that_is_a_directory(tmp_path):
    from instrument.practice.exercises import resolve_chart

    (tmp_path / "dir.chart").mkdir()
    with pytest.raises(InstrumentError) as err:
        resolve_chart(str(tmp_path / "dir.chart"))
    assert_one_line(err.value, "dir.chart")


@pytest.mark.parametrize("command", ["practice", "jam"])
def test_damaged_chart_in_practice_and_jam(tmp_path, command):
    path = tmp_path / "binary.chart"
    path.write_bytes(CHARTS["binary.chart"])
    args = ("practice", str(path), "--show") if command == "practice" else (
        *JAM, "--chart", str(path))  # fmt: skip
    assert_one_line_error(run(*args), "binary.chart")


# -- the practice database --------------------------------------------------------------------
DATABASES = {"random": os.urandom(8192), "bad-pages": b"SQLite format 3\x00" + os.urandom(4000)}


@pytest.mark.parametrize("kind", sorted(DATABASES))
def test_damaged_practice_database_is_a_one_line_error(tmp_path, kind):
    from instrument.practice.history import History

    db = tmp_path / "practice.sqlite"
    db.write_bytes(DATABASES[kind])
    with pytest.raises(InstrumentError) as err:
        with History(db) as h:
            h.sessions()
    assert_one_line(err.value, str(db))


def test_damaged_practice_database_in_practice_report(tmp_path):
    db = tmp_path / "practice.sqlite"
    db.write_bytes(DATABASES["random"])
    proc = run("practice", "--report", "--history", str(db), "--plot", str(tmp_path / "p.png"))
    assert_one_line_error(proc, str(db))
