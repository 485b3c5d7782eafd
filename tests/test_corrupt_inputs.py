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

import numpy as np
import pytest

from instrument.errors import InstrumentError
from instrument.paths import MODELS
from tests.test_cli_errors import assert_one_line_error

LFS_POINTER = (b"version https://git-lfs.github.com/spec/v1\n"
               b"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
               b"size 1342177\n")  # fmt: skip
DAMAGE = ["truncated", "head-only", "empty", "lfs-pointer", "random", "flipped"]


def noise(n: int, seed: int) -> bytes:
    """``n`` random bytes, the same on every run (CI must check the same bytes each time)."""
    return np.random.default_rng(seed).bytes(n)


def damaged(good: Path, how: str) -> bytes:
    data = good.read_bytes()
    return {
        "truncated": data[: len(data) // 2],
        "head-only": data[:64],
        "empty": b"",
        "lfs-pointer": LFS_POINTER,
        "random": noise(4096, seed=1),
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
        assert session.note_path == "compiled"  # which counts the guard's decisions itself
        assert session.performer.stats().fallbacks == 5
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
        bad.write_bytes(b"RIFF\x00\x10\x00\x00sfbk" + noise(4096, seed=2))
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
    "binary.toml": noise(300, seed=3),
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
    "binary.chart": noise(200, seed=4) + b"\xff\xfe",
    "empty.chart": b"",
    "bad-chord.chart": b"tempo: 120\n| C | Xq7 | F | G |\n",
    "bad-tempo.chart": b"tempo: fast\n| C | G |\n",
    "cut-short.chart": b"title: Cut\ntempo: 120\n| C | G7/",
    "nul-bytes.chart": b"tempo: 120\n| C |\x00\x00\x00| G |\n",
    "broken.mxl": b"PK\x03\x04" + noise(200, seed=5),
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
DATABASES = {"random": noise(8192, seed=6),
             "bad-pages": b"SQLite format 3\x00" + noise(4000, seed=7)}


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


# -- a model that loads must also be usable ---------------------------------------------------
def flip_weight_bytes(good: Path, n: int = 3, width: int = 2, seed: int = 8) -> bytes:
    """``good`` with ``n`` weights of ``width`` bytes (2: float16, 4: float32), at seeded
    places in its largest tensor, made non-finite by setting their exponent bits. The file
    still unpickles cleanly: the zip is stored, not compressed, and nothing checks its CRC."""
    import struct
    import zipfile

    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as z:
        info = max((i for i in z.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    at = info.header_offset
    name_len, extra_len = struct.unpack("<HH", data[at + 26 : at + 30])
    start = at + 30 + name_len + extra_len
    rng = np.random.default_rng(seed)
    for k in rng.integers(0, info.file_size // width, size=n):
        top = start + width * int(k) + width - 1  # little-endian: sign and exponent last
        data[top] = 0x7F  # float16: 0x7Fxx is NaN whatever the low byte
        if width == 4:
            data[top - 1] |= 0x80  # float32: the exponent's last bit is in the next byte
    return bytes(data)


def test_band_model_with_flipped_weight_bytes_is_a_one_line_error(tmp_path):
    """The issue's case: a few flipped bytes load, then sampling fails mid-song."""
    import torch

    from instrument.accompany.model import load_model

    bad = tmp_path / "band.pt"
    bad.write_bytes(flip_weight_bytes(_needs(MODELS / "accompany-lstm.pt")))
    blob = torch.load(bad, weights_only=True)  # torch itself reads it without complaint
    assert any(not torch.isfinite(v.float()).all() for v in blob["state"].values())
    with pytest.raises(InstrumentError) as err:
        load_model(bad)
    assert_one_line(err.value, str(bad), "NaN")


def test_band_model_whose_output_overflows_is_refused():
    """Finite weights can still give inf logits: the probe sequence catches them."""
    import torch

    from instrument.accompany.model import AccompanyLSTM, probe_logits

    model = AccompanyLSTM(vocab=40, cond_dim=8, d_model=16, n_layers=1).eval()
    probe_logits(model)  # an ordinary model passes
    with torch.no_grad():
        model.head.bias.fill_(3e38)
        model.head.weight.fill_(3e38)
    with pytest.raises(ValueError, match="not finite"):
        probe_logits(model)


def test_arranger_model_with_nan_weights_is_a_one_line_error(tmp_path):
    from instrument.arrange import model as M

    bad = tmp_path / "quartet-lstm.pt"
    bad.write_bytes(flip_weight_bytes(_needs(MODELS / "quartet-lstm.pt"), width=4))
    with pytest.raises(InstrumentError) as err:
        M.load(bad, "lstm", 4)
    assert_one_line(err.value, str(bad))


def test_damaged_default_band_model_falls_back_to_the_rule_based_style(models_copy):
    """``jam`` with the shipped model damaged plays the --rules style, and says so."""
    _needs_soundfont()
    target = models_copy / "accompany-lstm.pt"
    target.write_bytes(flip_weight_bytes(target))
    proc = run("jam", "--audio", "none", "--midi-in", "none", "--duration", "0.3",
               models=models_copy)  # fmt: skip
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    warnings = [ln for ln in proc.stderr.splitlines() if "warning" in ln]
    assert len(warnings) == 1 and str(target) in warnings[0], proc.stderr
    assert "falling back to the rule-based style block" in warnings[0]
    assert "style block (fallback: model unusable)" in proc.stdout, proc.stdout


def test_damaged_band_model_named_with_model_is_an_error(tmp_path):
    bad = tmp_path / "band.pt"
    bad.write_bytes(flip_weight_bytes(_needs(MODELS / "accompany-lstm.pt")))
    proc = run("jam", *JAM[3:], "--model", str(bad))
    assert_one_line_error(proc, str(bad))


# -- recordings -------------------------------------------------------------------------------
@pytest.mark.parametrize("journal", [noise(3000, seed=9), b"", b"# ensemble quartet\n",
                                     b"on nan 60 100 0 0\noff inf 60 0 0 0\nin 1.0 zz\n",
                                     b"on 1.0 300 100 0 0\non -5 60 100 0 0\n"])  # fmt: skip
def test_recover_on_a_journal_with_nothing_readable_says_so(tmp_path, journal):
    from instrument.live.record import recover

    take = tmp_path / "take"
    take.mkdir()
    (take / "journal.txt").write_bytes(journal)
    with pytest.raises(InstrumentError) as err:
        recover(take)
    assert_one_line(err.value, "journal.txt", "nothing recoverable")
    assert not (take / "input.mid").exists() and not (take / "arranged.mid").exists()


def test_recover_command_on_garbage_exits_non_zero(tmp_path):
    take = tmp_path / "take"
    take.mkdir()
    (take / "journal.txt").write_bytes(noise(3000, seed=10))
    assert_one_line_error(run("recover", str(take)), "nothing recoverable")


def test_unusable_default_ensemble_falls_back_to_the_built_in_one(tmp_path, capsys):
    """The ensemble configs/defaults.toml names is damaged: the quartet plays, and says so."""
    from unittest import mock

    from instrument.cli import options

    bad = tmp_path / "mine.toml"
    bad.write_bytes(ENSEMBLES["binary.toml"])
    for defaults, named in (({"ensemble": str(bad)}, str(bad)), ({"ensemble": 7}, "7")):
        with mock.patch.object(options, "load_defaults", lambda d=defaults: d):
            ensemble = options.default_ensemble()
        assert ensemble.name == "quartet"
        assert ensemble.title.endswith("(fallback: default ensemble unusable)")
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and err.startswith("instrument: warning:"), err
        assert named in err and "falling back to the quartet ensemble" in err


# -- the one helper every loader reads through -----------------------------------------------
def _raise(error: BaseException):
    raise error


@pytest.mark.parametrize("error", [
    IndexError("pop from empty list"),  # torch's weights-only unpickler on random bytes
    UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
    KeyError("state"), ValueError("x"), TypeError("y"), EOFError(), MemoryError(),
    RuntimeError("PytorchStreamReader failed\nreading zip archive"), OSError(5, "I/O error"),
    RecursionError("deep"), AttributeError("z"), AssertionError(),
], ids=lambda e: type(e).__name__)  # fmt: skip
def test_untrusted_turns_any_failure_into_one_line_naming_the_file(tmp_path, error):
    from instrument.errors import untrusted

    path = tmp_path / "thing.bin"
    path.write_bytes(b"\x00" * 10)
    with pytest.raises(InstrumentError) as err, untrusted(path, "thing"):
        _raise(error)
    assert_one_line(err.value, f"not a readable thing: {path}")


def test_untrusted_keeps_its_own_errors_and_lets_interrupts_through(tmp_path):
    import struct
    import warnings
    import zlib

    from instrument.errors import untrusted

    path = tmp_path / "thing.bin"
    with pytest.raises(InstrumentError, match="not found"), untrusted(path, "thing"):
        path.read_bytes()
    path.write_bytes(b"x")
    with pytest.raises(InstrumentError, match="^my own words$"), untrusted(path, "thing"):
        raise InstrumentError("my own words")
    with pytest.raises(KeyboardInterrupt), untrusted(path, "thing"):
        raise KeyboardInterrupt
    for error in (struct.error, zlib.error):
        with pytest.raises(InstrumentError), untrusted(path, "thing"):
            raise error("bad")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning would raise here: it is dropped inside
        with untrusted(path, "thing"):
            warnings.warn("pickle protocol 158", UserWarning, stacklevel=1)


@pytest.mark.parametrize("text", [b"sample_rate = -5\n", b"period = 'big'\n", b"gain = nan\n",
                                  b"ensemble = 3\n", b"audio = [1]\n", noise(200, seed=12),
                                  b"sample_rate = 48000\nperiod = 128\n[x\n"])  # fmt: skip
def test_damaged_defaults_file_is_a_one_line_error(tmp_path, text):
    from unittest import mock

    from instrument import ensemble

    (tmp_path / "defaults.toml").write_bytes(text)
    with mock.patch.object(ensemble, "CONFIGS", tmp_path), pytest.raises(InstrumentError) as err:
        ensemble.load_defaults()
    assert_one_line(err.value, "defaults.toml")
