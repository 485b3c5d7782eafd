"""Training the accompaniment LSTM on POP909 (nanoGPT-style: data, loop, checkpoint).

Batches are random windows of ``seq_len`` tokens that start on a beat, each song
transposed by a random interval (-5..+6 semitones), so every chord is seen in every key.
The learning rate warms up, then decays on a cosine over the time budget: training is
bounded by wall-clock minutes, since it has to fit on a shared two-core machine.
"""

from __future__ import annotations

import datetime
import json
import math
import platform
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from instrument.accompany.data import GridSong, load_grid_split
from instrument.accompany.model import AccompanyLSTM, load_model, save_model
from instrument.accompany.tokens import (
    BEAT,
    STEPS_PER_BEAT,
    chord_table,
    conditions,
    event_tokens,
    events,
)
from instrument.datasets.splits import split_hash
from instrument.errors import untrusted


@dataclass
class Encoded:
    """One song as event rows, its per-step chord table, meter and beat-token positions."""

    id: str
    ev: np.ndarray
    table: np.ndarray
    beats_per_bar: int
    beat_index: np.ndarray


def encode(song: GridSong) -> Encoded:
    ev = events(song.notes, 0, song.n_beats)
    table = chord_table(song.chords, song.n_beats * STEPS_PER_BEAT)
    return Encoded(song.id, ev, table, song.beats_per_bar, np.flatnonzero(ev[:, 0] == BEAT))


def window(song: Encoded, start: int, length: int, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """(tokens (n,), cond (n, COND_DIM)) of ``length`` tokens from event row ``start``."""
    ev = song.ev[start : start + length]
    return event_tokens(ev, shift), conditions(song.table, ev[:, 4], song.beats_per_bar, shift)


def batches(
    songs: list[Encoded], batch: int, seq_len: int, rng: np.random.Generator, augment: bool = True
):
    """Endless (x, cond, y) training batches: long (B, T), float (B, T, C), long (B, T)."""
    weights = np.array([len(s.ev) for s in songs], dtype=np.float64)
    weights /= weights.sum()
    while True:
        xs, cs, ys = [], [], []
        for k in rng.choice(len(songs), size=batch, p=weights):
            s = songs[k]
            start = int(rng.choice(s.beat_index))
            shift = int(rng.integers(-5, 7)) if augment else 0
            tok, cond = window(s, start, seq_len + 1, shift)
            pad = seq_len + 1 - len(tok)
            tok = np.pad(tok, (0, pad))
            cond = np.pad(cond, ((0, pad), (0, 0)))
            xs.append(tok[:-1])
            ys.append(tok[1:])
            cs.append(cond[:-1])
        yield (
            torch.from_numpy(np.stack(xs)),
            torch.from_numpy(np.stack(cs)),
            torch.from_numpy(np.stack(ys)),
        )


@torch.no_grad()
def evaluate_nll(
    model, songs: list[Encoded], seq_len: int = 256, max_windows: int = 150, batch: int = 16
) -> float:
    """Mean per-token negative log-likelihood (nats) over consecutive windows, untransposed."""
    model.eval()
    xs, cs, ys = [], [], []
    for s in songs:
        for start in range(0, len(s.ev) - 1, seq_len):
            tok, cond = window(s, start, seq_len + 1, 0)
            pad = seq_len + 1 - len(tok)
            xs.append(np.pad(tok, (0, pad))[:-1])
            ys.append(np.pad(tok, (0, pad))[1:])
            cs.append(np.pad(cond, ((0, pad), (0, 0)))[:-1])
    idx = np.linspace(0, len(xs) - 1, min(max_windows, len(xs))).astype(int)
    total, count = 0.0, 0
    for i in range(0, len(idx), batch):
        j = idx[i : i + batch]
        x = torch.from_numpy(np.stack([xs[k] for k in j]))
        c = torch.from_numpy(np.stack([cs[k] for k in j]))
        y = torch.from_numpy(np.stack([ys[k] for k in j]))
        logits, _ = model(x, c)
        nll = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.size(-1)), y.reshape(-1), ignore_index=0, reduction="sum"
        )
        total += float(nll)
        count += int((y != 0).sum())
    return total / max(count, 1)


def train(
    model,
    train_songs: list[Encoded],
    valid_songs: list[Encoded],
    minutes: float = 15.0,
    batch: int = 32,
    seq_len: int = 192,
    lr: float = 3e-3,
    seed: int = 0,
    log=print,
    eval_every: float = 240.0,
) -> dict:
    """Train for ``minutes`` of wall-clock time; returns the history and the best weights.

    Keeps the weights with the lowest validation NLL (checked every ``eval_every`` seconds).
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    budget = minutes * 60.0
    t0 = time.monotonic()
    last_eval = t0
    best = (float("inf"), None)
    history = []
    step = 0
    tokens_seen = 0
    for x, c, y in batches(train_songs, batch, seq_len, rng):
        elapsed = time.monotonic() - t0
        if elapsed >= budget:
            break
        frac = elapsed / budget
        rate = lr * min(1.0, (step + 1) / 100) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = rate
        model.train()
        loss = model.loss(x, c, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tokens_seen += int((y != 0).sum())
        if step % 50 == 0:
            log(
                f"step {step} {elapsed:6.0f}s loss {float(loss):.3f} lr {rate:.2e} "
                f"{tokens_seen / max(elapsed, 1e-9):.0f} tok/s"
            )
        if time.monotonic() - last_eval >= eval_every:
            best = _checkpoint(model, valid_songs, step, elapsed, history, best, log)
            last_eval = time.monotonic()
    best = _checkpoint(model, valid_songs, step, time.monotonic() - t0, history, best, log)
    model.load_state_dict(best[1])
    return {
        "history": history,
        "valid_nll": best[0],
        "steps": step,
        "tokens": tokens_seen,
        "seconds": time.monotonic() - t0,
    }


def _checkpoint(model, valid_songs, step, elapsed, history, best, log):
    nll = evaluate_nll(model, valid_songs)
    history.append({"step": step, "seconds": round(elapsed, 1), "valid_nll": round(nll, 4)})
    log(f"step {step} {elapsed:6.0f}s valid NLL {nll:.4f} nats/token")
    if nll < best[0]:
        best = (nll, {k: v.detach().clone() for k, v in model.state_dict().items()})
    return best


def _previous_card(init: Path) -> dict:
    """The model card beside the weights training continues from ({} when there is none)."""
    card_path = init.with_suffix(".json")
    if not card_path.exists():
        return {}
    with untrusted(card_path, "model card"):
        previous = json.loads(card_path.read_text(encoding="utf-8"))
        if not isinstance(previous, dict):
            raise ValueError("not a JSON object")
    return previous


@dataclass
class TrainSettings:
    """What ``instrument train accompany`` trains with (its options, the same defaults).

    minutes: wall-clock budget. threads: recorded in the card (the caller sets torch's).
    d_model, layers: a new model's size (from the weights when continuing from ``init``).
    limit: only the first N songs per split. data: the music data folder. init: weights
    to continue training (a previous run's .pt).
    """

    minutes: float = 15.0
    threads: int = 2
    d_model: int = 256
    layers: int = 1
    batch: int = 32
    seq_len: int = 192
    lr: float = 3e-3
    limit: int | None = None
    data: str | None = None
    seed: int = 0
    init: str | None = None


def train_model(
    out: Path,
    settings: TrainSettings,
    command: str = "instrument train accompany",
    log=print,
) -> dict:
    """Train on the POP909 train split (valid for the checkpoints), write the weights to
    ``out`` and the model card beside them; returns ``train``'s result.

    Continuing from ``settings.init``, the card's runs go into "previous_runs".
    """
    t0 = time.monotonic()
    train_songs = [encode(s) for s in load_grid_split("train", settings.data, settings.limit)]
    valid_songs = [encode(s) for s in load_grid_split("valid", settings.data, settings.limit)]
    n_tok = sum(len(s.ev) for s in train_songs)
    log(
        f"{len(train_songs)} train songs ({n_tok} tokens), {len(valid_songs)} valid songs; "
        f"encoded in {time.monotonic() - t0:.0f}s"
    )
    previous: dict = {}
    if settings.init:
        model = load_model(settings.init)
        model.train()
        previous = _previous_card(Path(settings.init))
        settings = replace(
            settings, d_model=model.config["d_model"], layers=model.config["n_layers"]
        )
    else:
        model = AccompanyLSTM(d_model=settings.d_model, n_layers=settings.layers)
    log(f"model: {model.n_params()} parameters")
    result = train(
        model,
        train_songs,
        valid_songs,
        minutes=settings.minutes,
        batch=settings.batch,
        seq_len=settings.seq_len,
        lr=settings.lr,
        seed=settings.seed,
        log=log,
    )
    card = _model_card(out, model, settings, len(train_songs), len(valid_songs), result, previous)
    card["command"] = command
    card["date"] = datetime.date.today().isoformat()
    save_model(model, out, card)
    return result


def _model_card(
    out: Path,
    model: AccompanyLSTM,
    s: TrainSettings,
    n_train: int,
    n_valid: int,
    result: dict,
    previous: dict,
) -> dict:
    """The model card saved beside the weights: what was trained, on what, how, how well;
    previous: the card of the weights training continued from ({} for none). The caller
    adds "command" and "date"."""
    return {
        "name": out.stem,
        "task": "chord-aware accompaniment (bass, comping) and melody continuation, one beat "
        "at a time on a sixteenth grid",
        "architecture": f"LSTM, {s.layers} layer(s), d_model {s.d_model}, "
        f"{model.n_params()} parameters, weights stored in float16",
        "data": "POP909 (MIT licence): MELODY as the player's part, PIANO split into bass "
        "(lowest note <= E3 per onset) and comping; chord_midi.txt labels",
        "split": {
            "file": "configs/splits/pop909.json",
            "hash": split_hash("pop909"),
            "train_songs": n_train,
            "valid_songs": n_valid,
        },
        "training": {
            "minutes": s.minutes,
            "batch": s.batch,
            "seq_len": s.seq_len,
            "lr": s.lr,
            "seed": s.seed,
            "steps": result["steps"],
            "tokens": result["tokens"],
            "seconds": round(result["seconds"], 1),
            "augmentation": "random transposition -5..+6 semitones",
            "machine": f"{platform.machine()} CPU, {s.threads} threads (shared)",
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
    }
