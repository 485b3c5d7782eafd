"""Chord progressions from a few words, after Amuse (Kim, Lee, Donahue, CHI 2025).

1. ``text_attributes``: a keyword lexicon turns the text into valence and energy
   (-1..1), a mood word, a mode, a tempo and a chord colour (plain, sevenths, jazz, blues).
2. ``Proposer``: a first-order Markov chain over the chords of the key (diatonic chords,
   a few borrowed ones), its weights set by those attributes, proposes progressions;
   the probability q(x) of each proposal is known exactly.
3. Rejection sampling against the chord language model p (``chordlm``): a proposal x is
   kept with probability (p(x) / q(x))^(1-lam) / M, M the largest ratio in a pilot batch.
   Kept progressions follow p^(1-lam) q^lam (restricted to what the proposer can make):
   with lam = 0 the chord model alone, with lam = 1 the mood proposer alone.
   Amuse uses an LLM as the proposer; this one is small and inspectable, and the
   filtering step is the same.

Everything is key-relative ("C" is the tonic) until ``Suggestion.chords`` transposes it.
No model is downloaded: the lexicon is below, the chord model ships in models/.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from instrument.errors import InstrumentError
from instrument.harmony.chart import Chart, chart_from_chords
from instrument.harmony.chordlm import VOCAB, token_chord
from instrument.harmony.chords import Chord

# word stem -> (valence, energy); stems match the start of a word ("danc" ~ dance, dancing)
LEXICON: dict[str, tuple[float, float]] = {
    "happ": (0.9, 0.5), "joy": (0.9, 0.6), "bright": (0.7, 0.4), "sun": (0.7, 0.3),
    "summer": (0.6, 0.4), "beach": (0.5, 0.1), "warm": (0.5, -0.1), "love": (0.6, 0.0),
    "hope": (0.6, 0.1), "smil": (0.8, 0.3), "fun": (0.8, 0.6), "party": (0.7, 0.9),
    "danc": (0.6, 0.9), "celebrat": (0.9, 0.8), "triumph": (0.8, 0.8), "victor": (0.8, 0.8),
    "epic": (0.4, 0.9), "hero": (0.6, 0.8), "wedding": (0.8, 0.3), "spring": (0.7, 0.3),
    "morning": (0.5, 0.1), "friend": (0.6, 0.3), "road": (0.3, 0.5), "drive": (0.3, 0.6),
    "free": (0.6, 0.5), "fly": (0.5, 0.5), "sweet": (0.6, -0.2), "tender": (0.4, -0.5),
    "calm": (0.3, -0.8), "peace": (0.5, -0.8), "gentle": (0.3, -0.7), "soft": (0.2, -0.6),
    "sleep": (0.1, -0.9), "lullab": (0.3, -0.9), "dream": (0.2, -0.6), "relax": (0.4, -0.8),
    "quiet": (0.0, -0.8), "slow": (0.0, -0.7), "chill": (0.3, -0.6), "lazy": (0.2, -0.7),
    "ocean": (0.2, -0.3), "wave": (0.2, 0.0), "breeze": (0.4, -0.5), "sunset": (0.2, -0.4),
    "memor": (0.0, -0.4), "nostalg": (-0.1, -0.4), "remember": (0.0, -0.4),
    "bittersweet": (-0.1, -0.3), "longing": (-0.4, -0.3), "miss": (-0.5, -0.3),
    "sad": (-0.9, -0.5), "cry": (-0.8, -0.3), "tear": (-0.8, -0.4), "lonel": (-0.8, -0.5),
    "alone": (-0.6, -0.5), "melanchol": (-0.8, -0.4), "grief": (-0.9, -0.5),
    "loss": (-0.8, -0.4), "lost": (-0.6, -0.2), "goodbye": (-0.6, -0.3), "rain": (-0.4, -0.3),
    "grey": (-0.4, -0.4), "gray": (-0.4, -0.4), "winter": (-0.3, -0.3), "cold": (-0.4, -0.2),
    "night": (-0.2, -0.3), "midnight": (-0.1, -0.3), "dark": (-0.7, 0.1),
    "broken": (-0.8, -0.1), "heartbr": (-0.9, -0.2),
    "angr": (-0.7, 0.9), "rage": (-0.8, 1.0), "fight": (-0.5, 0.9), "storm": (-0.5, 0.8),
    "fear": (-0.8, 0.5), "scar": (-0.7, 0.6), "tens": (-0.5, 0.6), "myster": (-0.3, 0.1),
    "haunt": (-0.6, 0.0), "danger": (-0.6, 0.7), "chase": (-0.3, 0.9), "war": (-0.7, 0.9),
    "energ": (0.3, 0.9), "fast": (0.2, 0.8), "loud": (0.0, 0.8), "wild": (0.2, 0.9),
    "excit": (0.7, 0.9), "upbeat": (0.7, 0.8),
}  # fmt: skip
# stems that colour the chords rather than the mood
COLOURS = {
    "jazz": "jazz", "smooth": "jazz", "lounge": "jazz", "cocktail": "jazz", "bossa": "jazz",
    "soul": "sevenths", "r&b": "sevenths", "neo": "sevenths", "city": "sevenths",
    "blues": "blues", "rock": "plain", "folk": "plain", "country": "plain", "punk": "plain",
}  # fmt: skip
NEGATORS = {"not", "no", "never", "without"}


@dataclass(frozen=True)
class Attributes:
    """What the text asks for. valence, energy: -1..1; tempo in BPM."""

    mood: str
    mode: str
    tempo: int
    energy: float
    valence: float
    colour: str
    matched: tuple[str, ...] = ()


def text_attributes(text: str, mode: str | None = None) -> Attributes:
    """Keyword lexicon: the mean (valence, energy) of the matched words ("not happy"
    flips valence); an explicit ``mode`` (or the words major/minor) wins over valence."""
    words = re.findall(r"[a-z&']+", text.lower())
    vals, matched, colour = [], [], "plain"
    for i, w in enumerate(words):
        negated = i > 0 and words[i - 1] in NEGATORS
        for stem, (v, e) in LEXICON.items():
            if w.startswith(stem):
                vals.append((-v if negated else v, e))
                matched.append(("not " if negated else "") + w)
                break
        for stem, c in COLOURS.items():
            if w.startswith(stem):
                colour = c
        if w in ("minor", "major") and mode is None:
            mode = w
    valence = float(np.mean([v for v, _ in vals])) if vals else 0.1
    energy = float(np.mean([e for _, e in vals])) if vals else 0.0
    if mode is None:
        mode = "minor" if valence < -0.15 else "major"
    if mode not in ("major", "minor"):
        raise InstrumentError(f"mode must be major or minor, got {mode!r}")
    if abs(valence) < 0.2 and abs(energy) < 0.2:
        mood = "bittersweet" if vals else "neutral"
    elif valence >= 0:
        mood = "joyful" if energy >= 0 else "calm"
    else:
        mood = "tense" if energy >= 0 else "sad"
    tempo = int(round(100 + 40 * energy))
    return Attributes(
        mood, mode, tempo, round(energy, 3), round(valence, 3), colour, tuple(matched)
    )


# Chords the proposer may use: token -> (brightness 0..1, tension 0..1, function)
# T: tonic, S: predominant, D: dominant. Relative to the tonic, like the chord model.
_MAJOR = {
    "0:maj": (0.9, 0.0, "T"), "2:min": (0.4, 0.2, "S"), "4:min": (0.4, 0.1, "T"),
    "5:maj": (0.8, 0.1, "S"), "7:maj": (0.8, 0.4, "D"), "9:min": (0.3, 0.1, "T"),
    "10:maj": (0.6, 0.3, "S"), "5:min": (0.1, 0.3, "S"), "8:maj": (0.4, 0.3, "S"),
    "7:sus": (0.6, 0.5, "D"), "2:maj": (0.7, 0.4, "S"),
}  # fmt: skip
_MINOR = {
    "0:min": (0.1, 0.0, "T"), "5:min": (0.1, 0.2, "S"), "7:min": (0.2, 0.3, "D"),
    "7:maj": (0.5, 0.6, "D"), "8:maj": (0.5, 0.2, "S"), "3:maj": (0.7, 0.1, "T"),
    "10:maj": (0.6, 0.3, "D"), "2:dim": (0.1, 0.7, "S"), "0:sus": (0.3, 0.4, "T"),
}  # fmt: skip
_SEVENTHS = {"0:maj": "0:maj7", "5:maj": "5:maj7", "2:min": "2:m7", "9:min": "9:m7",
             "4:min": "4:m7", "7:maj": "7:7", "0:min": "0:m7", "5:min": "5:m7",
             "2:dim": "2:m7b5", "8:maj": "8:maj7", "3:maj": "3:maj7"}  # fmt: skip
_BLUES = {"0:maj": "0:7", "5:maj": "5:7", "7:maj": "7:7"}
_NEXT_FUNCTION = {"T": {"T": 0.5, "S": 1.0, "D": 0.6}, "S": {"T": 0.5, "S": 0.5, "D": 1.0},
                  "D": {"T": 1.2, "S": 0.4, "D": 0.3}}  # fmt: skip


class Proposer:
    """A Markov chain over key-relative chord tokens shaped by ``Attributes``."""

    def __init__(self, attrs: Attributes):
        table = dict(_MAJOR if attrs.mode == "major" else _MINOR)
        rename = {}
        if attrs.colour in ("jazz", "sevenths"):
            rename = _SEVENTHS
        elif attrs.colour == "blues":
            rename = _BLUES
        self.tokens = [rename.get(t, t) for t in table]
        props = list(table.values())
        v = (attrs.valence + 1) / 2  # 0..1
        e = (attrs.energy + 1) / 2
        # how much a chord suits the mood: bright chords for high valence, tense for energy
        fit = np.array([1.0 - abs(b - v) * 1.2 + 0.6 * e * t for b, t, _ in props])
        self.weight = np.exp(2.0 * fit)
        self.functions = [f for _, _, f in props]
        n = len(self.tokens)
        self.start = np.array([3.0 if f == "T" else 1.0 for f in self.functions]) * self.weight
        self.start[0] *= 3.0  # most songs open on the tonic
        self.start /= self.start.sum()
        self.trans = np.zeros((n, n))
        for i, fi in enumerate(self.functions):
            for j, fj in enumerate(self.functions):
                if i != j:  # the chord model counts changes, so no repeats
                    self.trans[i, j] = _NEXT_FUNCTION[fi][fj] * self.weight[j]
            self.trans[i] /= self.trans[i].sum()

    def sample(self, length: int, rng: np.random.Generator) -> tuple[list[str], float]:
        """A progression of ``length`` chord changes and its log q."""
        i = rng.choice(len(self.tokens), p=self.start)
        seq, logq = [i], math.log(self.start[i])
        for _ in range(length - 1):
            j = rng.choice(len(self.tokens), p=self.trans[i])
            logq += math.log(self.trans[i, j])
            seq.append(j)
            i = j
        return [self.tokens[k] for k in seq], logq


@dataclass
class Suggestion:
    tokens: list[str]
    tonic: int
    logp: float  # chord model log-probability (natural log, without the song end)
    logq: float  # proposer log-probability
    attrs: Attributes

    @property
    def chords(self) -> list[Chord]:
        return [token_chord(t, self.tonic) for t in self.tokens]

    @property
    def numerals(self) -> list[str]:
        return [roman_numeral(t) for t in self.tokens]

    def chart(self, bars: int, title: str = "", key: str | None = None) -> Chart:
        per_bar = max(1, len(self.tokens) // bars)
        return chart_from_chords(self.chords, per_bar, float(self.attrs.tempo), (4, 4), title, key)


@dataclass
class SamplingStats:
    proposed: int = 0
    accepted: int = 0
    duplicates: int = 0
    log_m: float = 0.0
    proposals_logp: list[float] = field(default_factory=list)

    @property
    def acceptance_rate(self) -> float:
        return self.accepted / self.proposed if self.proposed else 0.0


_NUMERALS = ["I", "bII", "II", "bIII", "III", "IV", "#IV", "V", "bVI", "VI", "bVII", "VII"]
_FAMILY_MARK = {"maj": "", "min": "", "7": "7", "maj7": "maj7", "m7": "7", "m7b5": "ø7",
                "dim": "°", "aug": "+", "sus": "sus4"}  # fmt: skip


def roman_numeral(token: str) -> str:
    """``"9:min"`` -> ``"vi"``, ``"7:7"`` -> ``"V7"``, ``"10:maj"`` -> ``"bVII"``."""
    rel, fam = token.split(":")
    numeral = _NUMERALS[int(rel)]
    if fam in ("min", "m7", "m7b5", "dim"):
        numeral = numeral.lower()
    return numeral + _FAMILY_MARK[fam]


def suggest(
    text: str,
    model,
    *,
    key: int = 0,
    mode: str | None = None,
    bars: int = 4,
    n: int = 5,
    lam: float = 0.5,
    seed: int = 0,
    pilot: int = 500,
    max_proposals: int = 50_000,
) -> tuple[list[Suggestion], SamplingStats, Attributes]:
    """``n`` distinct progressions for ``text``, by rejection sampling (module docstring).

    model: anything with ``batch_logprobs(seqs)`` (``ChordGRU``) or ``token_logprobs``.
    key: tonic pitch class. bars: chart length; energetic texts get two chords a bar.
    """
    if not 1 <= bars <= 64 or not 1 <= n <= 100:
        raise InstrumentError("bars must be 1-64 and -n 1-100")
    attrs = text_attributes(text, mode)
    proposer = Proposer(attrs)
    length = bars * (2 if attrs.energy > 0.5 else 1)
    rng = np.random.default_rng(seed)
    stats = SamplingStats()

    def score(batch: list[list[str]]) -> list[float]:
        if hasattr(model, "batch_logprobs"):
            lps = model.batch_logprobs(batch)
        else:
            lps = [model.token_logprobs(s) for s in batch]
        return [sum(lp[:-1]) for lp in lps]  # drop the end-of-song term: a progression loops

    def draw(k: int) -> list[tuple[list[str], float, float]]:
        props = [proposer.sample(length, rng) for _ in range(k)]
        logps = score([p for p, _ in props])
        return [(p, lq, lp) for (p, lq), lp in zip(props, logps, strict=False)]

    first = draw(pilot)
    stats.log_m = max((1 - lam) * (lp - lq) for _, lq, lp in first)
    out: list[Suggestion] = []
    seen: set[tuple[str, ...]] = set()
    batch = first
    while len(out) < n and stats.proposed < max_proposals:
        for seq, lq, lp in batch:
            stats.proposed += 1
            stats.proposals_logp.append(lp)
            log_r = min(0.0, (1 - lam) * (lp - lq) - stats.log_m)
            if math.log(rng.random() + 1e-300) < log_r:
                stats.accepted += 1
                if tuple(seq) in seen:
                    stats.duplicates += 1
                    continue
                seen.add(tuple(seq))
                out.append(Suggestion(seq, key, lp, lq, attrs))
                if len(out) == n:
                    break
        batch = draw(256)
    if not out:
        raise InstrumentError("no progression passed the chord model; try other words")
    return out, stats, attrs


def check_vocab(tokens: list[str]) -> None:
    unknown = [t for t in tokens if t not in VOCAB]
    if unknown:
        raise InstrumentError(f"tokens outside the chord model vocabulary: {unknown}")
