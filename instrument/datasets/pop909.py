"""POP909: 909 Chinese pop songs as piano arrangements with beats, chords and keys.

Folder layout (``<data>/pop909/POP909/NNN/``, see its README): ``NNN.mid`` with tracks
MELODY (sung melody), BRIDGE (secondary melody) and PIANO (accompaniment);
``beat_midi.txt`` (beat times); ``chord_midi.txt`` (chord spans); ``key_audio.txt`` (key
spans, from the audio, so only roughly aligned with the MIDI). The ``*_midi`` files are
time-aligned to the MIDI file and are what this module reads.

Usage::

    from instrument.datasets import pop909
    from instrument.datasets.splits import split_ids

    test = [pop909.load_song(pop909.song_dir(i)) for i in split_ids("pop909", "test")]
    song = test[0]
    song.notes["MELODY"]      # (n, 4) float array: onset_s, end_s, pitch, velocity
    song.beats, song.downbeats, song.chords, song.keys

The committed split (``configs/splits/pop909.json``, 728/91/90 songs) is by song; POP909
has one arrangement per song, so no song appears in two splits.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from instrument.datasets.midi import read_tracks, track_by_name
from instrument.errors import InstrumentError
from instrument.paths import data_dir

TRACKS = ("MELODY", "BRIDGE", "PIANO")


@dataclass
class Pop909Song:
    """One POP909 song; all times in seconds from the start of the MIDI file.

    id: "001".."909". midi_path: the song's MIDI file.
    notes: track name (MELODY, BRIDGE, PIANO) -> float64 (n, 4) array of
        (onset_s, end_s, pitch, velocity), sorted by onset then pitch; may have 0 rows.
    beats: float64 (n_beats,) beat times.
    downbeats: bool (n_beats,), True where a measure starts (column 2 of beat_midi.txt;
        a measure has ``beats_per_measure`` beats).
    hyper_downbeats: bool (n_beats,), every second measure (column 3 of beat_midi.txt);
        for the many songs with 2-beat measures these are the bar lines of 4/4.
    chords: list of (start_s, end_s, label), labels in Harte-like form "C:maj", "A:min7",
        "N" for no chord.
    keys: list of (start_s, end_s, label) like "Gb:maj" (from the audio: approximate).
    beats_per_measure, quavers_per_beat: from the data set's index (None if unknown).
    name, artist: from the index (may be empty).
    """

    id: str
    midi_path: Path
    notes: dict[str, np.ndarray]
    beats: np.ndarray
    downbeats: np.ndarray
    hyper_downbeats: np.ndarray
    chords: list[tuple[float, float, str]]
    keys: list[tuple[float, float, str]] = field(default_factory=list)
    beats_per_measure: int | None = None
    quavers_per_beat: int | None = None
    name: str = ""
    artist: str = ""

    def all_notes(self) -> tuple[np.ndarray, np.ndarray]:
        """Every note of the three tracks: ((n, 4) notes sorted by onset, pitch; (n,) track
        index into ``TRACKS``)."""
        arrays = [self.notes[t] for t in TRACKS]
        notes = np.concatenate(arrays)
        track = np.concatenate([np.full(len(a), k) for k, a in enumerate(arrays)])
        order = np.lexsort((notes[:, 2], notes[:, 0]))
        return notes[order], track[order]


def root(data: str | os.PathLike | None = None) -> Path:
    """The folder holding the NNN/ song folders; InstrumentError if absent."""
    path = data_dir(data) / "pop909" / "POP909"
    if not path.is_dir():
        raise InstrumentError(f"POP909 not found: {path} (see ../shared/data/README.md)")
    return path


def song_dirs(data: str | os.PathLike | None = None) -> list[Path]:
    """The 909 song folders ``.../POP909/NNN/``, sorted by id.

    data: the music data folder (default ``instrument.paths.data_dir()``); either it or
    the POP909 folder itself may be given.
    """
    base = Path(data) if data is not None else None
    if base is not None and base.name == "POP909" and base.is_dir():
        folder = base
    else:
        folder = root(data)
    return sorted(p for p in folder.iterdir() if p.is_dir() and p.name.isdigit())


def song_dir(song_id: str | int, data: str | os.PathLike | None = None) -> Path:
    """The folder of song ``song_id`` (``7``, ``"7"`` and ``"007"`` are the same song)."""
    return root(data) / f"{int(song_id):03d}"


def _read_table(path: Path, ncols: int) -> list[list[str]]:
    rows = []
    for i, line in enumerate(path.read_text().splitlines()):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < ncols:
            raise InstrumentError(f"{path}: line {i + 1} needs {ncols} columns: {line!r}")
        rows.append(parts)
    return rows


def read_beats(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``beat_midi.txt``: (times, measure-start flags, every-second-measure flags)."""
    rows = _read_table(path, 3)
    try:
        a = np.array([[float(x) for x in r[:3]] for r in rows], dtype=np.float64).reshape(-1, 3)
    except ValueError as e:
        raise InstrumentError(f"{path}: {e}") from None
    return a[:, 0], a[:, 1] > 0.5, a[:, 2] > 0.5


def read_spans(path: Path) -> list[tuple[float, float, str]]:
    """``chord_midi.txt`` / ``key_audio.txt``: (start_s, end_s, label) per line."""
    out = []
    for r in _read_table(path, 3):
        try:
            out.append((float(r[0]), float(r[1]), " ".join(r[2:])))
        except ValueError as e:
            raise InstrumentError(f"{path}: {e}") from None
    return out


@lru_cache(maxsize=2)
def _index(folder: Path) -> dict[str, tuple[str, str, int | None, int | None]]:
    """index.xlsx rows: id -> (name, artist, beats_per_measure, quavers_per_beat).

    Read with the standard library (an .xlsx is zipped XML), so no spreadsheet package.
    """
    path = folder / "index.xlsx"
    if not path.exists():
        return {}
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    try:
        with zipfile.ZipFile(path) as z:
            sheet = ET.fromstring(z.read("xl/worksheets/sheet1.xml"))
    except (zipfile.BadZipFile, KeyError, ET.ParseError):
        return {}
    out = {}
    for row in list(sheet.iter(f"{ns}row"))[1:]:
        cells = ["".join(t.text or "" for t in c.iter(f"{ns}t")) for c in row.findall(f"{ns}c")]
        if len(cells) < 6:
            continue

        def num(x: str) -> int | None:
            return int(x) if x.strip().isdigit() else None

        out[cells[0].zfill(3)] = (cells[1], cells[2], num(cells[4]), num(cells[5]))
    return out


def load_song(path: str | os.PathLike) -> Pop909Song:
    """Read one song folder ``.../POP909/NNN/``; InstrumentError naming what is wrong."""
    folder = Path(path)
    song_id = folder.name
    midi_path = folder / f"{song_id}.mid"
    if not folder.is_dir():
        raise InstrumentError(f"not a POP909 song folder: {folder}")
    if not midi_path.exists():
        raise InstrumentError(f"POP909 song {song_id}: missing {midi_path.name} in {folder}")
    tracks = read_tracks(midi_path, keep_empty=True)
    notes = {t: track_by_name(tracks, t, midi_path).notes for t in TRACKS}
    beat_file = folder / "beat_midi.txt"
    chord_file = folder / "chord_midi.txt"
    for f in (beat_file, chord_file):
        if not f.exists():
            raise InstrumentError(f"POP909 song {song_id}: missing {f.name} in {folder}")
    beats, downbeats, hyper = read_beats(beat_file)
    key_file = folder / "key_audio.txt"
    keys = read_spans(key_file) if key_file.exists() else []
    name, artist, bpm, qpb = _index(folder.parent).get(song_id, ("", "", None, None))
    return Pop909Song(
        id=song_id,
        midi_path=midi_path,
        notes=notes,
        beats=beats,
        downbeats=downbeats,
        hyper_downbeats=hyper,
        chords=read_spans(chord_file),
        keys=keys,
        beats_per_measure=bpm,
        quavers_per_beat=qpb,
        name=name,
        artist=artist,
    )


def load_split(split: str, data: str | os.PathLike | None = None) -> list[Pop909Song]:
    """All songs of ``split`` ("train", "valid", "test") of the committed split."""
    from instrument.datasets.splits import split_ids

    return [load_song(song_dir(i, data)) for i in split_ids("pop909", split)]
