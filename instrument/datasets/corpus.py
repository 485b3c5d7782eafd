"""Pieces for part assignment: every note of a multi-part piece with the part that plays it.

Data sets (``DATASETS``):

- ``bach``: the four-part Bach chorales of the music21 corpus (Soprano, Alto, Tenor, Bass).
- ``quartet``: string-quartet movements from the music21 corpus and the When in Rome
  quartet scores (``<data>/when-in-rome/Corpus/Quartets/*/*/*/score.mxl``).
- ``pop909``: POP909 songs, parts MELODY, BRIDGE, PIANO.
- ``pop``: POP909 for the pop band: Lead, Strings, Piano and the piano's bass line split
  off as Bass (``popband.pop_band_parts``).
- any folder of multitrack MIDI files (``midi_pieces``), one part per track.

Scores have no performance timing: their onsets in seconds are the score's quarter notes
at ``SCORE_BPM``. Parsing scores with music21 is slow, so each parsed piece is cached as
an ``.npz`` under ``cache_dir()`` (``$INSTRUMENT_CACHE`` or ``<repo>/.cache/instrument``,
ignored by git) and re-read from there.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from instrument.errors import InstrumentError
from instrument.paths import ROOT, data_dir

SCORE_BPM = 90.0  # the nominal tempo at which score onsets become seconds
CACHE_VERSION = 1

BACH_PARTS = ("Soprano", "Alto", "Tenor", "Bass")
QUARTET_PARTS = ("Violin I", "Violin II", "Viola", "Cello")
POP909_PARTS = ("Melody", "Bridge", "Piano")
POP_PARTS = ("Lead", "Strings", "Piano", "Bass")  # labelled by popband.pop_band_parts


@dataclass
class Piece:
    """One piece: n notes sorted by onset, then pitch (low to high), then part (low first).

    time, end: onset and release in seconds. pitch: MIDI numbers. velocity: 1-127 (scores:
    64). part: index into ``parts`` (0 = top part). beat: onset in quarter notes (scores,
    MIDI), NaN where unknown. has_velocity: whether velocities are real (MIDI) or filler.
    """

    id: str
    parts: tuple[str, ...]
    time: np.ndarray
    end: np.ndarray
    pitch: np.ndarray
    velocity: np.ndarray
    part: np.ndarray
    beat: np.ndarray
    has_velocity: bool = False

    def __len__(self) -> int:
        return len(self.pitch)

    @classmethod
    def from_notes(
        cls,
        id: str,
        parts: Iterable[str],
        notes: np.ndarray,
        part: np.ndarray,
        beat: np.ndarray | None = None,
        has_velocity: bool = False,
    ) -> Piece:
        """From an (n, 4) array of (onset_s, end_s, pitch, velocity) and part indices."""
        notes = np.asarray(notes, dtype=np.float64).reshape(-1, 4)
        part = np.asarray(part, dtype=np.int64)
        beat = np.full(len(notes), np.nan) if beat is None else np.asarray(beat, np.float64)
        order = np.lexsort((-part, notes[:, 2], notes[:, 0]))
        return cls(
            id=id,
            parts=tuple(parts),
            time=notes[order, 0],
            end=np.maximum(notes[order, 1], notes[order, 0]),
            pitch=notes[order, 2].astype(np.int64),
            velocity=np.clip(notes[order, 3], 1, 127).astype(np.int64),
            part=part[order],
            beat=beat[order],
            has_velocity=has_velocity,
        )

    def transposed(self, semitones: int) -> Piece:
        """The piece shifted by ``semitones`` (pitches clipped to 0-127)."""
        p = np.clip(self.pitch + semitones, 0, 127)
        return Piece(
            self.id,
            self.parts,
            self.time,
            self.end,
            p,
            self.velocity,
            self.part,
            self.beat,
            self.has_velocity,
        )


# ---------------------------------------------------------------- cache


def cache_dir() -> Path:
    """Where parsed pieces are kept: ``$INSTRUMENT_CACHE`` or ``<repo>/.cache/instrument``."""
    env = os.environ.get("INSTRUMENT_CACHE")
    return Path(env) if env else ROOT / ".cache" / "instrument"


def _cache_file(dataset: str, piece_id: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", piece_id)
    return cache_dir() / f"v{CACHE_VERSION}" / dataset / f"{safe}.npz"


def _save(dataset: str, piece: Piece) -> None:
    path = _cache_file(dataset, piece.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(
        tmp,
        meta=json.dumps({"id": piece.id, "parts": piece.parts, "vel": piece.has_velocity}),
        time=piece.time,
        end=piece.end,
        pitch=piece.pitch,
        velocity=piece.velocity,
        part=piece.part,
        beat=piece.beat,
    )
    os.replace(tmp, path)


def _load_cached(dataset: str, piece_id: str) -> Piece | None:
    path = _cache_file(dataset, piece_id)
    if not path.exists():
        return None
    try:
        with np.load(path) as z:
            meta = json.loads(str(z["meta"]))
            return Piece(
                meta["id"],
                tuple(meta["parts"]),
                z["time"],
                z["end"],
                z["pitch"],
                z["velocity"],
                z["part"],
                z["beat"],
                bool(meta["vel"]),
            )
    except (OSError, ValueError, KeyError):
        return None  # a damaged cache entry is re-parsed


# ---------------------------------------------------------------- scores (music21)


def score_piece(score, piece_id: str, part_names: tuple[str, ...]) -> Piece:
    """Notes of a music21 score with ``len(part_names)`` parts, top part first.

    Tied notes become one note; chords in a part (double stops) give one note per pitch;
    grace notes are skipped; repeats are not expanded. InstrumentError if the part count
    differs or there are no notes.
    """
    from music21.chord import ChordBase  # music21 loads only when a score is read

    parts = list(score.parts)
    if len(parts) != len(part_names):
        raise InstrumentError(f"{piece_id}: needs {len(part_names)} parts, found {len(parts)}")
    rows: list[tuple[float, float, int, int]] = []
    for k, part in enumerate(parts):
        open_ties: dict[int, int] = {}  # pitch -> row index of the note a tie continues
        for n in part.flatten().notes:
            ql = float(n.duration.quarterLength)
            if ql <= 0:
                continue
            onset = float(n.offset)
            for p in n.pitches:
                midi = int(p.midi)
                if isinstance(n, ChordBase):  # a chord's ties are its notes'
                    sub = [x for x in n.notes if x.pitch.midi == midi]
                    tie = sub[0].tie if sub else None
                else:
                    tie = n.tie
                kind = tie.type if tie is not None else None
                if kind in ("stop", "continue") and midi in open_ties:
                    i = open_ties[midi]
                    rows[i] = (rows[i][0], onset + ql, midi, k)
                    if kind == "stop":
                        del open_ties[midi]
                    continue
                rows.append((onset, onset + ql, midi, k))
                if kind == "start":
                    open_ties[midi] = len(rows) - 1
    if not rows:
        raise InstrumentError(f"{piece_id}: the score has no notes")
    a = np.asarray(rows, dtype=np.float64)
    sec = 60.0 / SCORE_BPM
    notes = np.column_stack([a[:, 0] * sec, a[:, 1] * sec, a[:, 2], np.full(len(a), 64.0)])
    return Piece.from_notes(piece_id, part_names, notes, a[:, 3].astype(np.int64), a[:, 0])


def _musicxml_without_harmony(path: Path) -> str:
    """The MusicXML text of a score with its <harmony> elements removed.

    The When in Rome quartet scores carry Roman numerals as MusicXML harmony ("F.I6"),
    which music21 rejects; part assignment needs only the notes.
    """
    import zipfile

    if path.suffix == ".mxl":
        with zipfile.ZipFile(path) as z:
            names = [
                n
                for n in z.namelist()
                if n.endswith((".xml", ".musicxml")) and not n.startswith("META-INF")
            ]
            if not names:
                raise InstrumentError(f"no MusicXML inside {path}")
            text = z.read(names[0]).decode("utf-8", errors="replace")
    else:
        text = path.read_text(errors="replace")
    return re.sub(r"<harmony\b.*?</harmony>", "", text, flags=re.S)


def _parse_score(path: Path):
    import zipfile

    import music21

    try:
        return music21.converter.parse(str(path))
    except Exception as first:  # music21 raises many unrelated types for a bad file
        if path.suffix in (".mxl", ".xml", ".musicxml"):
            try:
                text = _musicxml_without_harmony(path)
                return music21.converter.parseData(text, format="musicxml")
            except (InstrumentError, zipfile.BadZipFile):
                pass
            except Exception:
                pass
        raise InstrumentError(
            f"cannot parse score {path}: {type(first).__name__}: {first}"
        ) from None


def bach_sources() -> dict[str, Path]:
    """Chorale id (file stem, e.g. "bwv26.6") -> music21 corpus file; MusicXML preferred."""
    from music21 import corpus

    out: dict[str, Path] = {}
    for p in sorted(corpus.getComposer("bach"), key=str):
        p = Path(p)
        if p.suffix not in (".mxl", ".xml", ".krn"):
            continue
        if p.stem not in out or p.suffix in (".mxl", ".xml"):
            out[p.stem] = p
    return out


def bach_group(piece_id: str) -> str:
    """Editions of one chorale share a group: "bwv112.5-sc" and "bwv112.5" -> "bwv112.5"."""
    m = re.match(r"(bwv\d+(?:\.\d+)?)", piece_id)
    return m.group(1) if m else piece_id


def quartet_sources(data: str | os.PathLike | None = None) -> dict[str, Path]:
    """Quartet movement id -> score file.

    music21 corpus: "m21/beethoven/opus18no1/movement1"; When in Rome:
    "wir/Beethoven/Op018_No1/1". Humdrum duplicates of corpus MusicXML files are skipped.
    """
    from music21 import corpus

    out: dict[str, Path] = {}
    base = Path(corpus.__file__).parent
    for composer, pattern in (
        ("beethoven", "*"),
        ("haydn", "opus*"),
        ("mozart", "k*"),
        ("schumann_robert", "opus41*"),
    ):
        for p in sorted((base / composer).glob(f"{pattern}")):
            files = [p] if p.is_file() else sorted(p.glob("*"))
            for f in files:
                if f.suffix not in (".mxl", ".krn", ".xml") or "k545" in str(f):
                    continue
                rel = f.relative_to(base).with_suffix("")
                key = "m21/" + str(rel).replace(os.sep, "/")
                if key not in out or f.suffix == ".mxl":
                    out[key] = f
    wir = data_dir(data) / "when-in-rome" / "Corpus" / "Quartets"
    for f in sorted(wir.glob("*/*/*/score.mxl")):
        composer = f.parts[-4].split(",")[0]
        out[f"wir/{composer}/{f.parts[-3]}/{f.parts[-2]}"] = f
    return out


def quartet_group(piece_id: str) -> str:
    """All movements of one quartet (any edition) share a group: "beethoven-op18-1"."""
    low = piece_id.lower()
    composer = low.split("/")[1]
    m = re.search(r"op(?:us)?0*(\d+)(?:_?no0*(\d+))?", low) or re.search(r"k0*(\d+)()", low)
    if not m:
        return low
    return f"{composer}-op{m.group(1)}-{m.group(2) or 0}"


def load_score_piece(dataset: str, piece_id: str, path: Path) -> Piece:
    """One score, parsed once and then read from the cache."""
    cached = _load_cached(dataset, piece_id)
    if cached is not None:
        return cached
    names = BACH_PARTS if dataset == "bach" else QUARTET_PARTS
    piece = score_piece(_parse_score(path), piece_id, names)
    _save(dataset, piece)
    return piece


# ---------------------------------------------------------------- POP909 and MIDI


def pop909_piece(song_id: str, data: str | os.PathLike | None = None) -> Piece:
    from instrument.datasets import pop909

    cached = _load_cached("pop909", song_id)
    if cached is not None:
        return cached
    song = pop909.load_song(pop909.song_dir(song_id, data))
    notes, track = song.all_notes()
    piece = Piece.from_notes(song.id, POP909_PARTS, notes, track, has_velocity=True)
    _save("pop909", piece)
    return piece


def midi_piece(path: str | os.PathLike, n_parts: int | None = None) -> Piece:
    """A multitrack MIDI file as a piece: each track with notes is a part, in file order.

    Drum tracks (channel 10) are dropped. n_parts: require exactly this many parts.
    InstrumentError for an unreadable file, no notes, or a single part (nothing to assign).
    """
    from instrument.datasets.midi import read_tracks

    tracks = [t for t in read_tracks(path) if not t.is_drum]
    if len(tracks) < 2:
        raise InstrumentError(
            f"{Path(path).name}: needs at least 2 tracks with notes (parts), found {len(tracks)}"
        )
    if n_parts is not None and len(tracks) != n_parts:
        raise InstrumentError(f"{Path(path).name}: needs {n_parts} parts, found {len(tracks)}")
    notes = np.concatenate([t.notes for t in tracks])
    part = np.concatenate([np.full(len(t.notes), k) for k, t in enumerate(tracks)])
    beat = np.concatenate([t.beats for t in tracks])
    names = tuple(t.name or f"Track {t.index}" for t in tracks)
    return Piece.from_notes(Path(path).stem, names, notes, part, beat, has_velocity=True)


def midi_pieces(folder: str | os.PathLike, n_parts: int | None = None) -> list[Piece]:
    """Every ``*.mid``/``*.midi`` file under ``folder`` that has ``n_parts`` parts.

    Files that cannot be used are skipped with their reason printed; InstrumentError if none.
    """
    files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in (".mid", ".midi"))
    pieces = []
    for f in files:
        try:
            pieces.append(midi_piece(f, n_parts))
        except InstrumentError as e:
            print(f"skipped: {e}")
    if not pieces:
        raise InstrumentError(f"no usable multitrack MIDI files under {folder}")
    return pieces


# ---------------------------------------------------------------- data sets

DATASETS = ("bach", "quartet", "pop909", "pop")


def sources(dataset: str, data: str | os.PathLike | None = None) -> dict[str, Path | None]:
    """Piece id -> source file for a data set (POP909: id -> None)."""
    if dataset == "bach":
        return dict(bach_sources())
    if dataset == "quartet":
        return dict(quartet_sources(data))
    if dataset in ("pop909", "pop"):
        from instrument.datasets import pop909

        return {d.name: None for d in pop909.song_dirs(data)}
    raise InstrumentError(f"unknown data set {dataset!r} (known: {', '.join(DATASETS)})")


def split_name(dataset: str) -> str:
    """The split file a data set uses (``pop`` shares POP909's songs and split)."""
    return "pop909" if dataset == "pop" else dataset


def load_piece(dataset: str, piece_id: str, data: str | os.PathLike | None = None) -> Piece:
    if dataset == "pop909":
        return pop909_piece(piece_id, data)
    if dataset == "pop":
        from instrument.datasets.popband import pop_band_parts

        return pop_band_parts(pop909_piece(piece_id, data))
    src = sources(dataset, data)
    if piece_id not in src:
        raise InstrumentError(f"{dataset}: unknown piece {piece_id!r}")
    return load_score_piece(dataset, piece_id, src[piece_id])


def load_pieces(
    dataset: str,
    split: str,
    data: str | os.PathLike | None = None,
    limit: int | None = None,
    progress: bool = False,
) -> list[Piece]:
    """The pieces of one split of a data set (committed split lists), cached after parsing."""
    from instrument.datasets.splits import split_ids

    ids = split_ids(split_name(dataset), split)[:limit]
    src = sources(dataset, data) if dataset in ("bach", "quartet") else {}
    it: Iterable[str] = ids
    if progress:
        from tqdm import tqdm

        it = tqdm(ids, desc=f"{dataset} {split}", unit="piece")
    out = []
    for i in it:
        if dataset in ("bach", "quartet"):
            if i not in src:
                raise InstrumentError(f"{dataset}: split lists {i!r}, which is not in the data")
            out.append(load_score_piece(dataset, i, src[i]))
        else:
            out.append(load_piece(dataset, i, data))
    return out


def scan(dataset: str, data: str | os.PathLike | None = None, progress: bool = True):
    """Parse (and cache) every source of a score data set: (usable ids, {id: reason}).

    Used once to make the committed split; pieces with the wrong number of parts are
    left out with their reason.
    """
    src = sources(dataset, data)
    it: Iterable[str] = sorted(src)
    if progress:
        from tqdm import tqdm

        it = tqdm(list(it), desc=f"parse {dataset}", unit="piece")
    ok, bad = [], {}
    for i in it:
        try:
            piece = load_piece(dataset, i, data)
        except InstrumentError as e:
            bad[i] = str(e)
            continue
        if len(piece) >= 8:
            ok.append(i)
        else:
            bad[i] = "fewer than 8 notes"
    return ok, bad


def group_of(dataset: str, piece_id: str) -> str:
    if dataset == "bach":
        return bach_group(piece_id)
    if dataset == "quartet":
        return quartet_group(piece_id)
    return piece_id


def make_dataset_split(dataset: str, seed: int = 0) -> dict[str, list[str]]:
    """Make and write ``configs/splits/<dataset>.json``: 8:1:1 by group (see ``group_of``)."""
    from instrument.datasets.splits import make_split, write_split

    if dataset in ("bach", "quartet"):
        ids, bad = scan(dataset)
        for i, why in sorted(bad.items()):
            print(f"left out {i}: {why}")
    else:
        ids = sorted(sources(dataset))
    groups: dict[str, list[str]] = {}
    for i in ids:
        groups.setdefault(group_of(dataset, i), []).append(i)
    split = make_split(groups, seed=seed)
    method = (
        f"8:1:1 by piece group ({len(groups)} groups, {len(ids)} pieces; editions/movements of "
        f"one work share a group), groups shuffled with numpy default_rng({seed}); made by "
        f"`python -m instrument.datasets.corpus {dataset}`"
    )
    write_split(split_name(dataset), split, method)
    return split


if __name__ == "__main__":
    import sys

    for name in sys.argv[1:] or ["bach", "quartet"]:
        s = make_dataset_split(name)
        print(name, {k: len(v) for k, v in s.items()})
