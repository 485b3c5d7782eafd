"""``instrument eval suggest``: the chord model's perplexity against unigram and bigram
baselines on held-out songs, and the acceptance rate and diversity of ``suggest``."""

from __future__ import annotations

import argparse

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


def register(subparsers) -> None:
    p = subparsers.add_parser("suggest", help="chord model perplexity; suggestion statistics")
    p.add_argument("--data", help="music data folder (default ../shared/data)")
    p.add_argument("-n", type=int, default=5, help="suggestions per prompt (default 5)")
    p.add_argument("--write", action="store_true", help="write docs/results.md (suggest)")
    p.set_defaults(func=run)


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


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from instrument.harmony import chordlm
    from instrument.harmony.suggest import suggest
    from instrument.report import markdown_table, write_section

    torch.set_num_threads(2)
    train = chordlm.load_corpus("train", args.data)
    valid = chordlm.load_corpus("valid", args.data)
    test = chordlm.load_corpus("test", args.data)
    gru = chordlm.ChordGRU.load()
    unigram = chordlm.UnigramLM(train)
    bigram = chordlm.BigramLM(train)
    bigram.tune(valid)
    ppl_rows = []
    for name, m in (
        ("unigram (add-one)", unigram),
        (f"bigram (interpolated, lambda={bigram.lam})", bigram),
        ("GRU chord model (models/chordlm-gru)", gru),
    ):
        ppl_rows.append([name, chordlm.perplexity(m, valid), chordlm.perplexity(m, test)])
    print(markdown_table(["model", "valid perplexity", "test perplexity"], ppl_rows))

    rows = []
    minor_share = {}
    for lam, label in ((1.0, "proposer only (lam=1, no filter)"),
                       (0.5, "rejection sampling, lam=0.5 (default)"),
                       (0.0, "rejection sampling, lam=0 (chord model only)")):  # fmt: skip
        acc, div, logp, props_logp, minors = [], [], [], [], {}
        for prompt in PROMPTS:
            found, stats, attrs = suggest(prompt, gru, n=args.n, lam=lam, seed=0)
            seqs = [s.tokens for s in found]
            acc.append(stats.acceptance_rate)
            div.append(diversity(seqs))
            logp.append(np.mean([s.logp / len(s.tokens) for s in found]))
            props_logp.append(np.mean(stats.proposals_logp) / len(found[0].tokens))
            fam = [t.split(":")[1] for s in seqs for t in s]
            minors[prompt] = np.mean([f in ("min", "m7", "m7b5", "dim") for f in fam])
        minor_share[label] = minors
        rows.append([
            label,
            float(np.mean(acc)),
            float(np.mean([d["distinct"] for d in div])),
            float(np.mean([d["distinct2"] for d in div])),
            float(np.mean([d["hamming"] for d in div])),
            float(np.mean(logp)),
            float(np.mean(props_logp)),
        ])  # fmt: skip
    header = ["method", "acceptance rate", "distinct progressions", "distinct-2",
              "pairwise Hamming", "chord-model log p / chord (kept)",
              "log p / chord (all proposals)"]  # fmt: skip
    table2 = markdown_table(header, rows)
    print(table2)
    sad = ["sad rainy night alone", "heartbroken goodbye in winter"]
    happy = ["happy dance party with friends", "memories of a warm summer beach"]
    mood_rows = [
        [label, float(np.mean([m[p] for p in happy])), float(np.mean([m[p] for p in sad]))]
        for label, m in minor_share.items()
    ]
    table3 = markdown_table(["method", "minor chords, happy prompts", "minor chords, sad prompts"],
                            mood_rows)  # fmt: skip
    print(table3)
    if args.write:
        n_tok = {k: sum(len(s) + 1 for s in v) for k, v in (("valid", valid), ("test", test))}
        md = f"""## Progressions from words (`instrument suggest`)

**Chord model.** Key-relative chord-change tokens (108 = 12 roots x 9 families, plus the
song end), trained on the train splits of McGill Billboard (`configs/splits/billboard.json`,
8:1:1 by song, duplicates grouped) and POP909 (`configs/splits/pop909.json`):
{len(train)} / {len(valid)} / {len(test)} songs (train / valid / test; {n_tok["test"]} test
tokens). Perplexity per chord change on the held-out songs (the song end counted):

{markdown_table(["model", "valid perplexity", "test perplexity"], ppl_rows)}

**Suggestions.** {len(PROMPTS)} prompts (listed in `instrument/cli/eval_suggest.py`),
{args.n} distinct 4-bar progressions each, seed 0. Proposals come from the mood-shaped
Markov proposer over the chords of the key, plain and coloured (maj7, add9, sus2; m7,
madd9: weighted by how lush the words are, an add9 scored as its triad); rejection
sampling keeps x with probability (p(x)/q(x))^(1-lam)/M.
Acceptance rate = kept / proposed (duplicates of an earlier suggestion count as kept but
are not shown, so the {args.n} shown are distinct by construction: "distinct
progressions" only checks that). Diversity within each prompt's {args.n}: distinct chord
bigrams (distinct-2) and mean pairwise Hamming distance (share of positions that
differ). Plausibility: mean chord-model log-probability per chord of the kept
progressions against all proposals.

{table2}

Mood kept through the filter (share of minor-family chords):

{table3}

The text is read by a keyword lexicon only: no sentence-embedding model is used, because
none was shown to help on this vocabulary and the lexicon's behaviour is inspectable.

The GRU is `models/chordlm-gru` (95,726 parameters; `model_card.json` has its training
curve): `instrument train chordlm` with the defaults (`--epochs 20 --hidden 128
--seed 0`), best validation epoch kept. Figures: `instrument eval suggest --write`.
Machine: 2-core CPU VM, no GPU. Date: 2026-11-22.
"""
        write_section("results.md", "suggest", md)
        print("wrote docs/results.md (suggest)")
    return 0
