"""Training the neural arrangers: windows of notes, transposition and performance
augmentation, Adam, early stopping on the validation split's accuracy measured as it will
be used.

Augmentation: each training piece is played by the performance model
(``arrange.performance``) several times, mostly with chord notes in random order, also
rolled low to high and melody first, at tempi of 60-140 BPM; one variant keeps the score's
own timing. The online LSTM is trained with teacher forcing (each note's part-history
features come from the true parts, in arrival order) and then, for ``dagger_epochs``, on
features recorded while the model arranged performances of the training pieces itself,
with its revisions, as live, so that it learns to recover from its own mistakes.
Validation always runs the model as live on fixed performances of the validation pieces
(random order, seeded): the score is the mean of the first-decision and the final
(revised) accuracy (``valid_score``).
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
from instrument.arrange import performance as P
from instrument.arrange.fast import FastLSTM, Rules, Run, perform_run
from instrument.datasets.corpus import Piece

TRANSPOSE = (-5, 6)  # inclusive range of semitones, as in the paper


@dataclass
class Seq:
    pitch: np.ndarray  # (n,) int64
    feats: np.ndarray  # (n, F) float32
    part: np.ndarray  # (n,) int64


TRAIN_ORDERS = ("random", "random", "low-high", "high-low")  # drawn for each variant


def performances(piece: Piece, n: int, rng: np.random.Generator, orders=TRAIN_ORDERS):
    """The score's own timing, then ``n - 1`` performances (``performance.perform``) with
    arrival orders drawn from ``orders``."""
    yield P.score_performance(piece)
    for _ in range(n - 1):
        yield P.perform(piece, rng, str(rng.choice(orders)))


def make_sequences(
    kind: str,
    pieces: list[Piece],
    n_parts: int,
    variants: int,
    rng: np.random.Generator,
    orders=TRAIN_ORDERS,
) -> list[Seq]:
    out = []
    for p in pieces:
        for perf in performances(p, variants, rng, orders):
            if kind == "lstm":
                feats = F.teacher_forced_features(
                    perf.pitch, perf.time, perf.end, perf.velocity, perf.part, n_parts,
                    p.has_velocity,
                )  # fmt: skip
                out.append(Seq(perf.pitch, feats, perf.part))
            else:  # offline: chords listed low to high, as the BiLSTM arranger lists them
                order = np.lexsort((perf.pitch, F.group_ids(perf.time)))
                t = np.sort(perf.time)
                feats = F.offline_features(t, perf.end[order], perf.pitch[order])
                out.append(Seq(perf.pitch[order], feats, perf.part[order]))
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


def run_performance(
    fast: FastLSTM,
    perf: P.Performance,
    use_velocity: bool,
    penalty: np.ndarray,
    polyphony: np.ndarray,
    revise: bool = True,
    record: bool = False,
) -> Run:
    """``fast.perform_run`` of the online model playing ``perf`` as live (one model makes
    the first decisions and the revisions), under the range ``penalty`` (128, P) and the
    ``polyphony`` (P,) rule."""
    rules = Rules(penalty, polyphony, np.zeros(2, np.int64))
    notes = perf.pitch, perf.time, perf.end, perf.velocity
    return perform_run(*notes, fast.net, fast.net, rules, use_velocity, revise, record)


def offline_predict(model: M.OfflineBiLSTM, perf: P.Performance):
    order = np.lexsort((perf.pitch, F.group_ids(perf.time)))
    parts = np.empty(len(perf), np.int64)
    parts[order] = model.predict(perf.pitch[order], np.sort(perf.time), perf.end[order])
    return parts


@dataclass
class Validation:
    """Fixed performances of the validation pieces (random order, seeded) and the
    ensemble's constraints; ``score`` is what model selection maximises."""

    perfs: list[P.Performance]
    use_velocity: bool
    penalty: np.ndarray
    polyphony: np.ndarray

    @classmethod
    def of(cls, pieces: list[Piece], penalty, polyphony, seed: int = 4321) -> Validation:
        rng = np.random.default_rng(seed)
        perfs = [P.perform(p, rng, "random") for p in pieces]
        return cls(perfs, bool(pieces and pieces[0].has_velocity), penalty, polyphony)

    def accuracies(self, kind: str, model: nn.Module) -> tuple[float, float]:
        """(first-decision, final) accuracy over all notes."""
        first = final = total = 0
        fast = fast_of(model) if kind == "lstm" else None
        for perf in self.perfs:
            if fast is not None:
                # what sounds at the note-on: the part after the note's own revision
                run = run_performance(fast, perf, self.use_velocity, self.penalty, self.polyphony)
                a, b = run.onset, run.final
            else:
                a = b = offline_predict(model, perf)
            first += int(perf.right(a).sum())
            final += int(perf.right(b).sum())
            total += len(perf)
        return first / max(total, 1), final / max(total, 1)

    def score(self, kind: str, model: nn.Module, select: str = "mean") -> float:
        """What selection maximises: "mean" of first and final, or either alone."""
        first, final = self.accuracies(kind, model)
        return {"mean": (first + final) / 2, "first": first, "final": final}[select]


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
    constraints: tuple[np.ndarray, np.ndarray] | None = None,
):
    """Train and return (best model, history). ``config``: hidden, layers, embed, lr, batch,
    window, variants, steps (per epoch; 0 = one pass over the notes), dagger_epochs;
    optional orders (arrival orders to draw, default ``TRAIN_ORDERS``) and select
    ("mean", "first" or "final": what the validation score is).
    constraints: the ensemble's (range penalty, polyphony) as the live arranger applies
    them (``neural.range_penalty``, ``neural.polyphony``); None: unconstrained."""
    from tqdm import tqdm

    if constraints is None:
        constraints = (np.zeros((128, n_parts), np.float32), np.full(n_parts, 1 << 20))
    val = Validation.of(valid_pieces, *constraints)
    orders = tuple(config.get("orders") or TRAIN_ORDERS)
    select = config.get("select", "mean")

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    t0 = time.monotonic()
    model = M.build(kind, n_parts, config)
    if init is not None:  # go on training an earlier model (same architecture)
        model.load_state_dict(init)
    opt = torch.optim.Adam(model.parameters(), lr=config["lr"])
    seqs = make_sequences(kind, train_pieces, n_parts, config["variants"], rng, orders)
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
        best_acc = val.score(kind, model, select)
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
                perf = P.perform(p, rng, str(rng.choice(orders)))
                run = run_performance(
                    fast, perf, p.has_velocity, *constraints, revise=True, record=True
                )
                # what the first decisions saw, in arrival order ...
                own.append(Seq(perf.pitch, run.feats, perf.part))
                # ... and what the revisions saw: each chord low to high, its own history
                k = np.lexsort((perf.pitch, run.groups))
                own.append(Seq(perf.pitch[k], run.feats_r[k], perf.part[k]))
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
        first_acc, final_acc = val.accuracies(kind, model)
        acc = {"mean": (first_acc + final_acc) / 2, "first": first_acc, "final": final_acc}[select]
        minutes = (time.monotonic() - t0) / 60
        history.append(
            {
                "epoch": epoch,
                "loss": float(np.mean(losses)),
                "valid": acc,
                "valid_first": first_acc,
                "valid_final": final_acc,
                "own_history": own_history,
                "minutes": round(minutes, 2),
            }
        )
        log(
            f"epoch {epoch}{' (own history)' if own_history else ''}: loss "
            f"{np.mean(losses):.4f}  valid first {first_acc:.4f} final {final_acc:.4f}  "
            f"({minutes:.1f} min)"
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
