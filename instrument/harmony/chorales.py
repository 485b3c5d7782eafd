"""Chord naming scored against the When in Rome Roman-numeral analyses of the Bach chorales.

Each RomanText analysis (``when-in-rome/.../Chorales/NNN/analysis.txt``) is aligned with
its score from the music21 corpus (``remote.json`` names it) by offset. For every Roman
numeral the reference chord is its root, quality and bass; ours is named from the notes
of the chorale: at the numeral's onset (``onset``), and as the chord sounding longest
over the numeral's span (``span``, passing tones then weigh less). Two baselines name the
root from the same onset notes: the lowest note, and music21's ``Chord.root()``.
Where the corpus score is a transposed edition, the reference is transposed to match.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from instrument.harmony.chords import Chord, closest_quality
from instrument.harmony.naming import name_chord
from instrument.paths import data_dir

TRIAD = {
    "maj": "maj", "7": "maj", "maj7": "maj", "6": "maj", "add9": "maj", "9": "maj",
    "maj9": "maj", "13": "maj", "7b9": "maj", "7#9": "maj", "5": "maj",
    "min": "min", "m7": "min", "m6": "min", "mMaj7": "min", "m9": "min", "m11": "min",
    "madd9": "min", "dim": "dim", "dim7": "dim", "m7b5": "dim", "aug": "aug",
    "sus2": "sus", "sus4": "sus", "7sus4": "sus", "11": "sus",
}  # fmt: skip
CHORALES = Path("when-in-rome/Corpus/Early_Choral/Bach,_Johann_Sebastian/Chorales")


@dataclass
class Tally:
    n: int = 0
    transposed: int = 0  # chorales whose score is in another key than the analysis
    hits: Counter = field(default_factory=Counter)

    def add(self, **hits: bool) -> None:
        self.n += 1
        self.hits.update(k for k, v in hits.items() if v)

    def rate(self, key: str) -> float:
        return self.hits[key] / self.n if self.n else 0.0


def agree(c: Chord | None, ref: Chord, level: str) -> bool:
    """Whether ``c`` matches ``ref`` at ``level``: "root", "triad" (root and triad type) or
    "exact" (root and quality; the bass is scored separately)."""
    if c is None:
        return False
    if level == "root":
        return c.root == ref.root
    if level == "triad":
        return c.root == ref.root and TRIAD[c.quality] == TRIAD[ref.quality]
    return c.root == ref.root and c.quality == ref.quality


def reference_chord(rn) -> Chord:
    root = rn.root().pitchClass
    intervals = frozenset((p.pitchClass - root) % 12 for p in rn.pitches)
    return Chord(root, closest_quality(intervals), rn.bass().pitchClass)


def transposition(refs: list[Chord], basses: list[int]) -> int:
    """Semitones from the analysis's key to the score's (some music21 editions are
    transposed): the shift that makes the numerals' bass notes agree most often with the
    lowest sounding notes. It uses no chord naming, so it is the same for every method."""
    votes = [
        sum((r.bass_pc + t) % 12 == b for r, b in zip(refs, basses, strict=True)) for t in range(12)
    ]
    return max(range(12), key=lambda t: (votes[t], t == 0))


def score_chorale(folder: Path, tally: Tally) -> int:
    """Add one chorale's numerals to ``tally``; returns how many were scored."""
    import music21

    remote = json.loads((folder / "remote.json").read_text())
    name = remote["remote_score_music21"].removesuffix(".mxl")
    analysis = music21.converter.parse(str(folder / "analysis.txt"), format="romanText")
    score = music21.corpus.parse(name)
    slices = [
        (float(c.getOffsetInHierarchy(score)), float(c.quarterLength), c)
        for c in score.chordify().recurse().getElementsByClass("Chord")
    ]
    aligned = []  # (numeral, start, end, onset chord)
    for rn in analysis.recurse().getElementsByClass("RomanNumeral"):
        start = float(rn.getOffsetInHierarchy(analysis))
        at = [s for s in slices if s[0] <= start < s[0] + s[1]]
        if at:
            aligned.append((rn, start, start + float(rn.quarterLength), at[0][2]))
    if not aligned:
        return 0
    refs = [reference_chord(rn) for rn, *_ in aligned]
    shift = transposition(refs, [min(p.midi for p in c.pitches) % 12 for *_, c in aligned])
    tally.transposed += shift != 0
    count = 0
    for (_, start, end, onset_chord), ref in zip(aligned, refs, strict=True):
        pitches = [p.midi for p in onset_chord.pitches]
        ref = ref.transpose(shift)
        ours = name_chord(pitches)
        weights: Counter = Counter()
        for s0, dur, c in slices:
            overlap = min(end, s0 + dur) - max(start, s0)
            named = name_chord([p.midi for p in c.pitches]) if overlap > 0 else None
            if named is not None:
                weights[named.without_bass()] += overlap
        span = weights.most_common(1)[0][0] if weights else None

        def same(c: Chord | None, level: str, ref: Chord = ref) -> bool:
            return agree(c, ref, level)

        tally.add(
            onset_root=same(ours, "root"),
            onset_triad=same(ours, "triad"),
            onset_exact=same(ours, "exact"),
            onset_bass=ours is not None and ours.bass_pc == ref.bass_pc,
            span_root=same(span, "root"),
            span_triad=same(span, "triad"),
            span_exact=same(span, "exact"),
            lowest_root=min(pitches) % 12 == ref.root,
            music21_root=onset_chord.root().pitchClass == ref.root,
            # the same notes read as an added-sixth chord on the bass (ii6/5 as IV6)
            sixth_reading=ours is not None
            and ours.quality in ("6", "m6")
            and ref.quality in ("m7", "m7b5")
            and ref.root == (ours.root + 9) % 12,
        )
        count += 1
    return count


def chorale_folders(data: str | None = None) -> list[Path]:
    root = data_dir(data) / CHORALES
    return sorted(p for p in root.glob("[0-9][0-9][0-9]") if (p / "analysis.txt").exists())
