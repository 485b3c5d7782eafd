"""``instrument eval arrange``: part-assignment accuracy as a keyboardist plays.

    instrument eval arrange --dataset bach --split test [--seeds 3] [--json]

The evaluation (timings, baselines, the table) is ``instrument.arrange.evaluate``. Results
are kept per data set in ``models/<ensemble>-eval.json``; the table of all data sets goes
to ``docs/results.md`` (section ``arrange``).
"""

from __future__ import annotations

import argparse
import json

from instrument.arrange import DATASET_ENSEMBLE


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "arrange",
        help="part-assignment accuracy of every arranger",
        description="Accuracy (notes given their true part) of the arrangers on a split, "
        "with score timing and as a keyboardist plays (the performance model).",
    )
    p.add_argument("--dataset", choices=sorted(DATASET_ENSEMBLE), required=True)
    p.add_argument("--split", default="test", choices=["train", "valid", "test"])
    p.add_argument("--data", help="music data folder (default ../shared/data)")
    p.add_argument("--limit", type=int, help="only the first N pieces")
    p.add_argument("--seeds", type=int, default=3, help="performances with random order")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-write", action="store_true", help="do not update docs/ and models/")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from instrument.arrange.evaluate import LABELS, evaluate, plus_minus, save

    if args.seeds < 1:
        from instrument.errors import InstrumentError

        raise InstrumentError("--seeds must be at least 1")
    result = evaluate(
        args.dataset, args.split, args.data, args.limit, args.seeds, progress=not args.json
    )
    if not args.no_write and not args.limit:
        save(result)
    if args.json:
        keys = ("dataset", "split", "pieces", "notes", "seeds", "headline")
        keys += ("unshared_tunes", "dropped_duplicates", "constraints", "revised_pct")
        print(json.dumps({k: result.get(k) for k in keys}))
        return 0
    print(f"{args.dataset} {args.split}: {result['pieces']} pieces, {result['notes']} notes")
    print(f"{'arranger':30s} {'random final':>16s} {'random first':>16s} {'score':>8s}")
    for name, row in result["headline"].items():
        print(
            f"{LABELS[name]:30s} {plus_minus(row, 'final'):>16s} "
            f"{plus_minus(row, 'first'):>16s} {row.get('score_final', float('nan')):8.2f}"
        )
    for k, v in result["skipped"].items():
        print(f"  {k}: {v}")
    return 0
