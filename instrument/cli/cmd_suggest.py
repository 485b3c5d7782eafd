"""``instrument suggest "TEXT"``: chord progressions from a few words of inspiration."""

from __future__ import annotations

import argparse

from instrument.cli.options import number


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "suggest",
        help="chord progressions from a sentence (mood lexicon + chord language model)",
        description="Turn words into chord progressions: a mood lexicon sets mode, tempo "
        "and chord colours, proposals are filtered by rejection sampling against a chord "
        "model trained on Billboard and POP909 songs.",
    )
    p.add_argument("text", help='inspiration, e.g. "memories of a warm summer beach"')
    p.add_argument("--key", default="C", help="tonic, e.g. C, F#, Bb (default C)")
    p.add_argument("--mode", choices=("major", "minor"), help="default: from the words")
    p.add_argument(
        "--bars", type=number(int, 1, 64), default=4, help="bars per progression (default 4)"
    )
    p.add_argument(
        "-n", type=number(int, 1, 100), default=5, help="how many progressions (default 5)"
    )
    p.add_argument("--seed", type=number(int, 0, 2**32 - 1), default=0)
    p.add_argument(
        "--lam",
        type=number(float, 0, 1),
        default=0.5,
        help="0 = follow the chord model only, 1 = the mood proposer only (default 0.5)",
    )
    p.add_argument(
        "--tempo", type=number(float, 20, 400), help="chart tempo (default: from the words)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--save", metavar="PATH", help="save a suggestion as a chart file")
    p.add_argument(
        "--pick",
        type=number(int, 1, 100),
        default=1,
        help="which suggestion --save writes (1-n; default 1, the most plausible)",
    )
    p.add_argument("--model", help="chord model folder (default models/chordlm-gru)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    import torch

    from instrument.errors import InstrumentError
    from instrument.harmony.chart import save_chart
    from instrument.harmony.chordlm import load_trained
    from instrument.harmony.chords import parse_pitch_class
    from instrument.harmony.suggest import Suggested, check_prompt, suggest, text_attributes

    torch.set_num_threads(1)
    tonic = parse_pitch_class(args.key)
    if not 0 <= args.lam <= 1:
        raise InstrumentError("--lam must be between 0 and 1")
    check_prompt(args.text, text_attributes(args.text, args.mode))  # before the model loads
    model = load_trained(Path(args.model) if args.model else None)
    found, stats, attrs = suggest(
        args.text,
        model,
        key=tonic,
        mode=args.mode,
        bars=args.bars,
        n=args.n,
        lam=args.lam,
        seed=args.seed,
    )
    shown = Suggested.of(args.text, found, stats, attrs, args.key, tonic, args.bars, args.tempo)
    path = None
    if args.save:
        if not 1 <= args.pick <= len(found):
            raise InstrumentError(f"--pick must be 1-{len(found)}")
        path = save_chart(shown.charts[args.pick - 1], args.save, names=shown.spelling)
    if args.json:
        saved = str(path) if path is not None else None
        print(json.dumps(shown.to_json(saved), indent=1))
        return 0
    print("\n".join(shown.lines()))
    if args.save:
        print(f"saved suggestion {args.pick} to {path}: instrument practice {path}")
    return 0
