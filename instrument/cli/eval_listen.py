"""``instrument eval listen``: the causal listener against librosa's offline baselines."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "listen",
        help="beat/downbeat/chord tracking on rendered POP909 songs vs librosa baselines",
        description="Render POP909 excerpts (cached under .cache/listen), run the causal "
        "listener block by block as live and librosa's offline beat tracker and chroma "
        "chord recognizer on the same audio, and score both with mir_eval.",
    )
    p.add_argument(
        "--dataset",
        default="pop909",
        choices=["pop909", "pop909-unseen", "real-beats", "real-audio", "targets"],
        help="pop909 (scored renders), pop909-unseen (renders with a SoundFont "
        "family kept out of all tuning, other programs, echo, noise), real-beats "
        "(../shared/data/real-audio-beats: real recordings, annotated beats) or "
        "real-audio (../shared/data/real-audio, no labels: tempo, key, "
        "chords); targets: all four in one run, the targets side by "
        "side",
    )
    p.add_argument("--split", default="test", help="train, valid or test (default test)")
    p.add_argument("--start", type=float, default=30.0, help="excerpt start, s (default 30)")
    p.add_argument("--duration", type=float, default=60.0, help="excerpt length, s (default 60)")
    p.add_argument("--limit", type=int, default=None, help="only the first N songs")
    p.add_argument(
        "--soundfont",
        default=None,
        help="pop909-unseen: the SoundFont kept out of tuning (default: csound's "
        "sf_GMbank.sf2 from /usr/share/sounds/sf2 or .cache/soundfonts)",
    )
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    p.add_argument("--no-write", action="store_true", help="do not update docs/results.md")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from instrument.errors import InstrumentError

    if args.dataset == "real-audio":
        return run_real_audio(args)
    if args.dataset == "real-beats":
        return run_real_beats(args)
    if args.duration <= 5 or args.start < 0:
        raise InstrumentError("--duration must be over 5 s and --start not negative")
    if args.dataset == "targets":
        return run_targets(args)
    res = run_pop909(args, unseen=args.dataset == "pop909-unseen")
    if args.json:
        pooled = {k: v for k, v in res.items() if k not in ("songs", "baseline_songs")}
        print(json.dumps(pooled | {"n_songs": len(res["songs"])}))
    else:
        print(res["table"])
    return 0


def run_pop909(args: argparse.Namespace, unseen: bool) -> dict:
    """Score the POP909 renders (seen SoundFonts or the unseen one); writes its section."""
    import time

    from instrument.listen.evaluate import evaluate_pop909
    from instrument.listen.report import pop909_markdown, pop909_progress

    t0 = time.time()

    def progress(i: int, n: int, row: dict) -> None:
        if not args.json:
            print(pop909_progress(i, n, row), file=sys.stderr)

    font = None
    if unseen:
        from instrument.listen.renders import unseen_soundfont

        font = unseen_soundfont(args.soundfont)
    res = evaluate_pop909(
        args.split, args.start, args.duration, args.limit, progress=progress, unseen=font
    )
    res["seconds"] = round(time.time() - t0, 1)
    res["unseen"] = font.name if font else None
    res["table"] = pop909_markdown(res, args.start, args.duration)
    if not args.no_write and args.limit is None:
        from instrument.report import write_section

        write_section("results.md", "listen-unseen" if font else "listen", res["table"])
    return res


def run_targets(args: argparse.Namespace) -> int:
    """Everything in one run: POP909 test renders (seen and unseen SoundFonts), the real
    recordings with beats, the unlabelled ones; then the targets side by side."""
    from instrument.listen.report import targets_markdown

    seen = run_pop909(args, unseen=False)
    unseen = run_pop909(args, unseen=True)
    real = run_real_beats(args, quiet=True)
    run_real_audio(args, quiet=True)
    text = targets_markdown(seen, unseen, real, args.split)
    if not args.no_write and args.limit is None:
        from instrument.report import write_section

        write_section("results.md", "listen-targets", text)
    print(text)
    return 0


def run_real_audio(args: argparse.Namespace, quiet: bool = False) -> int:
    from instrument.listen.evaluate import real_audio_report
    from instrument.listen.report import real_audio_markdown

    table, rows = real_audio_report()
    text = real_audio_markdown(table)
    if not args.no_write:
        from instrument.report import write_section

        write_section("results.md", "listen-real-audio", text)
    if quiet:
        return 0
    if args.json:
        print(json.dumps(rows))
    else:
        print(text)
    return 0


def run_real_beats(args: argparse.Namespace, quiet: bool = False):
    from instrument.listen.evaluate import evaluate_real_beats
    from instrument.listen.report import real_beats_markdown, real_beats_progress

    def progress(clip: dict) -> None:
        if not args.json:
            print(real_beats_progress(clip), file=sys.stderr)

    res = evaluate_real_beats(progress=progress)
    text = real_beats_markdown(res)
    if not args.no_write:
        from instrument.report import write_section

        write_section("results.md", "listen-real-beats", text)
    if quiet:
        return res
    if args.json:
        print(json.dumps(res))
    else:
        print(text)
    return 0
