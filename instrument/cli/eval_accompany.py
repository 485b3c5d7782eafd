"""``instrument eval accompany``: the band's quality on held-out POP909, in docs/results.md."""

from __future__ import annotations

import argparse

from instrument.cli.train_accompany import DEFAULT_MODEL


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "accompany",
        help="accompaniment/continuation quality: ground truth vs rule-based styles vs model",
        description="Chord-tone ratio, pitch-class entropy, scale and groove consistency and "
        "note density of ground truth, every rule-based style and the model on a POP909 "
        "split, plus the model's NLL; writes the table to docs/results.md.",
    )
    p.add_argument("--split", default="test", help="train, valid or test (default test)")
    p.add_argument("--model", default=str(DEFAULT_MODEL))
    p.add_argument("--bars", type=int, default=16, help="bars accompanied per song")
    p.add_argument("--limit", type=int, default=None, help="only the first N songs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--temperature",
        type=float,
        default=None,
        help="sampling temperature (default: the generator's)",
    )
    p.add_argument("--top-p", type=float, default=None)
    p.add_argument("--data", default=None, help="music data folder (default ../shared/data)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--no-write", action="store_true", help="do not update docs/results.md")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    import sys
    import time

    import torch

    from instrument.accompany.data import load_grid_split
    from instrument.accompany.evaluate import evaluate
    from instrument.accompany.model import load_model
    from instrument.accompany.train import encode, evaluate_nll

    torch.set_num_threads(1)  # one-beat planning is sequential
    t0 = time.monotonic()
    model = load_model(args.model)
    songs = load_grid_split(args.split, args.data, args.limit)

    def log(msg: str) -> None:
        if not args.json:
            print(msg, file=sys.stderr, flush=True)

    sampling = {
        k: v for k, v in (("temperature", args.temperature), ("top_p", args.top_p)) if v is not None
    }
    result = evaluate(songs, model, bars=args.bars, seed=args.seed, sampling=sampling, log=log)
    result["sampling"] = sampling
    result["model_nll"] = evaluate_nll(model, [encode(s) for s in songs], max_windows=10**9)
    result["split"] = args.split
    result["model"] = args.model if args.model != str(DEFAULT_MODEL) else "models/accompany-lstm.pt"
    result["seconds"] = round(time.monotonic() - t0, 1)
    md = to_markdown(result, args)
    if not args.no_write and args.limit is None:
        from instrument.report import write_section

        write_section("results.md", "accompany", md)
    print(json.dumps(result, indent=1) if args.json else md)
    return 0


def to_markdown(r: dict, args: argparse.Namespace) -> str:
    import datetime

    from instrument.accompany.evaluate import METRICS
    from instrument.report import markdown_table

    names = {
        "chord_tone_ratio": "chord-tone ratio",
        "pitch_class_entropy": "PC entropy (bits)",
        "scale_consistency": "scale consistency",
        "groove_consistency": "groove consistency",
        "note_density": "notes/beat",
    }
    header = ["system", *[names[m] for m in METRICS], "NLL (nats/token)"]

    def rows(table: dict, nll: bool) -> list[list[object]]:
        out = []
        for system, m in table.items():
            label = "rule: " + system if system not in ("ground truth", "model") else system
            out.append(
                [
                    label,
                    *[m[k] for k in METRICS],
                    r["model_nll"] if nll and system == "model" else "-",
                ]
            )
        return out

    acc, gt = r["accompaniment"], r["accompaniment"]["ground truth"]
    checks = []
    for k in ("chord_tone_ratio", "groove_consistency"):
        rel = abs(acc["model"][k] - gt[k]) / gt[k]
        rules_gap = min(
            abs(acc[s][k] - gt[k]) / gt[k] for s in acc if s not in ("ground truth", "model")
        )
        checks.append(
            f"- {names[k]}: model {acc['model'][k]:.4f} vs ground truth {gt[k]:.4f} "
            f"({100 * rel:.1f}% off; target within 5%: "
            f"{'met' if rel <= 0.05 else 'NOT met'}); closest rule-based style "
            f"{100 * rules_gap:.1f}% off"
        )
    return "\n".join(
        [
            "## Jam mode: accompaniment and continuation (POP909)",
            "",
            f"Split: POP909 `{r['split']}` ({r['songs']} songs, configs/splits/pop909.json), "
            f"first {r['bars']} bars of each song. Every system hears the song's melody as the "
            "player, replayed as live (beat b planned at beat b-1), over the song's chord labels. "
            "Accompaniment = bass + comping (drums excluded); ground truth = the song's PIANO "
            "track split into bass and comping. Metrics as in MMT/MusPy, 16th-note grid.",
            "",
            "### Accompaniment",
            "",
            markdown_table(header, rows(r["accompaniment"], True)),
            "",
            *checks,
            "",
            f"### Continuation ({r['continuation_songs']} songs)",
            "",
            "The melody stops two beats before bar 8; the band continues the phrase. Measured on "
            "its melody over the 16 beats from bar 8 + 2 beats; ground truth = the song's melody "
            "there. Rule-based continuation: chord-tone eighth notes (the same for every style).",
            "",
            markdown_table(header, rows(r["continuation"], False)),
            "",
            "NLL: the model's teacher-forced mean negative log-likelihood per token over the whole "
            "test songs (untransposed).",
            "",
            f"Model: `{r.get('model', 'models/accompany-lstm.pt')}`, sampling "
            f"{_sampling_text(r.get('sampling') or {})}; the rule-based styles are deterministic.",
            "",
            f"Command: `instrument eval accompany --split {r['split']}`"
            f"{'' if args.bars == 16 else f' --bars {args.bars}'}; machine: 2-core CPU VM, no GPU "
            f"(shared); {r['seconds']:.0f} s; date {datetime.date.today().isoformat()}.",
        ]
    )


def _sampling_text(sampling: dict) -> str:
    from instrument.accompany.generator import ModelGenerator

    defaults = ModelGenerator.__init__.__defaults__  # temperature, top_k, top_p, ...
    t = sampling.get("temperature", defaults[0])
    p = sampling.get("top_p", defaults[2])
    note = "" if sampling else " (the defaults, chosen on 16 songs of the valid split)"
    return f"temperature {t:g}, top-k {defaults[1]}, top-p {p:g}{note}"
