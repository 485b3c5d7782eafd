"""Chord symbols: one ``Chord`` type, parsed from lead-sheet spellings and Harte labels.

A chord is a root pitch class (0 = C .. 11 = B), a quality (a key of ``QUALITIES``) and an
optional bass pitch class for slash chords and inversions. ``NO_CHORD`` stands for "N" /
"N.C." (silence or no harmony).

Accepted spellings (``parse_chord``)::

    C  Cm  Cdim  Caug  C+  Csus2  Csus4  Csus  C5  C6  Cm6  C7  Cmaj7  CM7  CΔ7  Cm7  C-7
    CmMaj7  Cm(maj7)  Cm7b5  Cø  Cdim7  Co7  C7sus4  C9  Cmaj9  Cm9  Cadd9  C(add9)  Cmadd9
    C11  Cm11  C13  C7b9  C7#9       with roots A-G plus any of # b ♯ ♭
    Bb/D  G7/B  Am/G                 slash chords: the bass is a note name
    A:min7  C:maj/3  F#:maj7/5  Bb:sus4(b7)  C:(1,3,5,b7)  N  X     Harte labels (POP909,
                                     Billboard): the bass after "/" is a scale degree

Harte labels outside the table (``C:maj6(9)``, ``G:sus4(b7,9)``) are mapped to the
closest quality here by pitch-class fit, so any corpus label yields a usable chord.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from instrument.errors import InstrumentError

# Sharps for C#/F#, flats elsewhere: the spelling most lead sheets use out of key context.
PITCH_NAMES: tuple[str, ...] = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
SHARP_NAMES: tuple[str, ...] = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLAT_NAMES: tuple[str, ...] = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
# Minor-family chords: C#m and G#m are what lead sheets write, not Dbm and Abm.
MINOR_NAMES: tuple[str, ...] = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
_MINOR_FAMILY = {"min", "m7", "m6", "mMaj7", "m7b5", "dim", "dim7", "madd9", "m9", "m11"}
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


@dataclass(frozen=True)
class Quality:
    """A chord quality: ``required`` intervals must sound, ``optional`` ones may.

    Intervals are semitones above the root, reduced to one octave (a 9th is 2).
    ``suffix`` is the canonical lead-sheet suffix, ``harte`` the Harte shorthand.
    """

    name: str
    required: frozenset[int]
    optional: frozenset[int]
    suffix: str
    harte: str

    @property
    def intervals(self) -> frozenset[int]:
        return self.required | self.optional


def _q(name: str, req: tuple[int, ...], opt: tuple[int, ...], suffix: str, harte: str) -> Quality:
    return Quality(name, frozenset(req), frozenset(opt), suffix, harte)


# Order matters: on an exact tie, chord naming prefers the earlier (more common) quality.
# A plain perfect fifth is optional unless noted; altered fifths are required.
QUALITIES: dict[str, Quality] = {
    q.name: q
    for q in (
        _q("maj", (0, 4), (7,), "", "maj"),
        _q("min", (0, 3), (7,), "m", "min"),
        _q("7", (0, 4, 10), (7,), "7", "7"),
        _q("m7", (0, 3, 10), (7,), "m7", "min7"),
        _q("maj7", (0, 4, 11), (7,), "maj7", "maj7"),
        # Without their fifth, sus and 6 chords would be other chords' inversions
        # (C-F is F5/C, Eb-Gb-C is Cdim/Eb), so their fifth is required.
        _q("sus4", (0, 5, 7), (), "sus4", "sus4"),
        _q("sus2", (0, 2, 7), (), "sus2", "sus2"),
        _q("dim", (0, 3, 6), (), "dim", "dim"),
        _q("m7b5", (0, 3, 6, 10), (), "m7b5", "hdim7"),
        _q("aug", (0, 4, 8), (), "aug", "aug"),
        _q("6", (0, 4, 7, 9), (), "6", "maj6"),
        _q("m6", (0, 3, 7, 9), (), "m6", "min6"),
        _q("dim7", (0, 3, 6, 9), (), "dim7", "dim7"),
        _q("mMaj7", (0, 3, 11), (7,), "mMaj7", "minmaj7"),
        _q("add9", (0, 2, 4), (7,), "add9", "maj(9)"),
        _q("madd9", (0, 2, 3), (7,), "madd9", "min(9)"),
        _q("7sus4", (0, 5, 10), (7,), "7sus4", "sus4(b7)"),
        _q("9", (0, 2, 4, 10), (7,), "9", "9"),
        _q("maj9", (0, 2, 4, 11), (7,), "maj9", "maj9"),
        _q("m9", (0, 2, 3, 10), (7,), "m9", "min9"),
        # 11 and 13 chords are usually voiced without the clashing 3rd / 11th.
        _q("11", (0, 2, 5, 10), (4, 7), "11", "11"),
        _q("m11", (0, 3, 5, 10), (2, 7), "m11", "min11"),
        _q("13", (0, 4, 9, 10), (2, 7), "13", "13"),
        _q("7b9", (0, 1, 4, 10), (7,), "7b9", "7(b9)"),
        _q("7#9", (0, 3, 4, 10), (7,), "7#9", "7(#9)"),
        _q("5", (0, 7), (), "5", "5"),
    )
}

# Lead-sheet suffix spellings (after removing spaces and parentheses) -> quality name.
_SUFFIXES: dict[str, str] = {
    "": "maj",
    "M": "maj",
    "maj": "maj",
    "major": "maj",
    "Δ": "maj",
    "m": "min",
    "min": "min",
    "mi": "min",
    "-": "min",
    "minor": "min",
    "dim": "dim",
    "o": "dim",
    "°": "dim",
    "mb5": "dim",
    "aug": "aug",
    "+": "aug",
    "#5": "aug",
    "+5": "aug",
    "sus2": "sus2",
    "sus4": "sus4",
    "sus": "sus4",
    "5": "5",
    "6": "6",
    "maj6": "6",
    "M6": "6",
    "add6": "6",
    "m6": "m6",
    "min6": "m6",
    "-6": "m6",
    "7": "7",
    "dom7": "7",
    "dom": "7",
    "maj7": "maj7",
    "M7": "maj7",
    "Δ7": "maj7",
    "ma7": "maj7",
    "j7": "maj7",
    "m7": "m7",
    "min7": "m7",
    "-7": "m7",
    "mi7": "m7",
    "mMaj7": "mMaj7",
    "mM7": "mMaj7",
    "mmaj7": "mMaj7",
    "minmaj7": "mMaj7",
    "-maj7": "mMaj7",
    "-Δ7": "mMaj7",
    "mΔ7": "mMaj7",
    "m7b5": "m7b5",
    "m7-5": "m7b5",
    "ø": "m7b5",
    "ø7": "m7b5",
    "min7b5": "m7b5",
    "-7b5": "m7b5",
    "hdim7": "m7b5",
    "hdim": "m7b5",
    "dim7": "dim7",
    "o7": "dim7",
    "°7": "dim7",
    "7sus4": "7sus4",
    "7sus": "7sus4",
    "sus7": "7sus4",
    "9sus4": "11",
    "9sus": "11",
    "9": "9",
    "maj9": "maj9",
    "M9": "maj9",
    "Δ9": "maj9",
    "m9": "m9",
    "min9": "m9",
    "-9": "m9",
    "add9": "add9",
    "add2": "add9",
    "2": "add9",
    "madd9": "madd9",
    "m(add9)": "madd9",
    "minadd9": "madd9",
    "madd2": "madd9",
    "11": "11",
    "m11": "m11",
    "min11": "m11",
    "-11": "m11",
    "13": "13",
    "7b9": "7b9",
    "7-9": "7b9",
    "7#9": "7#9",
    "7+9": "7#9",
}

# Harte shorthands that are not canonical names of a quality above.
_HARTE_SHORTHAND: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "dim": (0, 3, 6),
    "aug": (0, 4, 8),
    "maj7": (0, 4, 7, 11),
    "min7": (0, 3, 7, 10),
    "7": (0, 4, 7, 10),
    "dim7": (0, 3, 6, 9),
    "hdim7": (0, 3, 6, 10),
    "minmaj7": (0, 3, 7, 11),
    "maj6": (0, 4, 7, 9),
    "min6": (0, 3, 7, 9),
    "9": (0, 4, 7, 10, 2),
    "maj9": (0, 4, 7, 11, 2),
    "min9": (0, 3, 7, 10, 2),
    "11": (0, 4, 7, 10, 2, 5),
    "min11": (0, 3, 7, 10, 2, 5),
    "13": (0, 4, 7, 10, 2, 9),
    "maj13": (0, 4, 7, 11, 2, 9),
    "min13": (0, 3, 7, 10, 2, 9),
    "sus2": (0, 2, 7),
    "sus4": (0, 5, 7),
    "5": (0, 7),
    "1": (0,),
}
_DEGREES = {"1": 0, "2": 2, "3": 4, "4": 5, "5": 7, "6": 9, "7": 11, "9": 2, "11": 5, "13": 9}


@dataclass(frozen=True)
class Chord:
    """A chord symbol. ``root`` and ``bass`` are pitch classes 0-11; ``root`` is None only
    for ``NO_CHORD``. ``bass`` is None when the root is in the bass (no slash)."""

    root: int | None
    quality: str = "maj"
    bass: int | None = None

    def __post_init__(self) -> None:
        if self.root is None:
            if self.quality != "N" or self.bass is not None:
                raise ValueError("a chord without a root must be NO_CHORD")
            return
        if self.quality not in QUALITIES:
            raise ValueError(f"unknown chord quality {self.quality!r}")
        if not 0 <= self.root < 12 or (self.bass is not None and not 0 <= self.bass < 12):
            raise ValueError("root and bass are pitch classes 0-11")
        if self.bass == self.root:
            object.__setattr__(self, "bass", None)

    @property
    def pitch_classes(self) -> frozenset[int]:
        """Every pitch class of the full chord (optional tones included) plus the bass."""
        if self.root is None:
            return frozenset()
        pcs = {(self.root + i) % 12 for i in QUALITIES[self.quality].intervals}
        if self.bass is not None:
            pcs.add(self.bass)
        return frozenset(pcs)

    @property
    def required_pitch_classes(self) -> frozenset[int]:
        """The pitch classes that must sound for the chord to be heard (fifth omitted)."""
        if self.root is None:
            return frozenset()
        pcs = {(self.root + i) % 12 for i in QUALITIES[self.quality].required}
        if self.bass is not None:
            pcs.add(self.bass)
        return frozenset(pcs)

    @property
    def bass_pc(self) -> int | None:
        """The pitch class that should sound lowest."""
        return self.root if self.bass is None else self.bass

    @property
    def name(self) -> str:
        """Canonical lead-sheet name, e.g. ``"Am7"``, ``"Bb/D"``, ``"F#m7b5"``, ``"N"``."""
        return self.spell()

    def spell(self, names: tuple[str, ...] | None = None) -> str:
        """The lead-sheet name with a chosen spelling table (``SHARP_NAMES``, ``FLAT_NAMES``);
        by default ``PITCH_NAMES``, or ``MINOR_NAMES`` for minor and diminished chords."""
        if self.root is None:
            return "N"
        if names is None:
            names = MINOR_NAMES if self.quality in _MINOR_FAMILY else PITCH_NAMES
        root = names[self.root]
        text = root + QUALITIES[self.quality].suffix
        return text if self.bass is None else f"{text}/{_spell_above(root, self.bass, names)}"

    @property
    def harte(self) -> str:
        """Harte label, e.g. ``"A:min7"``, ``"C:maj/3"`` (bass as a degree), ``"N"``."""
        if self.root is None:
            return "N"
        text = f"{PITCH_NAMES[self.root]}:{QUALITIES[self.quality].harte}"
        if self.bass is not None:
            text += "/" + _interval_degree((self.bass - self.root) % 12)
        return text

    def transpose(self, semitones: int) -> Chord:
        if self.root is None:
            return self
        bass = None if self.bass is None else (self.bass + semitones) % 12
        return Chord((self.root + semitones) % 12, self.quality, bass)

    def without_bass(self) -> Chord:
        return Chord(self.root, self.quality) if self.root is not None else self

    def __str__(self) -> str:
        return self.name


NO_CHORD = Chord(None, "N")


_LETTERS = "CDEFGAB"
_DEGREE_STEPS = (0, 1, 1, 2, 2, 3, 4, 4, 5, 5, 6, 6)  # letter steps for each interval


def _spell_above(root_name: str, pc: int, fallback: tuple[str, ...]) -> str:
    """Spell ``pc`` as the degree it is above ``root_name`` (F# -> C#, Bb -> D), so a
    slash bass agrees with its root; plain names where that needs Fb, B# or doubles."""
    root_pc = parse_pitch_class(root_name)
    letter = _LETTERS[(_LETTERS.index(root_name[0]) + _DEGREE_STEPS[(pc - root_pc) % 12]) % 7]
    shift = (pc - _LETTER_PC[letter] + 6) % 12 - 6
    name = letter + {-1: "b", 0: "", 1: "#"}.get(shift, "?")
    return fallback[pc] if "?" in name or name in ("Fb", "Cb", "E#", "B#") else name


_SHARP_KEYS = {"G", "D", "A", "E", "B", "F#", "C#", "Em", "Bm", "F#m", "C#m", "G#m", "D#m", "A#m"}
_FLAT_KEYS = {"F", "Bb", "Eb", "Ab", "Db", "Gb", "Cb", "Dm", "Gm", "Cm", "Fm", "Bbm", "Ebm", "Abm"}


def key_names(key: str | None) -> tuple[str, ...] | None:
    """The spelling table for a key like ``"E"``, ``"Bbm"`` or ``"F#:maj"`` (sharps for sharp
    keys, flats for flat keys); None for C, A minor or an unknown key (default spelling)."""
    if not key:
        return None
    k = key.strip().replace(":maj", "").replace(":min", "m").replace("minor", "m")
    k = k.replace(" ", "").replace("major", "")
    if k in _SHARP_KEYS:
        return SHARP_NAMES
    if k in _FLAT_KEYS:
        return FLAT_NAMES
    return None


def _interval_degree(semitones: int) -> str:
    return ("1", "b2", "2", "b3", "3", "4", "b5", "5", "b6", "6", "b7", "7")[semitones % 12]


def parse_pitch_class(text: str) -> int:
    """``"C"`` -> 0, ``"F#"`` -> 6, ``"Bb"`` -> 10, ``"Cb"`` -> 11; InstrumentError otherwise."""
    m = re.fullmatch(r"([A-Ga-g])([#b♯♭]*)", text.strip())
    if not m:
        raise InstrumentError(f"not a note name: {text!r}")
    pc = _LETTER_PC[m.group(1).upper()]
    pc += sum(1 if c in "#♯" else -1 for c in m.group(2))
    return pc % 12


_CHORD_RE = re.compile(r"([A-G])([#b♯♭]?)(.*)")


def parse_chord(text: str) -> Chord:
    """Parse a lead-sheet symbol or a Harte label (see the module docstring).

    Raises InstrumentError naming the symbol when it cannot be read.
    """
    s = text.strip()
    if s in ("N", "N.C.", "NC", "X", "n.c."):
        return NO_CHORD
    if ":" in s or s.startswith(("(",)):
        return _parse_harte(s)
    m = _CHORD_RE.fullmatch(s)
    if not m:
        raise InstrumentError(f"not a chord symbol: {text!r}")
    root = parse_pitch_class(m.group(1) + m.group(2))
    rest = m.group(3)
    bass = None
    # A slash followed by a note name is a bass; "m/maj7" and "6/9" are not slash chords.
    sm = re.search(r"/([A-G][#b♯♭]?)$", rest)
    if sm:
        bass = parse_pitch_class(sm.group(1))
        rest = rest[: sm.start()]
    key = rest.replace(" ", "")
    quality = _SUFFIXES.get(key) or _SUFFIXES.get(key.replace("(", "").replace(")", ""))
    if quality is None and key.startswith("(") and key.endswith(")"):
        quality = _SUFFIXES.get(key[1:-1])
    if quality is None:
        raise InstrumentError(f"unknown chord quality {rest!r} in {text!r}")
    return Chord(root, quality, bass)


def _degree_semitones(degree: str, label: str) -> int:
    m = re.fullmatch(r"([#b]*)(\d+)", degree.strip())
    if not m or m.group(2) not in _DEGREES:
        raise InstrumentError(f"bad degree {degree!r} in chord label {label!r}")
    return (_DEGREES[m.group(2)] + m.group(1).count("#") - m.group(1).count("b")) % 12


def _parse_harte(label: str) -> Chord:
    m = re.fullmatch(r"([A-G][#b]*):?([^(/]*)(\(([^)]*)\))?(/([#b]*\d+))?", label)
    if not m:
        raise InstrumentError(f"not a chord label: {label!r}")
    root = parse_pitch_class(m.group(1))
    shorthand = m.group(2) or ("" if m.group(3) else "maj")
    if shorthand and shorthand not in _HARTE_SHORTHAND:
        raise InstrumentError(f"unknown chord shorthand {shorthand!r} in {label!r}")
    intervals = set(_HARTE_SHORTHAND.get(shorthand, (0,)))
    for deg in filter(None, (d.strip() for d in (m.group(4) or "").split(","))):
        if deg.startswith("*"):
            intervals.discard(_degree_semitones(deg[1:], label))
        else:
            intervals.add(_degree_semitones(deg, label))
    bass = None if not m.group(6) else (root + _degree_semitones(m.group(6), label)) % 12
    exact = next(
        (q.name for q in QUALITIES.values() if q.harte == shorthand and not m.group(3)), None
    )
    quality = exact or closest_quality(frozenset(intervals))
    return Chord(root, quality, bass)


def quality_fit(intervals: frozenset[int], quality: Quality) -> float:
    """How well a set of intervals above a root matches a quality: 0 is exact, each
    missing required or unexplained interval costs 1."""
    missing = len(quality.required - intervals)
    extra = len(intervals - quality.intervals)
    return -(missing + extra)


def closest_quality(intervals: frozenset[int]) -> str:
    """The quality that best explains ``intervals`` (semitones above a known root)."""
    best = max(QUALITIES.values(), key=lambda q: quality_fit(intervals, q))
    return best.name
