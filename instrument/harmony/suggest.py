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
from dataclasses import dataclass, field, replace

import numpy as np

from instrument.errors import InstrumentError
from instrument.harmony.chart import Chart, chart_from_chords
from instrument.harmony.chordlm import FAMILY_QUALITY, VOCAB, ChordLM, token_chord
from instrument.harmony.chords import PITCH_NAMES, Chord

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
    # more moods
    "cheer": (0.8, 0.5), "glad": (0.8, 0.3), "proud": (0.7, 0.6), "brave": (0.5, 0.7),
    "playful": (0.8, 0.5), "silly": (0.7, 0.5), "romantic": (0.6, -0.3), "kiss": (0.6, -0.1),
    "cozy": (0.6, -0.6), "cosy": (0.6, -0.6), "content": (0.5, -0.5), "serene": (0.5, -0.8),
    "tranquil": (0.4, -0.8), "mellow": (0.3, -0.6), "wistful": (-0.2, -0.5),
    "yearn": (-0.3, -0.3), "regret": (-0.6, -0.3), "sorrow": (-0.9, -0.5),
    "mourn": (-0.9, -0.6), "despair": (-0.9, -0.2), "hurt": (-0.7, -0.1), "pain": (-0.8, 0.0),
    "anxi": (-0.6, 0.5), "nervous": (-0.5, 0.5), "worr": (-0.5, 0.3), "eerie": (-0.5, -0.1),
    "spook": (-0.4, 0.3), "creep": (-0.5, 0.2), "ominous": (-0.6, 0.3), "doom": (-0.8, 0.4),
    "furious": (-0.8, 1.0), "bold": (0.4, 0.8), "power": (0.3, 0.9), "groov": (0.5, 0.6),
    "funk": (0.5, 0.7), "bounc": (0.6, 0.7), "majestic": (0.6, 0.6), "grand": (0.5, 0.6),
    "holy": (0.5, -0.4), "pray": (0.3, -0.5), "spirit": (0.4, -0.2), "magic": (0.5, 0.1),
    "wonder": (0.6, 0.0), "adventur": (0.5, 0.7), "journey": (0.3, 0.3), "home": (0.5, -0.4),
    # places
    "sea": (0.3, -0.4), "shore": (0.3, -0.4), "coast": (0.4, -0.2), "island": (0.5, -0.2),
    "harbo": (0.2, -0.4), "lake": (0.3, -0.6), "river": (0.3, -0.3), "forest": (0.1, -0.4),
    "wood": (0.1, -0.3), "mountain": (0.4, 0.2), "hill": (0.4, -0.2), "valley": (0.3, -0.4),
    "field": (0.5, -0.3), "meadow": (0.6, -0.4), "garden": (0.6, -0.4), "desert": (-0.1, -0.2),
    "sky": (0.5, -0.2), "star": (0.4, -0.4), "moon": (0.2, -0.5), "space": (0.1, -0.2),
    "church": (0.3, -0.5), "cathedral": (0.3, -0.4), "street": (0.1, 0.4), "club": (0.5, 0.9),
    "bar": (0.3, 0.2), "cafe": (0.5, -0.4), "train": (0.2, 0.3), "highway": (0.3, 0.6),
    "village": (0.5, -0.4), "town": (0.3, 0.0), "room": (0.1, -0.4), "castle": (0.2, 0.3),
    # seasons and weather
    "autumn": (-0.2, -0.4), "fall": (-0.2, -0.4), "snow": (0.1, -0.6), "frost": (-0.2, -0.5),
    "ice": (-0.3, -0.4), "fog": (-0.3, -0.5), "mist": (-0.2, -0.5), "cloud": (-0.1, -0.3),
    "wind": (0.0, 0.2), "thunder": (-0.5, 0.9), "heat": (0.3, 0.4), "hot": (0.4, 0.5),
    "christmas": (0.8, 0.2), "holiday": (0.8, 0.3), "vacation": (0.7, 0.1),
    # times
    "dawn": (0.5, -0.3), "sunrise": (0.6, -0.1), "daybreak": (0.5, -0.2), "noon": (0.5, 0.3),
    "afternoon": (0.4, -0.2), "evening": (0.2, -0.5), "dusk": (0.0, -0.5),
    "twilight": (0.0, -0.5), "tonight": (0.2, 0.0), "weekend": (0.7, 0.5),
    "childhood": (0.3, -0.3), "youth": (0.5, 0.4), "old": (-0.1, -0.4), "past": (-0.1, -0.4),
    "future": (0.4, 0.3), "forever": (0.4, -0.2), "yesterday": (-0.2, -0.4),
    "rainbow": (0.8, 0.3), "funeral": (-0.9, -0.5),
}  # fmt: skip
# Beginnings of words that a shorter stem above would take but that mean something else
# ("season" is no sea, "start" no star, "funeral" no fun).
NOT_STEMS = ("season", "search", "seat", "sear", "start", "stare", "bare", "barn", "bark",
             "barg", "barr", "hotel", "paint", "funeral", "icon", "mission", "missil", "scarf",
             "scarce", "starv", "warn", "ward", "warp", "pasta", "pastel", "hillar", "tensil",
             "cafeteria", "roomm", "towel", "woodst", "spaceb", "tearo", "funer")  # fmt: skip
# Words that ask for lush colours (maj7, add9, sus) rather than plain triads.
LUSH = (
    "dream",
    "night",
    "sea",
    "ocean",
    "warm",
    "sky",
    "star",
    "moon",
    "romantic",
    "float",
    "mellow",
    "evening",
    "dusk",
    "twilight",
    "serene",
    "sunset",
    "breeze",
    "wave",
    "cafe",
    "rain",
    "memor",
    "nostalg",
    "wistful",
    "tender",
    "gentle",
    "soft",
)
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
    lush: float = 0.0  # 0..1: how much the words ask for colour tones (maj7, add9, sus)


def text_attributes(text: str, mode: str | None = None) -> Attributes:
    """Keyword lexicon: the mean (valence, energy) of the matched words ("not happy"
    flips valence); an explicit ``mode`` (or the words major/minor) wins over valence."""
    words = re.findall(r"[a-z&']+", text.lower())
    vals, matched, colour, lush = [], [], "plain", 0
    for i, w in enumerate(words):
        negated = i > 0 and words[i - 1] in NEGATORS
        stem = _stem_of(w)
        if stem is not None:
            v, e = LEXICON[stem]
            vals.append((-v if negated else v, e))
            matched.append(("not " if negated else "") + w)
            lush += any(w.startswith(x) for x in LUSH)
        for stem, c in COLOURS.items():
            if w.startswith(stem):
                colour = c
                matched.append(w)
        if w in ("minor", "major") and mode is None:
            mode = w
            matched.append(w)
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
    lushness = min(1.0, lush / max(1, len(vals)) + max(0.0, -energy) * 0.3)
    return Attributes(
        mood,
        mode,
        tempo,
        round(energy, 3),
        round(valence, 3),
        colour,
        tuple(matched),
        round(lushness, 3),
    )


def _stem_of(word: str) -> str | None:
    """The lexicon stem a word starts with (the longest), or None."""
    if word.startswith(NOT_STEMS):
        return None
    found = [stem for stem in LEXICON if word.startswith(stem)]
    return max(found, key=len) if found else None


def check_prompt(text: str, attrs: Attributes) -> None:
    """A prompt must say something the lexicon knows: a clear error otherwise."""
    if not re.search(r"[a-zA-Z]", text):
        raise InstrumentError(
            "say in a few words what the music is about (a mood, a place, "
            'a season or a time of day), e.g. "warm summer night by the sea"'
        )
    if not attrs.matched:
        raise InstrumentError(
            f"no word of mood, place, season or time in {text.strip()!r}: try "
            "words like happy, sad, calm, sea, city, winter, night"
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


# Colour tones the proposer may add to a plain chord: family -> [(token family, written
# quality)]. The chord model scores the token (its vocabulary has maj7, m7 and sus, not
# add9): an add9 is scored as the triad it colours.
_COLOURS = {"maj": [("maj7", "maj7"), ("maj", "add9"), ("sus", "sus2")],
            "min": [("m7", "m7"), ("min", "madd9")]}  # fmt: skip


def written_quality(token: str) -> str:
    """The quality a token is written with when nothing colours it."""
    fam = token.split(":")[1]
    return FAMILY_QUALITY.get(fam, fam)


class Proposer:
    """A Markov chain over key-relative chords shaped by ``Attributes``.

    Its states are (token, written quality): the chords of the key, plain, and each major
    or minor one also coloured (maj7, add9, sus2; m7, madd9), the colours weighted by how
    lush the words are (``Attributes.lush``), so that the chord model filters them like
    any chord. Two states of one token never follow each other (the chord model counts
    changes).
    """

    def __init__(self, attrs: Attributes):
        table = dict(_MAJOR if attrs.mode == "major" else _MINOR)
        rename = {}
        if attrs.colour in ("jazz", "sevenths"):
            rename = _SEVENTHS
        elif attrs.colour == "blues":
            rename = _BLUES
        v = (attrs.valence + 1) / 2  # 0..1
        e = (attrs.energy + 1) / 2
        colour_weight = (0.03 + 0.15 * attrs.lush) * (
            0.3 if attrs.colour == "plain" and attrs.lush == 0 else 1.0
        )
        states: list[tuple[str, str]] = []
        props, scale = [], []
        for token, prop in table.items():
            token = rename.get(token, token)
            options = [(token, written_quality(token), 1.0)]
            rel, fam = token.split(":")
            if attrs.colour not in ("jazz", "sevenths", "blues"):  # those colour already
                options += [(f"{rel}:{f}", q, colour_weight) for f, q in _COLOURS.get(fam, [])]
            for tok, quality, w in options:
                if (tok, quality) not in states and tok in VOCAB:
                    states.append((tok, quality))
                    props.append(prop)
                    scale.append(w)
        self.states = states
        self.tokens = [t for t, _ in states]
        # how much a chord suits the mood: bright chords for high valence, tense for energy
        fit = np.array([1.0 - abs(b - v) * 1.2 + 0.6 * e * t for b, t, _ in props])
        self.weight = np.exp(2.0 * fit) * np.array(scale)
        self.functions = [f for _, _, f in props]
        n = len(states)
        self.start = np.array([3.0 if f == "T" else 1.0 for f in self.functions]) * self.weight
        self.start[0] *= 3.0  # most songs open on the tonic
        self.start /= self.start.sum()
        self.trans = np.zeros((n, n))
        for i, fi in enumerate(self.functions):
            for j, fj in enumerate(self.functions):
                if self.tokens[i] != self.tokens[j]:  # changes only, as the model counts
                    self.trans[i, j] = _NEXT_FUNCTION[fi][fj] * self.weight[j]
            self.trans[i] /= self.trans[i].sum()

    def sample(self, length: int, rng: np.random.Generator) -> tuple[list[tuple[str, str]], float]:
        """A progression of ``length`` chord changes as (token, written quality), and its
        log q."""
        i = rng.choice(len(self.states), p=self.start)
        seq, logq = [i], math.log(self.start[i])
        for _ in range(length - 1):
            j = rng.choice(len(self.states), p=self.trans[i])
            logq += math.log(self.trans[i, j])
            seq.append(j)
            i = j
        return [self.states[k] for k in seq], logq


@dataclass
class Suggestion:
    tokens: list[str]
    tonic: int
    logp: float  # chord model log-probability (natural log, without the song end)
    logq: float  # proposer log-probability
    attrs: Attributes
    qualities: list[str] | None = None  # as written (add9 colours a maj token); None: plain

    def _qualities(self) -> list[str]:
        return self.qualities or [written_quality(t) for t in self.tokens]

    @property
    def chords(self) -> list[Chord]:
        return [
            Chord(token_chord(t, self.tonic).root, q)
            for t, q in zip(self.tokens, self._qualities(), strict=True)
        ]

    @property
    def numerals(self) -> list[str]:
        return [roman_numeral(t, q) for t, q in zip(self.tokens, self._qualities(), strict=True)]

    def names(self, key: str | None = None) -> list[str]:
        """The chords spelled for the key: one spelling per pitch class within the line,
        from the scale degree (bVI of G is Eb, #IV is C#). ``key``: the tonic's name
        ("Bb", "F#m"); default the plain name of the tonic."""
        table = degree_names(key or PITCH_NAMES[self.tonic], self.tonic)
        return [c.spell(table) for c in self.chords]

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


_COLOUR_MARK = {"add9": "add9", "madd9": "add9", "sus2": "sus2"}


def roman_numeral(token: str, quality: str | None = None) -> str:
    """``"9:min"`` -> ``"vi"``, ``"7:7"`` -> ``"V7"``, ``"10:maj"`` -> ``"bVII"``; a
    colour the token does not carry is added (``("0:maj", "add9")`` -> ``"Iadd9"``)."""
    rel, fam = token.split(":")
    numeral = _NUMERALS[int(rel)]
    if fam in ("min", "m7", "m7b5", "dim"):
        numeral = numeral.lower()
    if quality in _COLOUR_MARK:
        return numeral + _COLOUR_MARK[quality]
    return numeral + _FAMILY_MARK[fam]


# Major-scale degree of each semitone above the tonic, and its accidental.
_DEGREES = [(0, 0), (1, -1), (1, 0), (2, -1), (2, 0), (3, 0), (3, 1), (4, 0), (5, -1),
            (5, 0), (6, -1), (6, 0)]  # fmt: skip
_LETTERS = "CDEFGAB"
_LETTER_PC = [0, 2, 4, 5, 7, 9, 11]


def degree_names(key: str, tonic: int) -> tuple[str, ...]:
    """A spelling table (pitch class -> name) for a key: each pitch class is named from
    its degree above the tonic, so a line never spells one note two ways. ``key``: the
    tonic's name as the user wrote it ("Bb", "f#", "Ebm")."""
    letter = key[:1].upper()
    if letter not in _LETTERS:
        return PITCH_NAMES
    base = _LETTERS.index(letter)
    names = []
    for pc in range(12):
        step, _ = _DEGREES[(pc - tonic) % 12]
        k = (base + step) % 7
        shift = (pc - _LETTER_PC[k] + 6) % 12 - 6  # -6..5: flats below, sharps above
        if abs(shift) > 2:
            return PITCH_NAMES
        names.append(_LETTERS[k] + ("#" * shift if shift > 0 else "b" * -shift))
    return tuple(names)


def suggest(
    text: str,
    model: ChordLM,
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

    model: the chord model that scores the proposals (``ChordGRU``, or a baseline).
    key: tonic pitch class. bars: chart length; energetic texts get two chords a bar.
    """
    if not 1 <= bars <= 64 or not 1 <= n <= 100:
        raise InstrumentError("bars must be 1-64 and -n 1-100")
    attrs = text_attributes(text, mode)
    check_prompt(text, attrs)
    proposer = Proposer(attrs)
    length = bars * (2 if attrs.energy > 0.5 else 1)
    rng = np.random.default_rng(seed)
    stats = SamplingStats()

    def score(batch: list[list[str]]) -> list[float]:
        lps = model.batch_logprobs(batch)
        return [sum(lp[:-1]) for lp in lps]  # drop the end-of-song term: a progression loops

    def draw(k: int) -> list[tuple[list[str], float, float]]:
        props = [proposer.sample(length, rng) for _ in range(k)]
        logps = score([[t for t, _ in p] for p, _ in props])
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
                tokens = tuple(t for t, _ in seq)  # Cadd9 for C is no new progression
                if tokens in seen:
                    stats.duplicates += 1
                    continue
                seen.add(tokens)
                out.append(Suggestion([t for t, _ in seq], key, lp, lq, attrs, [q for _, q in seq]))
                if len(out) == n:
                    break
        batch = draw(256)
    if not out:
        raise InstrumentError("no progression passed the chord model; try other words")
    out.sort(key=lambda s: -s.logp)  # the most plausible first: what --save keeps
    return out, stats, attrs


# ---------------------------------------------------------------- what ``suggest`` shows


def key_label(key: str, mode: str) -> str:
    """The key as charts write it: the tonic as typed, capitalised ("f#" -> "F#"), with
    "m" for minor."""
    return key[0].upper() + key[1:] + ("m" if mode == "minor" else "")


@dataclass
class Suggested:
    """``suggest``'s result as the command shows it: the progressions in ``key`` (its
    label, e.g. "F#m"), spelled with ``spelling`` (``degree_names``), one chart each."""

    text: str
    attrs: Attributes
    key: str
    spelling: tuple[str, ...]
    found: list[Suggestion]
    charts: list[Chart]
    stats: SamplingStats

    @classmethod
    def of(
        cls,
        text: str,
        found: list[Suggestion],
        stats: SamplingStats,
        attrs: Attributes,
        key: str,
        tonic: int,
        bars: int,
        tempo: float | None = None,
    ) -> Suggested:
        """key: the tonic as typed; tempo: the charts' tempo instead of the words'."""
        label = key_label(key, attrs.mode)
        charts = []
        for s in found:
            chart = s.chart(bars, title=text, key=label)
            if tempo:
                chart = replace(chart, tempo=tempo)
            charts.append(chart)
        return cls(text, attrs, label, degree_names(label, tonic), found, charts, stats)

    def to_json(self, saved: str | None) -> dict:
        """What ``suggest --json`` prints; saved: the chart file written, or None."""
        attrs, stats = self.attrs, self.stats
        return {
            "text": self.text,
            "attributes": {
                "mood": attrs.mood,
                "mode": attrs.mode,
                "tempo": attrs.tempo,
                "energy": attrs.energy,
                "valence": attrs.valence,
                "colour": attrs.colour,
                "matched": list(attrs.matched),
            },
            "key": self.key,
            "suggestions": [
                {
                    "chords": s.names(self.key),
                    "numerals": s.numerals,
                    "log_prob": round(s.logp, 3),
                    "chart": chart.to_text(names=self.spelling),
                }
                for s, chart in zip(self.found, self.charts, strict=False)
            ],
            "sampling": {
                "proposed": stats.proposed,
                "accepted": stats.accepted,
                "acceptance_rate": round(stats.acceptance_rate, 4),
            },
            "saved": saved,
        }

    def lines(self) -> list[str]:
        """What ``suggest`` prints: the reading of the words, one line per progression
        (its chart's bar line when it has at most 4 bars), and the sampling summary."""
        attrs, stats = self.attrs, self.stats
        words = ", ".join(attrs.matched) or "no mood words recognised"
        lines = [
            f"{attrs.mood}, {attrs.mode}, {attrs.tempo} BPM, energy {attrs.energy:+.2f}"
            f" ({words}); key {self.key}"
        ]
        for i, (s, chart) in enumerate(zip(self.found, self.charts, strict=False), 1):
            shown = chart.to_text(names=self.spelling).splitlines()[-1]
            bars = shown if len(chart.bars) <= 4 else ""
            lines.append(f"{i}. {' '.join(s.names(self.key)):28} {' '.join(s.numerals):24} {bars}")
        lines.append(
            f"({stats.accepted} of {stats.proposed} proposals kept by the chord model,"
            f" {stats.acceptance_rate:.1%}; the most plausible to it first)"
        )
        return lines
