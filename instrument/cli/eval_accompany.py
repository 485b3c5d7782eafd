"""``instrument eval accompany``: the band's quality on held-out POP909, in docs/results.md."""

from __future__ import annotations

import argparse

from instrument.accompany.options import DEFAULT_MODEL


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "accompany",
        help="accompaniment/continuation quality: ground truth vs rule-based styles vs model",
        description="Chord-tone ratio, pitch-class entropy, scale and groove consistency and "
        "note density of ground truth, every rule-based style and the model on a POP909 "
        "split, plus the model's NLL; writes the table to docs/results.md.",
    )
    p.add_argument("--split", default="test", help="train, valid or test (default test)")
    p.add_argument("--model", default=str(DEFAULT_MODEL))
    p.add_argument("--bars", type=int, default=16, help="bars accompanied per song")
    p.add_argument("--limit", type=int, default=None, help="only the first N songs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--temperature",
        type=float,
        default=None,
        help="sampling temperature (default: the generator's)",
    )
    p.add_argument("--top-p", type=float, default=None)
    p.add_argument("--data", default=None, help="music data folder (default ../shared/data)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--no-write", action="store_true", help="do not update docs/results.md")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    import torch

    from instrument.accompany.evaluate import evaluate_model, results_markdown

    torch.set_num_threads(1)  # one-beat planning is sequential

    def log(msg: str) -> None:
        if not args.json:
            print(msg, file=sys.stderr, flush=True)

    sampling = {
        k: v for k, v in (("temperature", args.temperature), ("top_p", args.top_p)) if v is not None
    }
    result = evaluate_model(
        args.model, args.split, args.data, args.limit, args.bars, args.seed, sampling, log
    )
    md = results_markdown(result, args.bars)
    if not args.no_write and args.limit is None:
        from instrument.report import write_section

        write_section("results.md", "accompany", md)
    print(json.dumps(result, indent=1) if args.json else md)
    return 0
