"""``instrument train chordlm``: the chord language model behind ``instrument suggest``."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "chordlm",
        help="train the chord language model (Billboard + POP909 chords)",
        description="Train the GRU chord model on the train splits of configs/splits/"
        "billboard.json and pop909.json, pick the best epoch on valid, write models/chordlm-gru.",
    )
    p.add_argument("--data", help="music data folder (default ../shared/data)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", help="model folder (default models/chordlm-gru)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import torch

    from instrument.datasets.splits import split_hash
    from instrument.harmony import chordlm

    torch.set_num_threads(args.threads)
    train = chordlm.load_corpus("train", args.data)
    valid = chordlm.load_corpus("valid", args.data)
    test = chordlm.load_corpus("test", args.data)
    print(f"songs: train {len(train)}, valid {len(valid)}, test {len(test)}")
    model = chordlm.ChordGRU(hidden=args.hidden)
    history = model.fit(train, valid, epochs=args.epochs, seed=args.seed)
    unigram = chordlm.UnigramLM(train)
    bigram = chordlm.BigramLM(train)
    bigram.tune(valid)
    metrics = {
        name: {
            "valid_ppl": round(chordlm.perplexity(m, valid), 4),
            "test_ppl": round(chordlm.perplexity(m, test), 4),
        }
        for name, m in (("gru", model), ("unigram", unigram), ("bigram", bigram))
    }
    n_params = sum(p.numel() for p in model.net.parameters())
    card = {
        "name": "chordlm-gru",
        "task": "next chord change, key-relative (tokens '<semitones above tonic>:<family>')",
        "architecture": f"embedding 64, 1-layer GRU {args.hidden}, dropout 0.2; {n_params} params",
        "data": {
            "billboard": "McGill Billboard salami_chords.txt (../shared/data/billboard)",
            "pop909": "POP909 chord_midi.txt, tonic from key_audio.txt (../shared/data/pop909)",
        },
        "split": {
            "billboard": f"configs/splits/billboard.json ({chordlm.split_hash_safe('billboard')})",
            "pop909": f"configs/splits/pop909.json ({split_hash('pop909')})",
            "songs": {"train": len(train), "valid": len(valid), "test": len(test)},
        },
        "metrics": metrics,
        "bigram_lambda": bigram.lam,
        "history": history,
        "seed": args.seed,
        "machine": "2-core CPU VM (shared), torch CPU, 2 threads",
        "command": f"instrument train chordlm --epochs {args.epochs} --hidden {args.hidden} "
        f"--seed {args.seed}",
    }
    out = model.save(Path(args.out) if args.out else chordlm.MODEL_DIR, card)
    print(f"test perplexity: {metrics}")
    print(f"wrote {out}")
    return 0
