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
    p.add_argument("--bars", type=number(int, 1, 64), default=4,
                   help="bars per progression (default 4)")
    p.add_argument("-n", type=number(int, 1, 100), default=5,
                   help="how many progressions (default 5)")
    p.add_argument("--seed", type=number(int, 0, 2**32 - 1), default=0)
    p.add_argument(
        "--lam",
        type=number(float, 0, 1),
        default=0.5,
        help="0 = follow the chord model only, 1 = the mood proposer only (default 0.5)",
    )
    p.add_argument("--tempo", type=number(float, 20, 400),
                   help="chart tempo (default: from the words)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--save", metavar="PATH", help="save a suggestion as a chart file")
    p.add_argument("--pick", type=number(int, 1, 100), default=1,
                   help="which suggestion --save writes (1-n; default 1, the most plausible)")
    p.add_argument("--model", help="chord model folder (default models/chordlm-gru)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    from dataclasses import replace
    from pathlib import Path

    import torch

    from instrument.errors import InstrumentError
    from instrument.harmony.chart import save_chart
    from instrument.harmony.chordlm import MODEL_DIR, ChordGRU
    from instrument.harmony.chords import parse_pitch_class
    from instrument.harmony.suggest import check_prompt, degree_names, suggest, text_attributes

    torch.set_num_threads(1)
    tonic = parse_pitch_class(args.key)
    if not 0 <= args.lam <= 1:
        raise InstrumentError("--lam must be between 0 and 1")
    check_prompt(args.text, text_attributes(args.text, args.mode))  # before the model loads
    folder = Path(args.model) if args.model else MODEL_DIR
    if not (folder / "weights.pt").exists():
        raise InstrumentError(f"no chord model in {folder}: run `instrument train chordlm`")
    model = ChordGRU.load(folder)
    found, stats, attrs = suggest(
        args.text, model, key=tonic, mode=args.mode, bars=args.bars, n=args.n, lam=args.lam,
        seed=args.seed,
    )  # fmt: skip
    key_name = args.key[0].upper() + args.key[1:] + ("m" if attrs.mode == "minor" else "")
    spelling = degree_names(key_name, tonic)  # one name per pitch class in every line
    charts = []
    for s in found:
        chart = s.chart(args.bars, title=args.text, key=key_name)
        if args.tempo:
            chart = replace(chart, tempo=args.tempo)
        charts.append(chart)
    if args.save:
        if not 1 <= args.pick <= len(found):
            raise InstrumentError(f"--pick must be 1-{len(found)}")
        path = save_chart(charts[args.pick - 1], args.save, names=spelling)
    if args.json:
        print(
            json.dumps(
                {
                    "text": args.text,
                    "attributes": {
                        "mood": attrs.mood, "mode": attrs.mode, "tempo": attrs.tempo,
                        "energy": attrs.energy, "valence": attrs.valence,
                        "colour": attrs.colour, "matched": list(attrs.matched),
                    },
                    "key": key_name,
                    "suggestions": [
                        {
                            "chords": s.names(key_name),
                            "numerals": s.numerals,
                            "log_prob": round(s.logp, 3),
                            "chart": chart.to_text(names=spelling),
                        }
                        for s, chart in zip(found, charts, strict=False)
                    ],
                    "sampling": {
                        "proposed": stats.proposed, "accepted": stats.accepted,
                        "acceptance_rate": round(stats.acceptance_rate, 4),
                    },
                    "saved": str(path) if args.save else None,
                },
                indent=1,
            )
        )  # fmt: skip
        return 0
    words = ", ".join(attrs.matched) or "no mood words recognised"
    print(
        f"{attrs.mood}, {attrs.mode}, {attrs.tempo} BPM, energy {attrs.energy:+.2f}"
        f" ({words}); key {key_name}"
    )
    for i, (s, chart) in enumerate(zip(found, charts, strict=False), 1):
        bars = chart.to_text(names=spelling).splitlines()[-1] if len(chart.bars) <= 4 else ""
        print(f"{i}. {' '.join(s.names(key_name)):28} {' '.join(s.numerals):24} {bars}")
    print(
        f"({stats.accepted} of {stats.proposed} proposals kept by the chord model,"
        f" {stats.acceptance_rate:.1%}; the most plausible to it first)"
    )
    if args.save:
        print(f"saved suggestion {args.pick} to {path}: instrument practice {path}")
    return 0
