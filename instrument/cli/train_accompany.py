"""``instrument train accompany``: train the chord-aware accompaniment LSTM on POP909."""

from __future__ import annotations

import argparse

from instrument.paths import MODELS

DEFAULT_MODEL = MODELS / "accompany-lstm.pt"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "accompany",
        help="train the accompaniment/continuation model on POP909",
        description="Train the chord-aware LSTM on the POP909 train split (the project's "
        "committed split) for a wall-clock budget; writes the weights and a model card.",
    )
    p.add_argument("--minutes", type=float, default=15.0, help="training time budget")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for torch")
    p.add_argument("--d-model", type=int, default=256)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq-len", type=int, default=192)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--limit", type=int, default=None, help="use only the first N songs per split")
    p.add_argument("--data", default=None, help="music data folder (default ../shared/data)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--init", default=None, help="continue training these weights (a previous run's .pt)"
    )
    p.add_argument("-o", "--out", default=str(DEFAULT_MODEL), help="weights file (.pt)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import datetime
    import platform
    import sys
    import time
    from pathlib import Path

    import torch

    from instrument.accompany.data import load_grid_split
    from instrument.accompany.model import AccompanyLSTM, save_model
    from instrument.accompany.train import encode, train
    from instrument.datasets.splits import split_hash

    torch.set_num_threads(args.threads)

    def log(msg: str) -> None:
        print(msg, flush=True)

    t0 = time.monotonic()
    train_songs = [encode(s) for s in load_grid_split("train", args.data, args.limit)]
    valid_songs = [encode(s) for s in load_grid_split("valid", args.data, args.limit)]
    n_tok = sum(len(s.ev) for s in train_songs)
    log(
        f"{len(train_songs)} train songs ({n_tok} tokens), {len(valid_songs)} valid songs; "
        f"encoded in {time.monotonic() - t0:.0f}s"
    )
    previous: dict = {}
    if args.init:
        import json

        from instrument.accompany.model import load_model

        model = load_model(args.init)
        model.train()
        card_path = Path(args.init).with_suffix(".json")
        if card_path.exists():
            from instrument.errors import untrusted

            with untrusted(card_path, "model card"):
                previous = json.loads(card_path.read_text(encoding="utf-8"))
                if not isinstance(previous, dict):
                    raise ValueError("not a JSON object")
        args.d_model, args.layers = model.config["d_model"], model.config["n_layers"]
    else:
        model = AccompanyLSTM(d_model=args.d_model, n_layers=args.layers)
    log(f"model: {model.n_params()} parameters")
    result = train(
        model,
        train_songs,
        valid_songs,
        minutes=args.minutes,
        batch=args.batch,
        seq_len=args.seq_len,
        lr=args.lr,
        seed=args.seed,
        log=log,
    )
    out = Path(args.out)
    card = {
        "name": out.stem,
        "task": "chord-aware accompaniment (bass, comping) and melody continuation, one beat "
        "at a time on a sixteenth grid",
        "architecture": f"LSTM, {args.layers} layer(s), d_model {args.d_model}, "
        f"{model.n_params()} parameters, weights stored in float16",
        "data": "POP909 (MIT licence): MELODY as the player's part, PIANO split into bass "
        "(lowest note <= E3 per onset) and comping; chord_midi.txt labels",
        "split": {
            "file": "configs/splits/pop909.json",
            "hash": split_hash("pop909"),
            "train_songs": len(train_songs),
            "valid_songs": len(valid_songs),
        },
        "training": {
            "minutes": args.minutes,
            "batch": args.batch,
            "seq_len": args.seq_len,
            "lr": args.lr,
            "seed": args.seed,
            "steps": result["steps"],
            "tokens": result["tokens"],
            "seconds": round(result["seconds"], 1),
            "augmentation": "random transposition -5..+6 semitones",
            "machine": f"{platform.machine()} CPU, {args.threads} threads (shared)",
        },
        "metrics": {
            "valid_nll_nats_per_token": round(result["valid_nll"], 4),
            "history": result["history"],
        },
        "previous_runs": [
            *previous.get("previous_runs", []),
            *(
                [{k: previous[k] for k in ("training", "metrics", "command") if k in previous}]
                if previous
                else []
            ),
        ],
        "command": "instrument train accompany " + " ".join(sys.argv[3:]),
        "date": datetime.date.today().isoformat(),
    }
    save_model(model, out, card)
    log(f"wrote {out} and {out.with_suffix('.json')} (valid NLL {result['valid_nll']:.4f})")
    return 0
