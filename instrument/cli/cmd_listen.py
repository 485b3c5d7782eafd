"""``instrument listen``: follow the beat, bar, tempo and chords of a file or a live input."""

from __future__ import annotations

import argparse

from instrument.cli.options import number


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "listen",
        help="track beats, bars, tempo and chords (live input or a file)",
        description="Causal beat, downbeat, tempo, meter, chord and key tracking. Without "
        "FILE, listens to the default input (or --input DEVICE); with FILE (wav, flac, "
        "ogg, ...), runs the same causal code block by block, faster than real time.",
    )
    p.add_argument("file", nargs="?", metavar="FILE", help="audio file to analyse")
    p.add_argument("--input", metavar="DEVICE", help="input device name or number (live)")
    p.add_argument(
        "--json",
        action="store_true",
        help='one JSON line per beat ({"t","beat","bar","bpm"}) and per chord '
        'change ({"t","chord"}); on a JACK input, first {"origin_frame"}: the JACK frame '
        "of t = 0",
    )
    p.add_argument(
        "--duration", type=number(float, 0.01, 1e6), metavar="S", help="live: stop after S seconds"
    )
    p.add_argument("--list-devices", action="store_true", help="list audio inputs and exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from instrument.errors import InstrumentError
    from instrument.listen.live import (
        display_sink,
        input_devices,
        json_sink,
        line_sink,
        origin_line,
        run_file,
        run_live,
        summary_line,
    )

    if args.list_devices:
        for line in input_devices():
            print(line)
        return 0
    if args.file and args.input:
        raise InstrumentError("give either FILE or --input, not both")
    if args.duration is not None and args.duration <= 0:
        raise InstrumentError("--duration must be positive")
    on_origin = None
    if args.json:
        sink = json_sink()
        on_origin = origin_line
    elif sys.stdout.isatty():
        sink = display_sink()  # one status line, rewritten in place
    else:  # a file or a pipe: whole lines, no carriage returns
        sink = line_sink()
    try:
        if args.file:
            listener = run_file(args.file, sink)
        else:
            listener = run_live(sink, args.input, args.duration, on_origin=on_origin)
    except BrokenPipeError:  # the reader (head, a pipe) went away: not an error
        sys.stderr.close()
        return 0
    if not args.json:
        print("\n" + summary_line(listener), file=sys.stderr)
    return 0
