"""Scoring the harmony tools: ``suggest``'s chord model and sampling, and chord naming.

``eval suggest``: the chord model's perplexity against unigram and bigram baselines on
held-out songs, and the acceptance rate, diversity and mood of ``suggest``'s progressions.
``eval chord-naming``: chord naming against the When in Rome chorale analyses. Each
function gives figures or Markdown; the command line prints them and writes the sections.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from instrument.harmony import chordlm
from instrument.harmony.chorales import Tally, score_chorale
from instrument.harmony.suggest import suggest
from instrument.report import markdown_table

PROMPTS = [
    "memories of a warm summer beach",
    "happy dance party with friends",
    "sad rainy night alone",
    "calm peaceful morning",
    "epic heroic triumph",
    "dark mysterious haunted forest",
    "bittersweet nostalgia for an old friend",
    "smooth jazz lounge at midnight",
    "angry storm and fight",
    "gentle lullaby to fall asleep",
    "driving on an open road in spring",
    "heartbroken goodbye in winter",
]
SAD = ["sad rainy night alone", "heartbroken goodbye in winter"]
HAPPY = ["happy dance party with friends", "memories of a warm summer beach"]
# The samplers compared: (lam, label); lam=1 is the proposer alone.
SAMPLERS = (
    (1.0, "proposer only (lam=1, no filter)"),
    (0.5, "rejection sampling, lam=0.5 (default)"),
    (0.0, "rejection sampling, lam=0 (chord model only)"),
)
PERPLEXITY_HEADER = ["model", "valid perplexity", "test perplexity"]
SAMPLING_HEADER = [
    "method",
    "acceptance rate",
    "distinct progressions",
    "distinct-2",
    "pairwise Hamming",
    "chord-model log p / chord (kept)",
    "log p / chord (all proposals)",
]
MOOD_HEADER = ["method", "minor chords, happy prompts", "minor chords, sad prompts"]


def diversity(progressions: list[list[str]]) -> dict:
    """distinct: share of unique progressions; distinct-2: unique chord bigrams / all;
    hamming: mean pairwise share of positions that differ."""
    n = len(progressions)
    uniq = len({tuple(p) for p in progressions})
    bigrams = [tuple(p[i : i + 2]) for p in progressions for i in range(len(p) - 1)]
    pairs = [(a, b) for i, a in enumerate(progressions) for b in progressions[i + 1 :]]
    ham = [sum(x != y for x, y in zip(a, b, strict=False)) / max(len(a), len(b)) for a, b in pairs]
    return {
        "distinct": uniq / n if n else 0.0,
        "distinct2": len(set(bigrams)) / len(bigrams) if bigrams else 0.0,
        "hamming": sum(ham) / len(ham) if ham else 0.0,
    }


def perplexity_rows(
    train: list[list[str]], valid: list[list[str]], test: list[list[str]], gru: chordlm.ChordGRU
) -> list[list[object]]:
    """[name, valid perplexity, test perplexity] of the unigram, the tuned bigram, the GRU."""
    unigram = chordlm.UnigramLM(train)
    bigram = chordlm.BigramLM(train)
    bigram.tune(valid)
    rows = []
    for name, m in (
        ("unigram (add-one)", unigram),
        (f"bigram (interpolated, lambda={bigram.lam})", bigram),
        ("GRU chord model (models/chordlm-gru)", gru),
    ):
        rows.append([name, chordlm.perplexity(m, valid), chordlm.perplexity(m, test)])
    return rows


def sampling_rows(
    model: chordlm.ChordLM, n: int
) -> tuple[list[list[object]], dict[str, dict[str, float]]]:
    """One row (SAMPLING_HEADER) per sampler over every prompt, ``n`` suggestions each, seed 0;
    and per sampler the share of minor-family chords of each prompt's suggestions."""
    rows = []
    minor_share = {}
    for lam, label in SAMPLERS:
        acc, div, logp, props_logp, minors = [], [], [], [], {}
        for prompt in PROMPTS:
            found, stats, attrs = suggest(prompt, model, n=n, lam=lam, seed=0)
            seqs = [s.tokens for s in found]
            acc.append(stats.acceptance_rate)
            div.append(diversity(seqs))
            logp.append(np.mean([s.logp / len(s.tokens) for s in found]))
            props_logp.append(np.mean(stats.proposals_logp) / len(found[0].tokens))
            fam = [t.split(":")[1] for s in seqs for t in s]
            minors[prompt] = np.mean([f in ("min", "m7", "m7b5", "dim") for f in fam])
        minor_share[label] = minors
        rows.append(
            [
                label,
                float(np.mean(acc)),
                float(np.mean([d["distinct"] for d in div])),
                float(np.mean([d["distinct2"] for d in div])),
                float(np.mean([d["hamming"] for d in div])),
                float(np.mean(logp)),
                float(np.mean(props_logp)),
            ]
        )
    return rows, minor_share


def mood_rows(minor_share: dict[str, dict[str, float]]) -> list[list[object]]:
    """[sampler, minor share on the happy prompts, on the sad prompts] (MOOD_HEADER)."""
    return [
        [label, float(np.mean([m[p] for p in HAPPY])), float(np.mean([m[p] for p in SAD]))]
        for label, m in minor_share.items()
    ]


def suggest_markdown(
    train: list[list[str]],
    valid: list[list[str]],
    test: list[list[str]],
    n: int,
    ppl_rows: list[list[object]],
    sampling_table: str,
    mood_table: str,
) -> str:
    """The section ``suggest`` of docs/results.md; n: suggestions per prompt."""
    n_tok = {k: sum(len(s) + 1 for s in v) for k, v in (("valid", valid), ("test", test))}
    return f"""## Progressions from words (`instrument suggest`)

**Chord model.** Key-relative chord-change tokens (108 = 12 roots x 9 families, plus the
song end), trained on the train splits of McGill Billboard (`configs/splits/billboard.json`,
8:1:1 by song, duplicates grouped) and POP909 (`configs/splits/pop909.json`):
{len(train)} / {len(valid)} / {len(test)} songs (train / valid / test; {n_tok["test"]} test
tokens). Perplexity per chord change on the held-out songs (the song end counted):

{markdown_table(PERPLEXITY_HEADER, ppl_rows)}

**Suggestions.** {len(PROMPTS)} prompts (listed in `instrument/harmony/evaluate.py`),
{n} distinct 4-bar progressions each, seed 0. Proposals come from the mood-shaped
Markov proposer over the chords of the key, plain and coloured (maj7, add9, sus2; m7,
madd9: weighted by how lush the words are, an add9 scored as its triad); rejection
sampling keeps x with probability (p(x)/q(x))^(1-lam)/M.
Acceptance rate = kept / proposed (duplicates of an earlier suggestion count as kept but
are not shown, so the {n} shown are distinct by construction: "distinct
progressions" only checks that). Diversity within each prompt's {n}: distinct chord
bigrams (distinct-2) and mean pairwise Hamming distance (share of positions that
differ). Plausibility: mean chord-model log-probability per chord of the kept
progressions against all proposals.

{sampling_table}

Mood kept through the filter (share of minor-family chords):

{mood_table}

The text is read by a keyword lexicon only: no sentence-embedding model is used, because
none was shown to help on this vocabulary and the lexicon's behaviour is inspectable.

The GRU is `models/chordlm-gru` (95,726 parameters; `model_card.json` has its training
curve): `instrument train chordlm` with the defaults (`--epochs 20 --hidden 128
--seed 0`), best validation epoch kept. Figures: `instrument eval suggest --write`.
Machine: 2-core CPU VM, no GPU. Date: 2026-11-22.
"""


# ---------------------------------------------------------------- chord naming

CHORD_NAMING_HEADER = ["method", "root", "root + triad type", "root + quality", "bass"]


def score_chorales(folders: list[Path]) -> tuple[Tally, int, list[str]]:
    """Score chord naming on every chorale folder: (tally, chorales used, unusable ones as
    "NNN (ErrorType)")."""
    tally, used, failed = Tally(), 0, []
    for folder in folders:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if score_chorale(folder, tally):
                    used += 1
        except Exception as e:  # noqa: BLE001 - an unparsable analysis is reported, not fatal
            failed.append(f"{folder.name} ({type(e).__name__})")
    return tally, used, failed


def chord_naming_rows(tally: Tally) -> list[list[object]]:
    """The agreement rates of each method (CHORD_NAMING_HEADER)."""
    r = tally.rate
    return [
        ["lowest note is the root (baseline)", r("lowest_root"), "", "", ""],
        ["music21 Chord.root() (baseline)", r("music21_root"), "", "", ""],
        [
            "ours, notes at the numeral's onset",
            r("onset_root"),
            r("onset_triad"),
            r("onset_exact"),
            r("onset_bass"),
        ],
        [
            "ours, longest chord over the numeral",
            r("span_root"),
            r("span_triad"),
            r("span_exact"),
            "",
        ],
    ]


def chord_naming_markdown(
    tally: Tally, used: int, failed: list[str], table: str, limit: int | None
) -> str:
    """The section ``chord-naming`` of docs/results.md; limit: the command's --limit."""
    limit_arg = f" --limit {limit}" if limit else ""
    return f"""## Chord naming vs When in Rome (Bach chorales)

Agreement of `instrument.harmony.naming.name_chord` with the Roman-numeral analyses of
When in Rome (`Corpus/Early_Choral/Bach,_Johann_Sebastian/Chorales/NNN/analysis.txt`),
aligned by offset with the music21 corpus scores; {tally.n} numerals in {used} chorales
({len(failed)} analyses music21 could not align or parse). {tally.transposed} corpus
scores are transposed editions of the analysed chorale: their reference chords are
transposed by the shift that best matches the numerals' bass notes to the lowest
sounding notes (no chord naming involved, the same for every row). Reference chord = the
numeral's root, quality (its pitch classes mapped to our nearest quality) and bass.
"Triad type" compares major/minor/diminished/augmented/suspended families (a V7 named V
counts); "quality" needs the exact quality (sevenths included). Chorales are
four-voice counterpoint: passing and suspended tones sound at many onsets, so the span
reading (the chord heard longest over the numeral) is the fairer one.

{table}

Where we differ from the analysts: {tally.rate("sixth_reading"):.1%} of the numerals are
seventh chords over their third (ii6/5, iiø6/5) that the namer reads, as lead sheets do,
as an added-sixth chord on the bass (F-A-C-D as F6, not Dm7/F; see
`instrument/harmony/naming.py`); music21's `Chord.root()` follows the classical
reading there. The other disagreements are not broken down here.

Command: `instrument eval chord-naming --write{limit_arg}`. Machine: 2-core CPU VM, no GPU.
Date: 2026-11-22.
"""
