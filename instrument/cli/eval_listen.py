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
    p.add_argument("--dataset", default="pop909", choices=["pop909", "real-audio"],
                   help="pop909 (scored) or real-audio (../shared/data/real-audio, no labels: "
                   "tempo, key and chords found)")  # fmt: skip
    p.add_argument("--split", default="test", help="train, valid or test (default test)")
    p.add_argument("--start", type=float, default=30.0, help="excerpt start, s (default 30)")
    p.add_argument("--duration", type=float, default=60.0, help="excerpt length, s (default 60)")
    p.add_argument("--limit", type=int, default=None, help="only the first N songs")
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    p.add_argument("--no-write", action="store_true", help="do not update docs/results.md")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    from instrument.errors import InstrumentError
    from instrument.listen.evaluate import evaluate_pop909

    if args.dataset == "real-audio":
        return run_real_audio(args)
    if args.duration <= 5 or args.start < 0:
        raise InstrumentError("--duration must be over 5 s and --start not negative")
    t0 = time.time()

    def progress(i: int, n: int, row: dict) -> None:
        if not args.json:
            print(f"[{i}/{n}] {row['id']}: beat F {row['beat_f']:.3f} downbeat F "
                  f"{row['downbeat_f']:.3f} majmin {row['majmin']:.3f} "
                  f"({row['condition']})", file=sys.stderr)  # fmt: skip

    res = evaluate_pop909(args.split, args.start, args.duration, args.limit, progress=progress)
    res["seconds"] = round(time.time() - t0, 1)
    table = results_markdown(res, args)
    if not args.no_write and args.limit is None:
        from instrument.report import write_section

        write_section("results.md", "listen", table)
    if args.json:
        print(json.dumps({k: v for k, v in res.items() if k not in ("songs", "baseline_songs")}
                         | {"n_songs": len(res["songs"])}))  # fmt: skip
    else:
        print(table)
    return 0


def results_markdown(res: dict, args: argparse.Namespace) -> str:
    from instrument.report import markdown_table

    names = {"beat_f": "beat F", "cmlt": "CMLt", "amlt": "AMLt", "downbeat_f": "downbeat F",
             "tempo_acc1": "tempo Acc1", "tempo_acc2": "tempo Acc2", "majmin": "majmin WCSR",
             "root": "root WCSR", "thirds": "thirds WCSR",
             "changes_per_min": "chord changes / min"}  # fmt: skip
    targets = {"beat_f": "≥ 0.85", "downbeat_f": "≥ 0.6", "majmin": "≥ 0.80"}
    targets["changes_per_min"] = f"(annotation: {res['listener']['ref_changes_per_min']:.1f})"
    rows = [[names[k], res["listener"][k], res["baseline"][k], targets.get(k, "")]
            for k in names]  # fmt: skip
    n = len(res["songs"])
    cmd = (
        f"instrument eval listen --dataset pop909 --split {res['split']}"
        + (f" --start {args.start:g}" if args.start != 30 else "")
        + (f" --duration {args.duration:g}" if args.duration != 60 else "")
    )
    return "\n".join(
        [
            "## Listening: causal beat, downbeat and chord tracking (POP909 renders)",
            "",
            f"POP909 **{res['split']}** split (configs/splits/pop909.json), all {n} songs; from "
            f"each, a {res['duration']:g} s excerpt starting at {res['start']:g} s (earlier if "
            "the song is shorter), rendered by FluidSynth with one fixed condition per song "
            "(FluidR3_GM or TimGM6mb, gain 0.2-1.5 so some clip, none/white/pink noise at "
            "12-30 dB SNR, none or synthetic reverb RT60 0.4-1.2 s). Listener: causal, 1024-"
            "sample blocks as live, cold start per excerpt; chord model fitted on 60 train-"
            "split songs (models/listen_chords.json), other settings chosen on the valid "
            "split, nothing tuned on test. Baseline: librosa offline "
            "`beat_track`; downbeats = every 4th librosa beat at the phase of largest chroma "
            "change (chosen with hindsight); chords = `chroma_cqt` + 25 templates + Viterbi. "
            "Reference bars: POP909 4-beat bars (column 3 of beat_midi.txt; column 2 for "
            "3-beat songs). mir_eval defaults (beats before 5 s not scored); WCSR pooled by "
            "duration over all excerpts; beat scores are means over excerpts.",
            "",
            markdown_table(["metric", "listener (causal)", "librosa (offline)", "target"], rows),
            "",
            f"Command: `{cmd}` ({res['seconds']:.0f} s wall incl. cached renders). "
            "Machine: 2-core CPU VM shared with other jobs, no GPU. Date: " + _today() + ".",
        ]
    )


def run_real_audio(args: argparse.Namespace) -> int:
    from instrument.listen.evaluate import real_audio_report

    table, rows = real_audio_report()
    text = "\n".join(
        [
            "## Listening: real recordings (sanity check, no labels)",
            "",
            "The causal listener on the five recordings of `../shared/data/real-audio/` "
            "(1024-sample blocks, as live). Known: the trumpet loop is 90 BPM in F (blues/"
            "Dorian); the Hungarian Dance No. 5 is titled in F# minor (orchestral versions are "
            "usually in G minor); the Sugar Plum Fairy is in E minor.",
            "",
            table,
            "",
            "Command: `instrument eval listen --dataset real-audio`. Machine: 2-core CPU VM, "
            "no GPU. Date: " + _today() + ".",
        ]
    )
    if not args.no_write:
        from instrument.report import write_section

        write_section("results.md", "listen-real-audio", text)
    if args.json:
        print(json.dumps(rows))
    else:
        print(text)
    return 0


def _today() -> str:
    """The run's date (UTC), for the report's footer."""
    import datetime

    return datetime.datetime.now(datetime.UTC).date().isoformat()
