"""``instrument train arrange``: train the online LSTM or offline BiLSTM part assigner.

    instrument train arrange --dataset bach --model lstm
    instrument train arrange --dataset quartet --model bilstm --seed 1
    instrument train arrange --midi-dir ~/lakh --ensemble pop --model lstm

Writes ``models/<ensemble>-<model>.pt``, its model card ``models/<ensemble>-<model>.json``
and the learned zone split ``models/<ensemble>-zone.json`` (the baseline and the
LSTM's fallback). The training itself, its defaults and the card are
``instrument.arrange.train``.
"""

from __future__ import annotations

import argparse

from instrument.arrange import DATASET_ENSEMBLE

# hyperparameters the command line may set (None: ``arrange.train.DEFAULTS``)
INT_OPTIONS = ("hidden", "layers", "embed", "batch", "window", "variants", "steps", "dagger_epochs")
HYPERPARAMETERS = (*INT_OPTIONS, "lr", "decode")


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
    p.add_argument(
        "--init-parts",
        help="with --init from another ensemble (lstm): for each part, the --init "
        "model's part it starts from, comma-separated (pop from pop909: 0,1,2,2)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    for key in INT_OPTIONS:
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


def run(args: argparse.Namespace) -> int:
    from instrument.arrange import train as T

    options = vars(args)
    job = T.Job(
        model=args.model,
        dataset=args.dataset,
        midi_dir=args.midi_dir,
        ensemble=args.ensemble,
        data=args.data,
        seed=args.seed,
        epochs=args.epochs,
        patience=args.patience,
        max_minutes=args.max_minutes,
        threads=args.threads,
        limit=args.limit,
        out=args.out,
        init=args.init,
        init_parts=part_numbers(args.init_parts),
        progress=not args.no_progress,
        overrides={key: options[key] for key in HYPERPARAMETERS},
        orders=args.orders,
        select=args.select,
        command=command_line(args),
    )
    outcome = T.run(job)
    out = outcome.checkpoint
    if out is None:
        print(f"wrote {outcome.zone}")
        return 0
    print(
        f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB) and {out.with_suffix('.json')}; "
        f"{outcome.train_minutes:.1f} min of training"
    )
    return 0


def part_numbers(text: str | None) -> list[int] | None:
    """``--init-parts`` "0,1,2,2" -> [0, 1, 2, 2]; InstrumentError if not numbers."""
    if text is None:
        return None
    from instrument.errors import InstrumentError

    try:
        return [int(x) for x in text.split(",")]
    except ValueError:
        raise InstrumentError(f"--init-parts: comma-separated part numbers, got {text!r}") from None


def command_line(args: argparse.Namespace) -> str:
    """The options this run was given, as a command that repeats it."""
    parts = ["instrument train arrange"]
    for key, value in vars(args).items():
        if key in ("func", "command", "target") or value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        parts.append(flag if value is True else f"{flag} {value}")
    return " ".join(parts)
