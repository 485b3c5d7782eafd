"""``instrument train arrange``: train the online LSTM or offline BiLSTM part assigner.

    instrument train arrange --dataset bach --model lstm
    instrument train arrange --dataset quartet --model bilstm --seed 1
    instrument train arrange --midi-dir ~/lakh --ensemble pop --model lstm

Writes ``models/<ensemble>-<model>.pt``, its model card ``models/<ensemble>-<model>.json``
and the learned zone split ``models/<ensemble>-zone.json`` (the baseline and the
LSTM's fallback).
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import time
from pathlib import Path

from instrument.errors import InstrumentError

DATASET_ENSEMBLE = {"bach": "choir", "quartet": "quartet", "pop909": "pop909", "pop": "pop"}

DEFAULTS = {
    # small: it must train on two shared CPU cores and revise a chord within the budget
    "lstm": dict(
        hidden=64,
        layers=2,
        embed=16,
        lr=2e-3,
        batch=16,
        window=250,
        variants=4,
        steps=0,
        dagger_epochs=4,
    ),
    "bilstm": dict(
        hidden=128,
        layers=2,
        embed=16,
        lr=1e-3,
        batch=16,
        window=250,
        variants=3,
        steps=0,
        dagger_epochs=0,
        decode="groups",
    ),
}
# POP909 has ten times the notes of the chorales: fewer, sampled steps per epoch
POP_STEPS = 120


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "arrange",
        help="train the part-assignment model (LSTM / BiLSTM)",
        description="Train an arranger on a data set's committed train split, stopping early "
        "on the validation split.",
    )
    p.add_argument("--dataset", choices=sorted(DATASET_ENSEMBLE), help="built-in data set")
    p.add_argument("--midi-dir", help="train on your own multitrack MIDI files (tracks = parts)")
    p.add_argument("--ensemble", help="ensemble to train for (default: the data set's)")
    p.add_argument(
        "--model",
        choices=["lstm", "bilstm", "zone"],
        default="lstm",
        help="zone: only fit the zone split (also written when training lstm/bilstm)",
    )
    p.add_argument("--data", help="music data folder (default ../shared/data)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=40, help="most teacher-forced epochs")
    p.add_argument("--patience", type=int, default=4, help="early stopping patience")
    p.add_argument("--max-minutes", type=float, default=14.0, help="wall-clock budget")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--limit", type=int, help="use only the first N pieces of each split")
    p.add_argument("--out", help="checkpoint path (default models/<ensemble>-<model>.pt)")
    p.add_argument("--init", help="go on training this checkpoint (same model and sizes)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    for key in (
        "hidden",
        "layers",
        "embed",
        "batch",
        "window",
        "variants",
        "steps",
        "dagger_epochs",
    ):
        p.add_argument(f"--{key.replace('_', '-')}", type=int, dest=key)
    p.add_argument("--lr", type=float)
    p.add_argument(
        "--orders",
        help="lstm: arrival orders to train on, comma-separated (random, low-high, "
        "high-low; default: random twice as often as each of the others)",
    )
    p.add_argument(
        "--select",
        choices=["mean", "first", "final"],
        help="lstm: validation score for model selection: mean of first and final "
        "accuracy (default), or one (a first-decision model: --select first, written to "
        "models/<ensemble>-lstm-first.pt with --out)",
    )
    p.add_argument(
        "--decode",
        choices=["argmax", "groups"],
        help="bilstm: each note on its own, or one note per part per onset group (default)",
    )
    p.set_defaults(func=run)


def load_data(args) -> tuple[str, list, list, list, dict]:
    """(ensemble name, train, valid, test pieces, split info for the card)."""
    from instrument.datasets import corpus
    from instrument.datasets.splits import make_split, split_hash

    if args.midi_dir:
        if not args.ensemble:
            raise InstrumentError("--midi-dir needs --ensemble (the parts the tracks map to)")
        from instrument.ensemble import load_ensemble

        ens = load_ensemble(args.ensemble)
        pieces = corpus.midi_pieces(args.midi_dir, n_parts=len(ens))
        by_id = {p.id: p for p in pieces}
        split = make_split({i: [i] for i in by_id})
        sets = [[by_id[i] for i in split[s]][: args.limit] for s in ("train", "valid", "test")]
        if not sets[0] or not sets[1]:
            raise InstrumentError(f"{args.midi_dir}: too few usable files for a split")
        info = {
            "source": "midi folder",
            "split": "8:1:1 by file, numpy default_rng(0)",
            "files": len(pieces),
        }
        return ens.name, *sets, info
    if not args.dataset:
        raise InstrumentError("give --dataset or --midi-dir")
    sets = [
        corpus.load_pieces(args.dataset, s, args.data, args.limit, progress=not args.no_progress)
        for s in ("train", "valid", "test")
    ]
    name = corpus.split_name(args.dataset)
    info = {"file": f"configs/splits/{name}.json", "hash": split_hash(name)}
    return args.ensemble or DATASET_ENSEMBLE[args.dataset], *sets, info


def run(args: argparse.Namespace) -> int:
    import torch

    from instrument.arrange import model as M
    from instrument.arrange import train as T
    from instrument.ensemble import load_ensemble
    from instrument.paths import MODELS

    torch.set_num_threads(max(1, args.threads))
    t0 = time.monotonic()
    cpu0 = time.process_time()
    ens_name, train_p, valid_p, test_p, split_info = load_data(args)
    ensemble = load_ensemble(ens_name)
    if args.model == "zone":
        path = write_zone(ensemble, train_p, args.dataset or "midi", split_info)
        print(f"wrote {path}")
        return 0
    if train_p and len(train_p[0].parts) != len(ensemble):
        raise InstrumentError(
            f"the data has {len(train_p[0].parts)} parts, ensemble "
            f"{ensemble.name!r} has {len(ensemble)}"
        )
    config = dict(DEFAULTS[args.model])
    if args.dataset in ("pop909", "pop"):
        config["steps"] = POP_STEPS
    for key in config:
        if getattr(args, key, None) is not None:
            config[key] = getattr(args, key)
    if args.orders:
        from instrument.arrange.performance import ORDERS

        orders = [o.strip() for o in args.orders.split(",")]
        if not all(o in ORDERS for o in orders):
            raise InstrumentError(f"--orders: each of {', '.join(ORDERS)}, got {args.orders!r}")
        config["orders"] = orders
    if args.select:
        config["select"] = args.select
    init, init_card = None, None
    if args.init:
        prior, prior_config, init_card = M.load(Path(args.init), args.model, len(ensemble))
        config.update({k: prior_config[k] for k in ("hidden", "layers", "embed")})
        init = prior.state_dict()
    print(
        f"training {args.model} for {ensemble.name!r} ({len(ensemble)} parts): "
        f"{len(train_p)}/{len(valid_p)}/{len(test_p)} pieces, config {json.dumps(config)}"
    )
    load_minutes = (time.monotonic() - t0) / 60
    from instrument.arrange.neural import polyphony, range_penalty

    constraints = (range_penalty(ensemble), polyphony(ensemble))
    model, history = T.train(
        args.model,
        train_p,
        valid_p,
        len(ensemble),
        config,
        seed=args.seed,
        epochs=args.epochs,
        patience=args.patience,
        max_minutes=args.max_minutes,
        progress=not args.no_progress,
        init=init,
        constraints=constraints,
    )
    train_minutes = (time.monotonic() - t0) / 60 - load_minutes
    cpu_minutes = (time.process_time() - cpu0) / 60
    best_epoch = max(history, key=lambda h: h["valid"])
    valid_acc = best_epoch["valid"]
    test_first = test_final = None
    if test_p:  # once, for the card; the table comes from instrument eval arrange
        test_first, test_final = T.Validation.of(test_p, *constraints).accuracies(
            args.model, model
        )
    print(
        f"valid score {valid_acc:.4f}"
        + (f", test first {test_first:.4f} final {test_final:.4f}" if test_p else "")
    )

    out = Path(args.out) if args.out else MODELS / f"{ensemble.name}-{args.model}.pt"
    card = {
        "ensemble": ensemble.name,
        "model": args.model,
        "parts": list(ensemble.part_names),
        "data": {
            "dataset": args.dataset or "midi",
            "source_parts": list(train_p[0].parts),
            "pieces": {"train": len(train_p), "valid": len(valid_p), "test": len(test_p)},
            "notes_train": int(sum(len(p) for p in train_p)),
            "split": split_info,
            "timing": "scores at 90 quarter notes per minute; POP909 and MIDI at file time",
            "augmentation": f"{config['variants'] - 1} performances per piece and epoch set "
            "(instrument.arrange.performance: chord notes in random order, or low to "
            "high, or melody first; spreads ~15 ms, melody lead ~25 ms; tempo 60-140 BPM "
            "with rubato, sudden changes, fermatas; legato/detached; pedal) + the score's "
            "own timing; transposition -5..+6",
        },
        "use_velocity": bool(train_p[0].has_velocity) if args.model == "lstm" else False,
        "features": "online, true in any arrival order: timing, onset group, pitch, the "
        "chord struck so far (lowest/highest pitch, notes above/below), velocity (MIDI "
        "data only), per-part history incl. pitch before the chord (see "
        "instrument/arrange/features.py); no beat or duration; no 'first note is lowest'"
        if args.model == "lstm"
        else "offline: onset groups, chord rank, gaps, duration, pitch; decoding: "
        + config.get("decode", "argmax"),
        "hyperparameters": config,
        "seed": args.seed,
        "history": history,
        "selection": "the epoch with the best validation score ("
        + {"mean": "mean of first-decision and final (revised) accuracy",
           "first": "first-decision accuracy", "final": "final (revised) accuracy"}[
            config.get("select", "mean")]
        + "), the model playing as live one seeded performance of each validation piece "
        "(random arrival order), with the ensemble's range and polyphony constraints",
        "metrics": {
            "valid_score": valid_acc,
            "valid_first": best_epoch.get("valid_first"),
            "valid_final": best_epoch.get("valid_final"),
            "test_first": test_first,
            "test_final": test_final,
        },
        "train_minutes": round(train_minutes, 2),
        "train_cpu_minutes": round(cpu_minutes, 2),
        "load_minutes": round(load_minutes, 2),
        "threads": args.threads,
        "command": command_line(args),
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()} CPU, {torch.get_num_threads()} torch threads",
        "torch": str(torch.__version__),
    }
    if init_card is not None:
        card["initialised_from"] = {
            k: init_card.get(k)
            for k in (
                "command",
                "train_minutes",
                "train_cpu_minutes",
                "history",
                "date",
                "initialised_from",  # the whole chain back to the first run
            )
            if k in init_card
        }
    if args.dataset == "pop":
        card["data"]["note"] = (
            "No five-part pop data set exists here: labels derived from POP909 by a fixed "
            "rule (melody->Brass, bridge->Strings, piano: lowest note of each onset group "
            "below MIDI 55->Bass, other piano notes >= MIDI 60->Guitar, the rest->Piano; "
            "instrument.datasets.corpus.pop_band_parts). The model learns that rule plus "
            "the melody/bridge/accompaniment roles of POP909."
        )
    M.save(out, args.model, model, config, card)
    if not args.out:
        write_zone(ensemble, train_p, card["data"]["dataset"], split_info)
    print(
        f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB) and {out.with_suffix('.json')}; "
        f"{train_minutes:.1f} min of training"
    )
    return 0


def command_line(args: argparse.Namespace) -> str:
    """The options this run was given, as a command that repeats it."""
    parts = ["instrument train arrange"]
    for key, value in vars(args).items():
        if key in ("func", "command", "target") or value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        parts.append(flag if value is True else f"{flag} {value}")
    return " ".join(parts)


def write_zone(ensemble, train_pieces, dataset: str, split_info: dict) -> Path:
    """Fit the zone split on the training notes; write ``models/<ensemble>-zone.json``."""
    import numpy as np

    from instrument.arrange.zone import fit_boundaries, zone_path

    pitches = np.concatenate([p.pitch for p in train_pieces])
    parts = np.concatenate([p.part for p in train_pieces])
    boundaries = fit_boundaries(pitches, parts, len(ensemble))
    path = zone_path(ensemble)
    data = {
        "ensemble": ensemble.name,
        "boundaries": boundaries,
        "data": dataset,
        "split": split_info,
        "method": "instrument.arrange.zone.fit_boundaries on the train split",
    }
    path.write_text(json.dumps(data, indent=1) + "\n")
    return path
