"""``instrument recover TAKE``: rebuild a take's MIDI files from its journal after a crash."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("recover", help="rebuild a recorded take's MIDI files from its journal")
    p.add_argument("take", help="a take folder written by `instrument play --record DIR`")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from instrument.live.record import recover

    raw, notes = recover(args.take)
    print(f"recovered {raw} input messages and {notes} arranged notes into {args.take}")
    return 0
