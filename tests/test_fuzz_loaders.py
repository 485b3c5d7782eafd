"""Every loader, fuzzed: a damaged file loads or is one line naming it, never a traceback.

Each loader the app reads an untrusted file with gets the same treatment, all of it
deterministic (the same cases on every run and every machine):

- **seeded damage** (``damages``): a good file cut at five points and after its header,
  1 to 32 bits flipped, runs of it overwritten, random bytes, zeros, an empty file, a Git
  LFS pointer and a file of another kind, made by ``numpy``'s generator with a fixed seed;
- **hypothesis** (derandomized by ``tests/conftest.py``): edits of the good file (bytes
  replaced, inserted, deleted, then maybe cut short).

The property is the same for all: the loader returns, or raises ``InstrumentError`` with
one line naming the file. Any other exception fails the test. ``docs/reliability.md``
counts the cases per loader.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import mido
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from instrument.errors import InstrumentError
from instrument.paths import CONFIGS, MODELS

SEED = 11
LFS_POINTER = (b"version https://git-lfs.github.com/spec/v1\n"
               b"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
               b"size 1342177\n")  # fmt: skip


def damages(good: bytes, wrong: bytes, seed: int = SEED) -> dict[str, bytes]:
    """The ways a file gets damaged, each made from ``good`` by a seeded generator."""
    rng = np.random.default_rng(seed)
    n = len(good)
    out = {"empty": b"", "lfs-pointer": LFS_POINTER, "wrong-kind": wrong,
           "head-only": good[:64], "zeros": bytes(n)}  # fmt: skip
    for frac in (0.01, 0.25, 0.5, 0.9, 0.999):  # a full disk, an interrupted download
        out[f"cut-{frac}"] = good[: max(1, int(n * frac))]
    for k in range(6):  # 1, 2, 4, ... 32 flipped bits anywhere
        data = bytearray(good)
        for pos in rng.integers(0, n, size=1 << k):
            data[pos] ^= 1 << int(rng.integers(0, 8))
        out[f"bits-{1 << k}"] = bytes(data)
    for k in range(3):  # a run of garbage in the middle
        data = bytearray(good)
        length = int(rng.integers(16, 512))
        start = int(rng.integers(0, max(1, n - length)))
        data[start : start + length] = rng.bytes(min(length, n - start))
        out[f"run-{k}"] = bytes(data)
    for label, size in (("17", 17), ("1000", 1000), ("same-size", n)):
        out[f"random-{label}"] = rng.bytes(size)
    return out


DAMAGE_KINDS = len(damages(b"x" * 100, b"y"))

# Edits of the good file: replace, insert or delete a few bytes, then maybe cut it short.
edit = st.tuples(st.sampled_from(["replace", "insert", "delete"]), st.floats(0, 1),
                 st.binary(min_size=1, max_size=8))  # fmt: skip
edits = st.tuples(st.lists(edit, min_size=1, max_size=6), st.none() | st.floats(0, 1))


def apply_edits(good: bytes, plan) -> bytes:
    changes, cut = plan
    data = bytearray(good)
    for kind, where, blob in changes:
        i = int(where * max(0, len(data) - 1))
        if kind == "replace":
            data[i : i + len(blob)] = blob
        elif kind == "insert":
            data[i:i] = blob
        else:
            del data[i : i + len(blob)]
    return bytes(data[: int(cut * len(data))] if cut is not None else data)


def assert_loads_or_one_line(load: Callable[[Path], object], path: Path, name: str) -> None:
    try:
        load(path)
    except InstrumentError as e:
        text = str(e)
        assert text and "\n" not in text and "Traceback" not in text, text
        assert name in text, text
    # anything else propagates and fails the test


# -- the loaders ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Loader:
    suffix: str
    good: Callable[[Path], bytes]  # the good file's bytes (may build it in a folder)
    wrong: Callable[[Path], bytes]  # a file of another kind
    load: Callable[[Path], object]
    examples: int  # hypothesis examples per run
    name_in_error: Callable[[Path], str] = lambda p: p.name  # what the error must name


def _shipped(name: str) -> Callable[[Path], bytes]:
    def read(_tmp: Path) -> bytes:
        path = MODELS / name if not name.startswith("/") else Path(name)
        if not path.is_file():
            pytest.skip(f"{path} is not there")
        return path.read_bytes()

    return read


def _config(rel: str) -> Callable[[Path], bytes]:
    return lambda _tmp: (CONFIGS / rel).read_bytes()


def _load_arranger(path: Path):
    from instrument.arrange import model as M

    return M.load(path, "lstm", 4)


def _load_band(path: Path):
    from instrument.accompany.model import load_model

    return load_model(path)


def _load_chordlm_weights(path: Path):
    from instrument.harmony.chordlm import ChordGRU

    folder = path.parent
    if not (folder / "config.json").exists():
        shutil.copy(MODELS / "chordlm-gru" / "config.json", folder / "config.json")
    shutil.copy(path, folder / "weights.pt")
    return ChordGRU.load(folder)


def _load_chordlm_config(path: Path):
    from instrument.harmony.chordlm import ChordGRU

    folder = path.parent
    shutil.copy(path, folder / "config.json")
    if not (folder / "weights.pt").exists():
        shutil.copy(MODELS / "chordlm-gru" / "weights.pt", folder / "weights.pt")
    return ChordGRU.load(folder)


def _load_zone(path: Path):
    from instrument.arrange import zone
    from instrument.ensemble import load_ensemble

    with mock.patch.object(zone, "zone_path", lambda _e: path):
        return zone.load_learned_boundaries(load_ensemble("quartet"))


def _load_listener_chords(path: Path):
    from instrument.listen.chord import ChordModel

    return ChordModel.load(path)


def _load_ensemble(path: Path):
    from instrument.ensemble import load_ensemble

    return load_ensemble(path)


def _load_registration(path: Path):
    from instrument.registration import load_registration

    return load_registration(path)


def _load_chart(path: Path):
    from instrument.harmony.chart import load_chart

    return load_chart(path)


LEAD_SHEET = b"""<?xml version="1.0" encoding="UTF-8"?>
<score-partwise version="3.1">
 <part-list><score-part id="P1"><part-name>Lead</part-name></score-part></part-list>
 <part id="P1">
  <measure number="1">
   <attributes><divisions>1</divisions><time><beats>4</beats><beat-type>4</beat-type></time>
   </attributes>
   <harmony><root><root-step>C</root-step></root><kind>major</kind></harmony>
   <note><pitch><step>C</step><octave>5</octave></pitch><duration>4</duration></note>
  </measure>
  <measure number="2">
   <harmony><root><root-step>G</root-step></root><kind>dominant</kind></harmony>
   <note><pitch><step>B</step><octave>4</octave></pitch><duration>4</duration></note>
  </measure>
 </part>
</score-partwise>
"""


def _load_musicxml(path: Path):
    from instrument.harmony.imports import chart_from_musicxml

    return chart_from_musicxml(path)


def _small_soundfont(_tmp: Path) -> bytes:
    from instrument.synth import list_soundfonts

    fonts = sorted((p for p in list_soundfonts() if p.suffix == ".sf2"),
                   key=lambda p: p.stat().st_size)  # fmt: skip
    if not fonts:
        pytest.skip("no .sf2 SoundFont installed")
    return fonts[0].read_bytes()


def _load_soundfont(path: Path):
    from instrument.synth import Synth

    Synth(path, sample_rate=22050).close()


def _midi_bytes(_tmp: Path) -> bytes:
    """Two tracks: tempo and meter meta events, notes, pedal, pitch bend, a program."""
    import io

    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    meta = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=600000),
                           mido.MetaMessage("time_signature", numerator=3, denominator=4)])
    notes = mido.MidiTrack([mido.Message("program_change", program=40)])
    for k, p in enumerate((60, 64, 67, 72, 76)):
        notes += [mido.Message("note_on", note=p, velocity=90, time=120 * (k > 0)),
                  mido.Message("control_change", control=64, value=127, time=10),
                  mido.Message("pitchwheel", pitch=500, time=10),
                  mido.Message("note_off", note=p, velocity=0, time=200)]  # fmt: skip
    mid.tracks += [meta, notes]
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def _load_midi(path: Path):
    from instrument.input.midifile import keyboard_events, read_midi

    return keyboard_events(read_midi(path))


def _audio_bytes(fmt: str) -> Callable[[Path], bytes]:
    def make(tmp: Path) -> bytes:
        import soundfile

        t = np.arange(4410) / 22050
        path = tmp / f"good.{fmt.lower()}"
        soundfile.write(str(path), 0.3 * np.sin(2 * np.pi * 440 * t), 22050, format=fmt)
        return path.read_bytes()

    return make


def _load_audio(path: Path):
    from instrument.listen.audio import read_audio

    return read_audio(path)


def _history_bytes(tmp: Path) -> bytes:
    from instrument.practice.history import History

    path = tmp / "made.sqlite"
    with History(path) as h:
        for k in range(3):
            h.start_session(f"blues-{k}", "Blues", 100.0, False)
    # one file: fold the write-ahead log into the database before copying it
    import sqlite3

    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=DELETE")
    db.close()
    return path.read_bytes()


def _load_history(path: Path):
    from instrument.practice.history import History

    with History(path) as h:
        return h.sessions(), h.weakest_chords()


JOURNAL = ("# ensemble quartet\n"
           + "".join(f"in {0.1 * k:.6f} 90{60 + k:02x}64\non {0.1 * k:.6f} {60 + k} 100 {k % 4} "
                     f"{k % 4}\noff {0.1 * k + 0.05:.6f} {60 + k} 0 {k % 4} {k % 4}\n"
                     for k in range(12))).encode()  # fmt: skip


def _load_journal(path: Path):
    from instrument.live.record import recover

    take = path.parent / f"take-{path.stem}"
    take.mkdir(exist_ok=True)
    shutil.copy(path, take / "journal.txt")
    return recover(take)


LOADERS: dict[str, Loader] = {
    "arranger model": Loader(".pt", _shipped("quartet-lstm.pt"), _shipped("accompany-lstm.pt"),
                             _load_arranger, examples=100),
    "accompaniment model": Loader(".pt", _shipped("accompany-lstm.pt"),
                                  _shipped("quartet-lstm.pt"), _load_band, examples=100),
    "chord LM weights": Loader(".pt", _shipped("chordlm-gru/weights.pt"),
                               _shipped("quartet-lstm.pt"), _load_chordlm_weights,
                               name_in_error=lambda p: "weights.pt", examples=100),
    "chord LM config": Loader(".json", _shipped("chordlm-gru/config.json"),
                              _shipped("listen_chords.json"), _load_chordlm_config,
                              name_in_error=lambda p: "config.json", examples=200),
    "zone table": Loader(".json", _shipped("quartet-zone.json"), _shipped("listen_chords.json"),
                         _load_zone, examples=200),
    "listener chord model": Loader(".json", _shipped("listen_chords.json"),
                                   _shipped("quartet-zone.json"), _load_listener_chords,
                                   examples=200),
    "ensemble": Loader(".toml", _config("ensembles/quartet.toml"),
                       _config("exercises/blues-f.chart"), _load_ensemble, examples=300),
    "registration": Loader(".toml", _config("registrations/quartet.toml"),
                           _config("ensembles/quartet.toml"), _load_registration, examples=200),
    "chart": Loader(".chart", _config("exercises/ii-v-i-c.chart"),
                    _config("ensembles/quartet.toml"), _load_chart, examples=300),
    "MusicXML lead sheet": Loader(".musicxml", lambda _t: LEAD_SHEET, _midi_bytes,
                                  _load_musicxml, examples=100),
    "SoundFont": Loader(".sf2", _small_soundfont, _shipped("quartet-lstm.pt"), _load_soundfont,
                        examples=60),
    "MIDI file": Loader(".mid", _midi_bytes, _audio_bytes("WAV"), _load_midi, examples=300),
    "WAV audio": Loader(".wav", _audio_bytes("WAV"), _midi_bytes, _load_audio, examples=150),
    "FLAC audio": Loader(".flac", _audio_bytes("FLAC"), _midi_bytes, _load_audio, examples=150),
    "practice database": Loader(".sqlite", _history_bytes, _config("exercises/blues-f.chart"),
                                _load_history, examples=100),
    "take journal": Loader(".txt", lambda _t: JOURNAL, _midi_bytes, _load_journal,
                           name_in_error=lambda p: "journal.txt", examples=200),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """(good, wrong) bytes per loader, made once."""
    made: dict[str, tuple[bytes, bytes]] = {}

    def get(name: str) -> tuple[bytes, bytes]:
        if name not in made:
            tmp = tmp_path_factory.mktemp("good")
            spec = LOADERS[name]
            made[name] = (spec.good(tmp), spec.wrong(tmp))
        return made[name]

    return get


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_the_good_file_loads(files, tmp_path, name):
    """The undamaged file loads: the damage below is what makes a case fail."""
    spec = LOADERS[name]
    path = tmp_path / f"good{spec.suffix}"
    path.write_bytes(files(name)[0])
    spec.load(path)


CASES = [(name, kind) for name in sorted(LOADERS) for kind in damages(b"x" * 100, b"y")]


@pytest.mark.parametrize(("name", "kind"), CASES)
def test_seeded_damage_loads_or_is_one_line(files, tmp_path, name, kind):
    spec = LOADERS[name]
    good, wrong = files(name)
    path = tmp_path / f"{kind}{spec.suffix}"
    path.write_bytes(damages(good, wrong)[kind])
    assert_loads_or_one_line(spec.load, path, spec.name_in_error(path))


def _hypothesis_test(name: str):
    spec = LOADERS[name]

    @settings(max_examples=spec.examples, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])  # fmt: skip
    @given(plan=edits)
    def test(files, tmp_path_factory, plan):
        good, _ = files(name)
        path = tmp_path_factory.mktemp("fuzz") / f"edited{spec.suffix}"
        path.write_bytes(apply_edits(good, plan))
        assert_loads_or_one_line(spec.load, path, spec.name_in_error(path))

    return test


for _name in LOADERS:
    globals()[f"test_edited_{_name.replace(' ', '_').lower()}_loads_or_is_one_line"] = \
        _hypothesis_test(_name)


def test_case_counts_are_what_docs_reliability_md_says():
    """docs/reliability.md reports these counts; they must not drift apart."""
    doc = (Path(__file__).parent.parent / "docs" / "reliability.md").read_text()
    for name, spec in LOADERS.items():
        row = f"| {name} | {DAMAGE_KINDS} | {spec.examples} |"
        assert row in doc, f"docs/reliability.md lacks the row {row!r}"


def test_damage_is_the_same_on_every_run():
    a = damages(bytes(range(256)) * 8, b"w")
    b = damages(bytes(range(256)) * 8, b"w")
    assert a == b and len(set(a.values())) == len(a)  # deterministic, and all different
    assert json.dumps(sorted(a)) == json.dumps(sorted(b))
