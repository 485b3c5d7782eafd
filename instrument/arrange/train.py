"""Training the neural arrangers: windows of notes, transposition and timing augmentation,
Adam, early stopping on the validation split's accuracy measured as it will be used.

The online LSTM is trained with teacher forcing (each note's part-history features come
from the true parts) and then, for ``dagger_epochs``, on features recorded while the model
arranged the training pieces itself, so that it learns to recover from its own mistakes.
Validation always runs the model online on its own choices (``fast.free_run``).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from instrument.arrange import features as F
from instrument.arrange import model as M
from instrument.arrange.fast import FastLSTM, free_run
from instrument.datasets.corpus import Piece

TRANSPOSE = (-5, 6)  # inclusive range of semitones, as in the paper


@dataclass
class Seq:
    pitch: np.ndarray  # (n,) int64
    feats: np.ndarray  # (n, F) float32
    part: np.ndarray  # (n,) int64


def timing_variants(piece: Piece, n: int, rng: np.random.Generator):
    """The exact timing, then ``n - 1`` humanized performances at other tempi."""
    yield piece.time, piece.end
    for _ in range(n - 1):
        yield F.humanize(piece.time, piece.end, rng, tempo_scale=float(rng.uniform(0.7, 1.45)))


def make_sequences(
    kind: str, pieces: list[Piece], n_parts: int, variants: int, rng: np.random.Generator
) -> list[Seq]:
    out = []
    for p in pieces:
        for t, e in timing_variants(p, variants, rng):
            if kind == "lstm":
                feats = F.teacher_forced_features(
                    p.pitch, t, e, p.velocity, p.part, n_parts, p.has_velocity
                )
            else:
                feats = F.offline_features(t, e, p.pitch)
            out.append(Seq(p.pitch, feats, p.part))
    return out


def batch(seqs: list[Seq], size: int, window: int, rng: np.random.Generator):
    """``size`` random windows, transposed at random, padded: pitch, feats, part, mask."""
    idx = rng.integers(0, len(seqs), size)
    n = max(min(len(seqs[i].pitch), window) for i in idx)
    nf = seqs[0].feats.shape[1]
    pitch = np.zeros((size, n), np.int64)
    feats = np.zeros((size, n, nf), np.float32)
    part = np.zeros((size, n), np.int64)
    mask = np.zeros((size, n), bool)
    for b, i in enumerate(idx):
        s = seqs[i]
        start = int(rng.integers(0, max(len(s.pitch) - window, 0) + 1))
        sl = slice(start, start + window)
        m = len(s.pitch[sl])
        shift = int(rng.integers(TRANSPOSE[0], TRANSPOSE[1] + 1))
        pitch[b, :m] = np.clip(s.pitch[sl] + shift, 0, 127)
        feats[b, :m] = s.feats[sl]
        feats[b, :m, 6] += shift / 24.0  # the continuous pitch feature moves too
        part[b, :m] = s.part[sl]
        mask[b, :m] = True
    return (
        torch.from_numpy(pitch),
        torch.from_numpy(feats),
        torch.from_numpy(part),
        torch.from_numpy(mask),
    )


def fast_of(model: M.OnlineLSTM) -> FastLSTM:
    return FastLSTM(M.numpy_weights(model), model.n_parts, model.n_features)


def online_predict(fast: FastLSTM, piece: Piece, time_s=None, end_s=None, record: bool = False):
    t = piece.time if time_s is None else time_s
    e = piece.end if end_s is None else end_s
    return free_run(
        piece.pitch,
        t,
        e,
        piece.velocity,
        fast.n_parts,
        piece.has_velocity,
        fast.layers,
        *fast.args(),
        record,
    )


def offline_predict(model: M.OfflineBiLSTM, piece: Piece, time_s=None, end_s=None):
    t = piece.time if time_s is None else time_s
    e = piece.end if end_s is None else end_s
    return model.predict(piece.pitch, t, e)


def accuracy(kind: str, model: nn.Module, pieces: list[Piece]) -> float:
    """Fraction of notes given their true part, over all notes of ``pieces``."""
    right = total = 0
    fast = fast_of(model) if kind == "lstm" else None
    for p in pieces:
        pred = online_predict(fast, p)[0] if fast is not None else offline_predict(model, p)
        right += int((pred == p.part).sum())
        total += len(p)
    return right / max(total, 1)


def train(
    kind: str,
    train_pieces: list[Piece],
    valid_pieces: list[Piece],
    n_parts: int,
    config: dict,
    seed: int = 0,
    epochs: int = 40,
    patience: int = 5,
    max_minutes: float = 14.0,
    progress: bool = True,
    log=print,
    init: dict | None = None,
):
    """Train and return (best model, history). ``config``: hidden, layers, embed, lr, batch,
    window, variants, steps (per epoch; 0 = one pass over the notes), dagger_epochs."""
    from tqdm import tqdm

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    t0 = time.monotonic()
    model = M.build(kind, n_parts, config)
    if init is not None:  # go on training an earlier model (same architecture)
        model.load_state_dict(init)
    opt = torch.optim.Adam(model.parameters(), lr=config["lr"])
    seqs = make_sequences(kind, train_pieces, n_parts, config["variants"], rng)
    notes = sum(len(s.pitch) for s in seqs)
    steps = config["steps"] or math.ceil(notes / (config["batch"] * config["window"]))
    log(
        f"{len(train_pieces)} training pieces, {notes} notes over {config['variants']} "
        f"timing variants; {steps} steps per epoch"
    )
    best, best_acc, bad, history = None, -1.0, 0, []
    dagger_left = config.get("dagger_epochs", 0) if kind == "lstm" else 0
    # epochs=0 with dagger epochs: go straight to training on the model's own histories
    own_history = kind == "lstm" and epochs == 0 and dagger_left > 0
    epoch, limit = 0, dagger_left if own_history else epochs
    if init is not None:  # the earlier model is the one to beat
        model.eval()
        best_acc = accuracy(kind, model, valid_pieces)
        best = {k: v.clone() for k, v in model.state_dict().items()}
        log(f"initial model: valid accuracy {best_acc:.4f}")
    while epoch < limit:
        epoch += 1
        epoch_seqs = seqs
        if own_history:
            # features recorded while the model arranges the training pieces itself
            fast = fast_of(model)
            own = []
            for p in train_pieces:
                scale = float(rng.uniform(0.7, 1.45))
                t, e = (
                    F.humanize(p.time, p.end, rng, scale) if rng.random() < 0.5 else (p.time, p.end)
                )
                own.append(Seq(p.pitch, online_predict(fast, p, t, e, record=True)[1], p.part))
            epoch_seqs = seqs + own
        model.train()
        losses = []
        bar = tqdm(range(steps), desc=f"epoch {epoch}", leave=False, disable=not progress)
        for _ in bar:
            pitch, feats, part, mask = batch(epoch_seqs, config["batch"], config["window"], rng)
            logits, _ = model(pitch, feats)
            loss = nn.functional.cross_entropy(logits[mask], part[mask])
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
        model.eval()
        acc = accuracy(kind, model, valid_pieces)
        minutes = (time.monotonic() - t0) / 60
        history.append(
            {
                "epoch": epoch,
                "loss": float(np.mean(losses)),
                "valid": acc,
                "own_history": own_history,
                "minutes": round(minutes, 2),
            }
        )
        log(
            f"epoch {epoch}{' (own history)' if own_history else ''}: loss "
            f"{np.mean(losses):.4f}  valid accuracy {acc:.4f}  ({minutes:.1f} min)"
        )
        if acc > best_acc:
            best_acc, bad = acc, 0
            best = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            bad += 1
        # stop before an epoch that would end past the budget
        epoch_minutes = minutes - (history[-2]["minutes"] if len(history) > 1 else 0.0)
        out_of_time = minutes + epoch_minutes > max_minutes
        if out_of_time:
            log(f"stopping: time budget of {max_minutes} min reached")
        if not own_history:
            # the teacher-forced phase leaves a quarter of the budget to the second phase
            teacher_done = minutes > max_minutes * (0.75 if dagger_left else 1.0)
            if bad >= patience:
                log(f"early stop: no better validation accuracy for {patience} epochs")
            if bad >= patience or epoch == limit or teacher_done or out_of_time:
                if not dagger_left or out_of_time:
                    break
                log(f"continuing up to {dagger_left} epochs on the model's own histories")
                model.load_state_dict(best)
                own_history, bad, limit = True, 0, epoch + dagger_left
        elif bad >= patience or out_of_time:
            break
    model.load_state_dict(best)
    model.eval()
    return model, history


def describe(config: dict) -> str:
    return json.dumps(config, sort_keys=True)
