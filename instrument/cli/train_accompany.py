"""``instrument train accompany``: train the chord-aware accompaniment LSTM on POP909."""

from __future__ import annotations

import argparse

from instrument.accompany.options import DEFAULT_MODEL


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "accompany",
        help="train the accompaniment/continuation model on POP909",
        description="Train the chord-aware LSTM on the POP909 train split (the project's "
        "committed split) for a wall-clock budget; writes the weights and a model card.",
    )
    p.add_argument("--minutes", type=float, default=15.0, help="training time budget")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for torch")
    p.add_argument("--d-model", type=int, default=256)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq-len", type=int, default=192)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--limit", type=int, default=None, help="use only the first N songs per split")
    p.add_argument("--data", default=None, help="music data folder (default ../shared/data)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--init", default=None, help="continue training these weights (a previous run's .pt)"
    )
    p.add_argument("-o", "--out", default=str(DEFAULT_MODEL), help="weights file (.pt)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    import torch

    from instrument.accompany.train import TrainSettings, train_model

    torch.set_num_threads(args.threads)

    def log(msg: str) -> None:
        print(msg, flush=True)

    out = Path(args.out)
    settings = TrainSettings(
        args.minutes,
        args.threads,
        args.d_model,
        args.layers,
        args.batch,
        args.seq_len,
        args.lr,
        args.limit,
        args.data,
        args.seed,
        args.init,
    )
    command = "instrument train accompany " + " ".join(sys.argv[3:])
    result = train_model(out, settings, command, log)
    log(f"wrote {out} and {out.with_suffix('.json')} (valid NLL {result['valid_nll']:.4f})")
    return 0
