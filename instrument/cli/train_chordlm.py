"""``instrument train chordlm``: the chord language model behind ``instrument suggest``."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "chordlm",
        help="train the chord language model (Billboard + POP909 chords)",
        description="Train the GRU chord model on the train splits of configs/splits/"
        "billboard.json and pop909.json, pick the best epoch on valid, write models/chordlm-gru.",
    )
    p.add_argument("--data", help="music data folder (default ../shared/data)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", help="model folder (default models/chordlm-gru)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import torch

    from instrument.harmony.chordlm import train_model

    torch.set_num_threads(args.threads)
    out, metrics = train_model(
        args.data, args.epochs, args.hidden, args.seed, Path(args.out) if args.out else None
    )
    print(f"test perplexity: {metrics}")
    print(f"wrote {out}")
    return 0
