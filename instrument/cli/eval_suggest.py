"""``instrument eval suggest``: the chord model's perplexity against unigram and bigram
baselines on held-out songs, and the acceptance rate and diversity of ``suggest``."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser("suggest", help="chord model perplexity; suggestion statistics")
    p.add_argument("--data", help="music data folder (default ../shared/data)")
    p.add_argument("-n", type=int, default=5, help="suggestions per prompt (default 5)")
    p.add_argument("--write", action="store_true", help="write docs/results.md (suggest)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from instrument.harmony import chordlm
    from instrument.harmony.evaluate import (
        MOOD_HEADER,
        PERPLEXITY_HEADER,
        SAMPLING_HEADER,
        mood_rows,
        perplexity_rows,
        sampling_rows,
        suggest_markdown,
    )
    from instrument.report import markdown_table, write_section

    torch.set_num_threads(2)
    train = chordlm.load_corpus("train", args.data)
    valid = chordlm.load_corpus("valid", args.data)
    test = chordlm.load_corpus("test", args.data)
    gru = chordlm.ChordGRU.load()
    ppl_rows = perplexity_rows(train, valid, test, gru)
    print(markdown_table(PERPLEXITY_HEADER, ppl_rows))
    rows, minor_share = sampling_rows(gru, args.n)
    sampling_table = markdown_table(SAMPLING_HEADER, rows)
    print(sampling_table)
    mood_table = markdown_table(MOOD_HEADER, mood_rows(minor_share))
    print(mood_table)
    if args.write:
        md = suggest_markdown(train, valid, test, args.n, ppl_rows, sampling_table, mood_table)
        write_section("results.md", "suggest", md)
        print("wrote docs/results.md (suggest)")
    return 0
