"""``instrument eval arrange``: the paper's table (Dong et al., ISMIR 2021) on our splits.

    instrument eval arrange --dataset bach --split test [--json]

Every arranger runs through the arranger interface exactly as live: notes one at a time
in (onset, pitch) order with ``beat=None``, releases delivered at note ends, the online
models seeing only their own past choices. Two timings are measured: the score's exact
onsets ("exact"), and "live", the same notes as a keyboardist plays them (chords rolled
low to high over up to 20 ms, onsets jittered by ~6 ms; fixed seed).

Results are kept per data set in ``models/<ensemble>-eval.json`` and the whole table
(all data sets evaluated so far, beside the paper's figures) is written to
``docs/results.md`` (section ``arrange``).
"""

from __future__ import annotations

import argparse
import datetime
import json

from instrument.cli.train_arrange import DATASET_ENSEMBLE

# Table 2 of Dong et al. (ISMIR 2021), accuracy in %
PAPER = {
    "zone": {"bach": 73.14, "quartet": 58.85, "pop": 57.07},
    "lstm": {"bach": 93.02, "quartet": 67.43, "pop": 74.14},
    "bilstm": {"bach": 97.13, "quartet": 74.38, "pop": 77.23},
    "closest": {"bach": 68.87, "quartet": 50.69, "pop": 47.45},
}
LABELS = {
    "zone": "zone-based (online)",
    "closest": "closest-pitch (online)",
    "lstm": "LSTM (online)",
    "lstm-window": "LSTM + 20 ms chord window",
    "bilstm": "BiLSTM (offline)",
}
ORDER = ("zone", "lstm", "lstm-window", "bilstm", "closest")
COLUMNS = ("bach", "quartet", "pop909", "pop")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "arrange",
        help="part-assignment accuracy of every arranger",
        description="Accuracy (notes given their true part) of the arrangers on a split.",
    )
    p.add_argument("--dataset", choices=sorted(DATASET_ENSEMBLE), required=True)
    p.add_argument("--split", default="test", choices=["train", "valid", "test"])
    p.add_argument("--data", help="music data folder (default ../shared/data)")
    p.add_argument("--limit", type=int, help="only the first N pieces")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-write", action="store_true", help="do not update docs/ and models/")
    p.set_defaults(func=run)


def notes_of(piece, time_s=None, end_s=None):
    from instrument.arrange.base import Note

    t = piece.time if time_s is None else time_s
    e = piece.end if end_s is None else end_s
    return [
        Note(int(p), int(v), float(a), None, float(b))
        for p, v, a, b in zip(piece.pitch, piece.velocity, t, e, strict=True)
    ]


def make(name: str, ensemble):
    """The arranger ``name``; ``lstm-window`` (not a live choice yet) is built here."""
    from instrument.arrange import make_arranger

    if name == "lstm-window":
        from instrument.arrange.neural import ChordWindowArranger

        return ChordWindowArranger(ensemble)
    return make_arranger(name, ensemble)


def window_latency(live_times: list) -> dict:
    """Mean and largest wait of a decision for its chord window, live timing, in ms."""
    import numpy as np

    from instrument.arrange.neural import DEFAULT_BEAM, DEFAULT_WINDOW_S, window_waits

    waits = np.concatenate([window_waits(t, DEFAULT_WINDOW_S) for t, _ in live_times])
    return {
        "window_ms": 1e3 * DEFAULT_WINDOW_S,
        "beam": DEFAULT_BEAM,
        "mean_wait_ms": round(1e3 * float(waits.mean()), 2),
        "max_wait_ms": round(1e3 * float(waits.max()), 2),
    }


def evaluate(dataset: str, split: str, data=None, limit=None, progress=False) -> dict:
    import numpy as np

    from instrument.arrange import ARRANGERS
    from instrument.arrange.features import humanize
    from instrument.datasets.corpus import load_pieces
    from instrument.ensemble import load_ensemble
    from instrument.errors import InstrumentError
    from instrument.paths import MODELS

    ensemble = load_ensemble(DATASET_ENSEMBLE[dataset])
    pieces = load_pieces(dataset, split, data, limit, progress=progress)
    rng = np.random.default_rng(1234)
    live = [humanize(p.time, p.end, rng) for p in pieces]
    names = [n for n in ORDER if n in ARRANGERS or n == "lstm-window"]
    acc: dict[str, float] = {}
    acc_live: dict[str, float] = {}
    skipped = {}
    for name in names:
        kind = name.split("-")[0]
        if kind in ("lstm", "bilstm") and not (MODELS / f"{ensemble.name}-{kind}.pt").exists():
            skipped[name] = "no trained model"
            continue
        try:
            arranger = make(name, ensemble)
        except InstrumentError as e:
            skipped[name] = str(e)
            continue
        if hasattr(arranger, "budget_ns"):
            # accuracy of the model itself, reproducible on a busy machine: the budget
            # guard's fallbacks are measured by bench/bench_arrange_step.py instead
            arranger.budget_ns = 1 << 62
        for timing, out in (("exact", acc), ("live", acc_live)):
            right = total = 0
            for piece, (t, e) in zip(pieces, live, strict=True):
                notes = notes_of(piece) if timing == "exact" else notes_of(piece, t, e)
                pred = np.asarray(arranger.assign_all(notes))
                right += int((pred == piece.part).sum())
                total += len(piece)
            out[name] = right / max(total, 1)
        if hasattr(arranger, "fallbacks"):
            skipped[f"{name} fallbacks"] = arranger.fallbacks
    return {
        "dataset": dataset,
        "split": split,
        "ensemble": ensemble.name,
        "pieces": len(pieces),
        "notes": int(sum(len(p) for p in pieces)),
        "accuracy": acc,
        "accuracy_live_timing": acc_live,
        "notes_on_skipped": skipped,
        "chord_window": window_latency(live) if "lstm-window" in acc else None,
        "date": datetime.date.today().isoformat(),
        "command": f"instrument eval arrange --dataset {dataset} --split {split}"
        + (f" --limit {limit}" if limit else ""),
    }


def table_markdown() -> str:
    """The whole table from every ``models/*-eval.json``, ours beside the paper's."""
    from instrument.paths import MODELS
    from instrument.report import markdown_table

    results = {}
    for path in sorted(MODELS.glob("*-eval.json")):
        r = json.loads(path.read_text())
        if r.get("split") == "test":
            results[r["dataset"]] = r
    cols = [c for c in COLUMNS if c in results]
    header = (
        ["model"]
        + [f"{c} (ours)" for c in cols]
        + ["Bach (paper)", "quartets (paper)", "pop (paper)"]
    )
    rows = []
    for name in ORDER:
        row: list[object] = [LABELS[name]]
        for c in cols:
            a = results[c]["accuracy"].get(name)
            b = results[c]["accuracy_live_timing"].get(name)
            row.append("—" if a is None else f"{100 * a:.2f} ({100 * b:.2f})")
        paper = PAPER.get(name)
        row += [f"{paper[k]:.2f}" if paper else "—" for k in ("bach", "quartet", "pop")]
        rows.append(row)
    lines = [
        "## Automatic instrumentation (part assignment), test splits",
        "",
        "Accuracy in % of notes assigned to their true part. Ours: exact score timing, in "
        "parentheses the same notes with live timing (chords rolled low to high over up to "
        "20 ms, ~6 ms jitter). All models see `beat=None` (no score, no beat clock) and the "
        "online ones only their own past decisions. Paper: Dong et al., ISMIR 2021, Table 2 "
        "(their splits and data differ: their pop set is Lakh, not POP909).",
        "",
        markdown_table(header, rows),
        "",
    ]
    for c in cols:
        r = results[c]
        lines.append(
            f"- {c}: {r['pieces']} test pieces, {r['notes']} notes; split "
            f"`configs/splits/{'pop909' if c == 'pop' else c}.json`; command "
            f"`{r['command']}`; {r['date']}, 2-core CPU VM, no GPU."
        )
    lines.append(
        "- BiLSTM (offline): the whole piece in both directions; its choices are decoded "
        "per onset group, one note per part (the assignment of the group's notes to the "
        "parts with the largest summed log-probability, Hungarian method; "
        "`instrument/arrange/decode.py`), when its card says `decode: groups`."
    )
    windows = [(c, results[c].get("chord_window")) for c in cols]
    windows = [(c, w) for c, w in windows if w]
    if windows:
        lines.append(
            f"- LSTM + chord window: the notes struck within {windows[0][1]['window_ms']:g} ms "
            "of a window's first note are decided together when the window closes (beam "
            f"search of width {windows[0][1]['beam']} over the online LSTM's choices; for "
            "the choir and the quartet one note per part per onset group while a part is "
            "free; "
            "`instrument/arrange/fast.py` `window_run`). It adds latency: each decision "
            "waits for its window to close, with live timing on average "
            + ", ".join(f"{w['mean_wait_ms']:.1f} ms ({c})" for c, w in windows)
            + f", at most {windows[0][1]['window_ms']:g} ms. Evaluated on whole note lists "
            "only: live playing (`instrument play`) still decides each note at once (the "
            "LSTM row)."
        )
    if "pop" in cols:
        lines.append(
            "- pop: the five-part pop band has no data set of its own; its labels are "
            "derived from POP909 by a fixed rule (melody→Brass, bridge→Strings, piano "
            "split into Guitar/Piano/Bass; see `instrument/datasets/corpus.py`), so "
            "this column measures learning that rule, not a real arrangement."
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from instrument.paths import MODELS
    from instrument.report import write_section

    result = evaluate(args.dataset, args.split, args.data, args.limit, progress=not args.json)
    if not args.no_write and not args.limit:
        path = MODELS / f"{result['ensemble']}-eval.json"
        if args.split == "test":
            path.write_text(json.dumps(result, indent=1) + "\n")
            write_section("results.md", "arrange", table_markdown())
    if args.json:
        print(
            json.dumps(
                {
                    k: result[k]
                    for k in (
                        "dataset",
                        "split",
                        "accuracy",
                        "accuracy_live_timing",
                        "pieces",
                        "notes",
                    )
                }
            )
        )
        return 0
    print(f"{args.dataset} {args.split}: {result['pieces']} pieces, {result['notes']} notes")
    print(f"{'model':28s} {'exact':>8s} {'live':>8s} {'paper':>8s}")
    col = "pop" if args.dataset in ("pop909", "pop") else args.dataset
    for name in ORDER:
        if name in result["accuracy"]:
            print(
                f"{LABELS[name]:28s} {100 * result['accuracy'][name]:8.2f} "
                f"{100 * result['accuracy_live_timing'][name]:8.2f} "
                + (f"{PAPER[name][col]:8.2f}" if name in PAPER else f"{'—':>8s}")
            )
    for k, v in result["notes_on_skipped"].items():
        print(f"  {k}: {v}")
    if result["chord_window"]:
        print(f"  chord window: {result['chord_window']}")
    return 0
