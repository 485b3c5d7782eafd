"""``instrument train listen``: fit the listener's chord model on rendered POP909 songs."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "listen",
        help="fit the listener's chord model (POP909 train renders)",
        description="Render POP909 train-split excerpts (cached under .cache/listen), compute "
        "the listener's causal chroma, fit the root-shared softmax chord model, write "
        "models/listen_chords.json with its model card.",
    )
    p.add_argument("--songs", type=int, default=60, help="train songs to use (default 60)")
    p.add_argument("--start", type=float, default=30.0)
    p.add_argument("--duration", type=float, default=60.0)
    p.add_argument("--out", default=None, help="output path (default models/listen_chords.json)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from instrument.listen.tracker import CHORD_MODEL
    from instrument.listen.train import train_chord_model

    def log(msg: str) -> None:
        print(msg, flush=True)

    out = args.out or CHORD_MODEL
    model, valid_acc = train_chord_model(out, args.songs, args.start, args.duration, log)
    print(
        f"wrote {out}: train frame accuracy {model.train_frame_accuracy:.3f}, valid {valid_acc:.3f}"
    )
    return 0
