"""Training the neural arrangers, end to end: config, data, loop, selection, checkpoint.

Read top to bottom: the hyperparameters (``DEFAULTS``, ``make_config``); the data (the
pieces of a data set or a MIDI folder, ``load_data``; windows of notes with
transposition and performance augmentation, ``make_sequences``, ``batch``); the loop
(Adam, ``train``); model selection (``Validation``); and the checkpoint with its model
card and the learned zone split (``run``, which ``instrument train arrange`` calls).

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

import datetime
import json
import math
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from instrument.arrange import DATASET_ENSEMBLE
from instrument.arrange import features as F
from instrument.arrange import model as M
from instrument.arrange import performance as P
from instrument.arrange.fast import ARRIVAL_WEIGHT, FastLSTM, Rules, Run, perform_run
from instrument.datasets.corpus import Piece
from instrument.ensemble import Ensemble
from instrument.errors import InstrumentError

# -- config ----------------------------------------------------------------------------------
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
TRANSPOSE = (-5, 6)  # inclusive range of semitones, as in the paper


@dataclass
class Seq:
    pitch: np.ndarray  # (n,) int64
    feats: np.ndarray  # (n, F) float32
    part: np.ndarray  # (n,) int64


TRAIN_ORDERS = ("random", "random", "low-high", "high-low")  # drawn for each variant


def make_config(
    model: str,
    dataset: str | None,
    overrides: dict,
    orders: str | None = None,
    select: str | None = None,
) -> dict:
    """The hyperparameters of a run: ``DEFAULTS[model]`` (POP909 and pop: ``POP_STEPS``
    steps per epoch), then the ``overrides`` that are not None; ``orders`` (comma-separated
    arrival orders) and ``select`` (the validation score) when given."""
    config = dict(DEFAULTS[model])
    if dataset in ("pop909", "pop"):
        config["steps"] = POP_STEPS
    for key in config:
        if overrides.get(key) is not None:
            config[key] = overrides[key]
    if orders:
        chosen = [o.strip() for o in orders.split(",")]
        if not all(o in P.ORDERS for o in chosen):
            raise InstrumentError(f"--orders: each of {', '.join(P.ORDERS)}, got {orders!r}")
        config["orders"] = chosen
    if select:
        config["select"] = select
    return config


# -- data ------------------------------------------------------------------------------------
@dataclass
class Data:
    """The pieces a run trains, selects and tests on, and where they come from.

    ensemble: its name. train, valid, test: the pieces of each split. split: how the split
    was made, for the model card. dataset: the built-in data set, or "midi".
    """

    ensemble: str
    train: list[Piece]
    valid: list[Piece]
    test: list[Piece]
    split: dict
    dataset: str


def load_data(
    dataset: str | None,
    midi_dir: str | None = None,
    ensemble: str | None = None,
    data: str | None = None,
    limit: int | None = None,
    progress: bool = True,
) -> Data:
    """A built-in ``dataset``'s committed splits, or a folder of multitrack MIDI files
    (``midi_dir``, tracks = the parts of ``ensemble``) split 8:1:1 by file; the first
    ``limit`` pieces of each split."""
    from instrument.datasets import corpus
    from instrument.datasets.splits import make_split, split_hash

    if midi_dir:
        if not ensemble:
            raise InstrumentError("--midi-dir needs --ensemble (the parts the tracks map to)")
        from instrument.ensemble import load_ensemble

        ens = load_ensemble(ensemble)
        pieces = corpus.midi_pieces(midi_dir, n_parts=len(ens))
        by_id = {p.id: p for p in pieces}
        split = make_split({i: [i] for i in by_id})
        sets = [[by_id[i] for i in split[s]][:limit] for s in ("train", "valid", "test")]
        if not sets[0] or not sets[1]:
            raise InstrumentError(f"{midi_dir}: too few usable files for a split")
        info = {
            "source": "midi folder",
            "split": "8:1:1 by file, numpy default_rng(0)",
            "files": len(pieces),
        }
        return Data(ens.name, *sets, info, dataset or "midi")
    if not dataset:
        raise InstrumentError("give --dataset or --midi-dir")
    sets = [
        corpus.load_pieces(dataset, s, data, limit, progress=progress)
        for s in ("train", "valid", "test")
    ]
    name = corpus.split_name(dataset)
    info = {"file": f"configs/splits/{name}.json", "hash": split_hash(name)}
    return Data(ensemble or DATASET_ENSEMBLE[dataset], *sets, info, dataset)


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
                notes = perf.pitch, perf.time, perf.end, perf.velocity, perf.part
                feats = F.teacher_forced_features(*notes, n_parts, p.has_velocity)
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


# -- loop ------------------------------------------------------------------------------------
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
    rules = Rules(penalty, polyphony, np.zeros(2, np.int64), np.full(1, ARRIVAL_WEIGHT, np.float32))
    notes = perf.pitch, perf.time, perf.end, perf.velocity
    return perform_run(*notes, fast.net, fast.net, rules, use_velocity, revise, record)


def offline_predict(model: M.OfflineBiLSTM, perf: P.Performance):
    order = np.lexsort((perf.pitch, F.group_ids(perf.time)))
    parts = np.empty(len(perf), np.int64)
    parts[order] = model.predict(perf.pitch[order], np.sort(perf.time), perf.end[order])
    return parts


# -- selection -------------------------------------------------------------------------------
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
        return selection_score(*self.accuracies(kind, model), select)


def selection_score(first: float, final: float, select: str = "mean") -> float:
    """The validation score from the first-decision and final accuracy: their "mean", or
    "first" or "final" alone."""
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
    best, best_acc, history = None, -1.0, []
    schedule = Schedule.of(kind, config, epochs, patience, max_minutes)
    if init is not None:  # the earlier model is the one to beat
        model.eval()
        best_acc = val.score(kind, model, select)
        best = {k: v.clone() for k, v in model.state_dict().items()}
        log(f"initial model: valid accuracy {best_acc:.4f}")
    while schedule.next_epoch():
        epoch, own_history = schedule.epoch, schedule.own_history
        epoch_seqs = seqs
        if own_history:
            epoch_seqs = seqs + own_histories(model, train_pieces, rng, orders, constraints)
        desc = f"epoch {epoch}"
        losses = fit_epoch(model, opt, epoch_seqs, steps, config, rng, desc, progress)
        model.eval()
        first_acc, final_acc = val.accuracies(kind, model)
        acc = selection_score(first_acc, final_acc, select)
        minutes = (time.monotonic() - t0) / 60
        history.append(epoch_entry(epoch, losses, first_acc, final_acc, acc, own_history, minutes))
        log(epoch_line(history[-1], minutes))
        improved = acc > best_acc
        if improved:
            best_acc = acc
            best = {k: v.clone() for k, v in model.state_dict().items()}
        epoch_minutes = minutes - (history[-2]["minutes"] if len(history) > 1 else 0.0)
        step = schedule.after(improved, minutes, epoch_minutes, log)
        if step == "stop":
            break
        if step == "own history":  # the second phase starts from the best model
            model.load_state_dict(best)
    model.load_state_dict(best)
    model.eval()
    return model, history


@dataclass
class Schedule:
    """When training stops: early stopping on the validation score (``patience``
    epochs), the time budget, and the switch from teacher forcing to ``dagger_left``
    epochs on the model's own histories.

    epoch: the current epoch (1-based). limit: the last epoch of the current phase. bad:
    epochs since the validation score last improved.
    """

    limit: int
    patience: int
    max_minutes: float
    dagger_left: int
    own_history: bool
    epoch: int = 0
    bad: int = 0

    @classmethod
    def of(cls, kind: str, config: dict, epochs: int, patience: int, max_minutes: float):
        dagger_left = config.get("dagger_epochs", 0) if kind == "lstm" else 0
        # epochs=0 with dagger epochs: go straight to training on the model's own histories
        own_history = kind == "lstm" and epochs == 0 and dagger_left > 0
        limit = dagger_left if own_history else epochs
        return cls(limit, patience, max_minutes, dagger_left, own_history)

    def next_epoch(self) -> bool:
        """Start the next epoch, or False when the phase has none left."""
        if self.epoch >= self.limit:
            return False
        self.epoch += 1
        return True

    def after(self, improved: bool, minutes: float, epoch_minutes: float, log) -> str:
        """After an epoch that ended ``minutes`` into training and took ``epoch_minutes``:
        "stop", "own history" (the teacher-forced phase is over: go on with the model's
        own histories) or "go"."""
        self.bad = 0 if improved else self.bad + 1
        # stop before an epoch that would end past the budget
        out_of_time = minutes + epoch_minutes > self.max_minutes
        if out_of_time:
            log(f"stopping: time budget of {self.max_minutes} min reached")
        if self.own_history:
            return "stop" if self.bad >= self.patience or out_of_time else "go"
        # the teacher-forced phase leaves a quarter of the budget to the second phase
        teacher_done = minutes > self.max_minutes * (0.75 if self.dagger_left else 1.0)
        if self.bad >= self.patience:
            log(f"early stop: no better validation accuracy for {self.patience} epochs")
        if self.bad >= self.patience or self.epoch == self.limit or teacher_done or out_of_time:
            if not self.dagger_left or out_of_time:
                return "stop"
            log(f"continuing up to {self.dagger_left} epochs on the model's own histories")
            self.own_history, self.bad = True, 0
            self.limit = self.epoch + self.dagger_left
            return "own history"
        return "go"


def epoch_entry(
    epoch: int,
    losses: list[float],
    first: float,
    final: float,
    score: float,
    own_history: bool,
    minutes: float,
) -> dict:
    """An epoch in the training history (and the model card): its mean loss, validation
    score and accuracies, whether it trained on the model's own histories, and the
    minutes since training began."""
    return {
        "epoch": epoch,
        "loss": float(np.mean(losses)),
        "valid": score,
        "valid_first": first,
        "valid_final": final,
        "own_history": own_history,
        "minutes": round(minutes, 2),
    }


def epoch_line(entry: dict, minutes: float) -> str:
    """The log line of an epoch's ``history`` entry."""
    return (
        f"epoch {entry['epoch']}{' (own history)' if entry['own_history'] else ''}: loss "
        f"{entry['loss']:.4f}  valid first {entry['valid_first']:.4f} final "
        f"{entry['valid_final']:.4f}  ({minutes:.1f} min)"
    )


def own_histories(
    model: M.OnlineLSTM,
    pieces: list[Piece],
    rng: np.random.Generator,
    orders,
    constraints: tuple[np.ndarray, np.ndarray],
) -> list[Seq]:
    """Features recorded while ``model`` arranges a performance of each piece itself, as
    live with its revisions: two sequences a piece."""
    fast = fast_of(model)
    own = []
    for p in pieces:
        perf = P.perform(p, rng, str(rng.choice(orders)))
        run = run_performance(fast, perf, p.has_velocity, *constraints, revise=True, record=True)
        # what the first decisions saw, in arrival order ...
        own.append(Seq(perf.pitch, run.feats, perf.part))
        # ... and what the revisions saw: each chord low to high, its own history
        k = np.lexsort((perf.pitch, run.groups))
        own.append(Seq(perf.pitch[k], run.feats_r[k], perf.part[k]))
    return own


def fit_epoch(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    seqs: list[Seq],
    steps: int,
    config: dict,
    rng: np.random.Generator,
    desc: str,
    progress: bool,
) -> list[float]:
    """``steps`` Adam steps on random windows of ``seqs``; the loss of each."""
    from tqdm import tqdm

    model.train()
    losses = []
    bar = tqdm(range(steps), desc=desc, leave=False, disable=not progress)
    for _ in bar:
        pitch, feats, part, mask = batch(seqs, config["batch"], config["window"], rng)
        logits, _ = model(pitch, feats)
        loss = nn.functional.cross_entropy(logits[mask], part[mask])
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
    return losses


# -- checkpoint and model card ---------------------------------------------------------------
@dataclass
class Job:
    """One run of ``instrument train arrange``, as its options give it.

    model: "lstm", "bilstm" or "zone" (only fit the zone split). dataset / midi_dir,
    ensemble, data, limit: see ``load_data``. overrides: hyperparameters given (None:
    the default, ``make_config``), with orders and select. out: the checkpoint (default
    ``models/<ensemble>-<model>.pt``). init: a checkpoint to go on training; init_parts:
    for each part of the ensemble, the part of ``init`` it starts from (when ``init`` was
    trained for another ensemble, ``model.remap_parts``). command: the
    command line that repeats the run, for the card. threads: torch CPU threads.
    """

    model: str = "lstm"
    dataset: str | None = None
    midi_dir: str | None = None
    ensemble: str | None = None
    data: str | None = None
    seed: int = 0
    epochs: int = 40
    patience: int = 4
    max_minutes: float = 14.0
    threads: int = 2
    limit: int | None = None
    out: str | None = None
    init: str | None = None
    init_parts: list[int] | None = None
    progress: bool = True
    overrides: dict = field(default_factory=dict)
    orders: str | None = None
    select: str | None = None
    command: str = ""


@dataclass
class Outcome:
    """What a run wrote: the checkpoint (None when only the zone split was fitted; its
    card beside it, ``.json``), the zone table (None when ``--out`` kept it), and the
    minutes spent training."""

    checkpoint: Path | None
    zone: Path | None
    train_minutes: float = 0.0


def run(job: Job, log=print) -> Outcome:
    """Load the data, train (``train``), measure the test split once for the card, write
    the checkpoint and its model card, and fit the zone split on the same training notes
    (unless ``job.out`` names another checkpoint)."""
    from instrument.arrange.neural import polyphony, range_penalty
    from instrument.ensemble import load_ensemble
    from instrument.paths import MODELS

    torch.set_num_threads(max(1, job.threads))
    t0 = time.monotonic()
    cpu0 = time.process_time()
    data = load_data(job.dataset, job.midi_dir, job.ensemble, job.data, job.limit, job.progress)
    ensemble = load_ensemble(data.ensemble)
    if job.model == "zone":
        return Outcome(None, write_zone(ensemble, data.train, data.dataset, data.split))
    if data.train and len(data.train[0].parts) != len(ensemble):
        raise InstrumentError(
            f"the data has {len(data.train[0].parts)} parts, ensemble "
            f"{ensemble.name!r} has {len(ensemble)}"
        )
    config = make_config(job.model, job.dataset, job.overrides, job.orders, job.select)
    init, init_card = initial_weights(job, len(ensemble), config)
    log(
        f"training {job.model} for {ensemble.name!r} ({len(ensemble)} parts): "
        f"{len(data.train)}/{len(data.valid)}/{len(data.test)} pieces, config "
        f"{json.dumps(config)}"
    )
    load_minutes = (time.monotonic() - t0) / 60
    constraints = (range_penalty(ensemble), polyphony(ensemble))
    model, history = train(
        job.model,
        data.train,
        data.valid,
        len(ensemble),
        config,
        seed=job.seed,
        epochs=job.epochs,
        patience=job.patience,
        max_minutes=job.max_minutes,
        progress=job.progress,
        log=log,
        init=init,
        constraints=constraints,
    )
    train_minutes = (time.monotonic() - t0) / 60 - load_minutes
    cpu_minutes = (time.process_time() - cpu0) / 60
    best_epoch = max(history, key=lambda h: h["valid"])
    test_first = test_final = None
    if data.test:  # once, for the card; the table comes from instrument eval arrange
        validation = Validation.of(data.test, *constraints)
        test_first, test_final = validation.accuracies(job.model, model)
    log(
        f"valid score {best_epoch['valid']:.4f}"
        + (f", test first {test_first:.4f} final {test_final:.4f}" if data.test else "")
    )
    out = Path(job.out) if job.out else MODELS / f"{ensemble.name}-{job.model}.pt"
    minutes = (train_minutes, cpu_minutes, load_minutes)
    card = model_card(job, ensemble, data, config, history, (test_first, test_final), minutes)
    if init_card is not None:
        card["initialised_from"] = {k: init_card.get(k) for k in INIT_CARD_KEYS if k in init_card}
        card["initialised_from"]["checkpoint"] = str(job.init)
        if job.init_parts is not None:
            card["initialised_from"]["parts"] = {
                "from": init_card.get("parts"),
                "source": job.init_parts,
                "how": "model.remap_parts: part k starts from the --init model's part "
                "source[k]; a repeated part gets zero history inputs",
            }
    M.save(out, job.model, model, config, card)
    zone = None if job.out else write_zone(ensemble, data.train, data.dataset, data.split)
    return Outcome(out, zone, train_minutes)


def initial_weights(job: Job, n_parts: int, config: dict) -> tuple[dict | None, dict | None]:
    """The state dict and card of ``job.init`` (None, None without one), its sizes copied
    into ``config``; with ``job.init_parts`` its parts are mapped onto the ``n_parts`` of
    this run's ensemble (``model.remap_parts``, online LSTM only)."""
    if not job.init:
        return None, None
    path = Path(job.init)
    if job.init_parts is None:
        prior, prior_config, card = M.load(path, job.model, n_parts)
    else:
        if job.model != "lstm" or len(job.init_parts) != n_parts:
            raise InstrumentError(f"--init-parts: an lstm and {n_parts} part numbers")
        prior, prior_config, card = M.load(path, job.model, M.parts_of_checkpoint(path))
    config.update({k: prior_config[k] for k in ("hidden", "layers", "embed")})
    state = prior.state_dict()
    if job.init_parts is not None:
        state = M.remap_parts(state, job.init_parts, config["embed"])
    return state, card


# what a card keeps of the card of the checkpoint its run went on training
INIT_CARD_KEYS = (
    "command",
    "train_minutes",
    "train_cpu_minutes",
    "history",
    "date",
    "initialised_from",  # the whole chain back to the first run
)
POP_NOTE = (
    "The pop band's parts are POP909's own tracks (MELODY->Lead, BRIDGE->Strings, "
    "PIANO->Piano) with the piano's bass line split off as Bass: the lowest note of a "
    "piano onset group (30 ms) below MIDI 55 that lies a fourth or more below every "
    "other piano note struck with it or still sounding "
    "(instrument.datasets.popband.bass_line)."
)


def model_card(
    job: Job,
    ensemble: Ensemble,
    data: Data,
    config: dict,
    history: list[dict],
    test: tuple[float | None, float | None],
    minutes: tuple[float, float, float],
) -> dict:
    """What the checkpoint is: the data and its augmentation, the features, the
    hyperparameters, the training history, how the epoch was selected, its scores
    (``test``: first-decision and final accuracy on the test split, None without one),
    what the run cost (``minutes``: training wall clock, training CPU, loading) and how
    to repeat it."""
    best_epoch = max(history, key=lambda h: h["valid"])
    train_p = data.train
    selection = {
        "mean": "mean of first-decision and final (revised) accuracy",
        "first": "first-decision accuracy",
        "final": "final (revised) accuracy",
    }[config.get("select", "mean")]
    card = {
        "ensemble": ensemble.name,
        "model": job.model,
        "parts": list(ensemble.part_names),
        "data": {
            "dataset": data.dataset,
            "source_parts": list(train_p[0].parts),
            "pieces": {"train": len(train_p), "valid": len(data.valid), "test": len(data.test)},
            "notes_train": int(sum(len(p) for p in train_p)),
            "split": data.split,
            "timing": "scores at 90 quarter notes per minute; POP909 and MIDI at file time",
            "augmentation": f"{config['variants'] - 1} performances per piece and epoch set "
            "(instrument.arrange.performance: chord notes in random order, or low to "
            "high, or melody first; spreads ~15 ms, melody lead ~25 ms; tempo 60-140 BPM "
            "with rubato, sudden changes, fermatas; legato/detached; pedal) + the score's "
            "own timing; transposition -5..+6",
        },
        "use_velocity": bool(train_p[0].has_velocity) if job.model == "lstm" else False,
        "features": "online, true in any arrival order: timing, onset group, pitch, the "
        "chord struck so far (lowest/highest pitch, notes above/below), velocity (MIDI "
        "data only), per-part history incl. pitch before the chord (see "
        "instrument/arrange/features.py); no beat or duration; no 'first note is lowest'"
        if job.model == "lstm"
        else "offline: onset groups, chord rank, gaps, duration, pitch; decoding: "
        + config.get("decode", "argmax"),
        "hyperparameters": config,
        "seed": job.seed,
        "history": history,
        "selection": "the epoch with the best validation score ("
        + selection
        + "), the model playing as live one seeded performance of each validation piece "
        "(random arrival order), with the ensemble's range and polyphony constraints",
        "metrics": {
            "valid_score": best_epoch["valid"],
            "valid_first": best_epoch.get("valid_first"),
            "valid_final": best_epoch.get("valid_final"),
            "test_first": test[0],
            "test_final": test[1],
        },
        "train_minutes": round(minutes[0], 2),
        "train_cpu_minutes": round(minutes[1], 2),
        "load_minutes": round(minutes[2], 2),
        "threads": job.threads,
        "command": job.command,
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()} CPU, {torch.get_num_threads()} torch threads",
        "torch": str(torch.__version__),
    }
    if job.dataset == "pop":
        card["data"]["note"] = POP_NOTE
    return card


def write_zone(ensemble: Ensemble, train_pieces: list[Piece], dataset: str, split: dict) -> Path:
    """Fit the zone split on the training notes; write ``models/<ensemble>-zone.json``."""
    from instrument.arrange.zone import fit_boundaries, zone_path

    pitches = np.concatenate([p.pitch for p in train_pieces])
    parts = np.concatenate([p.part for p in train_pieces])
    boundaries = fit_boundaries(pitches, parts, len(ensemble))
    path = zone_path(ensemble)
    data = {
        "ensemble": ensemble.name,
        "boundaries": boundaries,
        "data": dataset,
        "split": split,
        "method": "instrument.arrange.zone.fit_boundaries on the train split",
    }
    path.write_text(json.dumps(data, indent=1) + "\n")
    return path
