"""The neural arrangers behind the arranger interface: online LSTM and offline BiLSTM.

``LSTMArranger.assign`` runs in the MIDI callback thread. It computes the note's features
and one LSTM step in two compiled numba calls on preallocated buffers (no torch, no
locks, no allocation beyond the returned int). A budget guard keeps a slow step from
making a note late: when the previous step overran ``budget_s`` (the machine was busy,
or the kernels were not yet compiled), the next note is decided by the zone arranger
instead, counted in ``fallbacks``; the step after that tries the LSTM again.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from instrument.arrange import features as F
from instrument.arrange.base import Arranger, Note
from instrument.arrange.fast import FastLSTM
from instrument.arrange.zone import ZoneArranger
from instrument.ensemble import Ensemble
from instrument.errors import InstrumentError
from instrument.paths import MODELS

DEFAULT_BUDGET_S = 0.0005  # a step slower than this sends the next note to the zone split


def model_path(ensemble: Ensemble, kind: str):
    return MODELS / f"{ensemble.name}-{kind}.pt"


def _load(ensemble: Ensemble, kind: str, path=None):
    from instrument.arrange import model as M

    path = path or model_path(ensemble, kind)
    model, config, card = M.load(path, kind, len(ensemble))
    parts = card.get("parts")
    if parts is not None and not isinstance(parts, list):
        raise InstrumentError(f"{path}: its model card's parts are not a list (damaged?)")
    if parts is not None and len(parts) != len(ensemble):
        raise InstrumentError(
            f"{path}: trained for {len(parts)} parts, the ensemble has {len(ensemble)}"
        )
    return model, config, card


class LSTMArranger(Arranger):
    """Online LSTM: each note's part from the note, the timing so far and the parts' history.

    use_velocity: taken from the model card (models trained on scores ignore velocity).
    budget_s: see the module docstring. fallbacks: notes decided by the zone split.
    """

    name = "lstm"

    def __init__(self, ensemble: Ensemble, path=None, budget_s: float = DEFAULT_BUDGET_S):
        super().__init__(ensemble)
        model, config, card = _load(ensemble, "lstm", path)
        from instrument.arrange import model as M

        self.card = card
        self.use_velocity = bool(card.get("use_velocity", False))
        self.fast = FastLSTM(
            M.numpy_weights(model), self.n_parts, F.n_online_features(self.n_parts)
        )
        self.zone = ZoneArranger(ensemble)
        self.budget_ns = int(budget_s * 1e9)
        self.state = F.new_state(self.n_parts)
        self.fallbacks = 0
        self.steps = 0
        self.last_step_ns = 0
        self._over = False
        self._warm_up()

    def _warm_up(self) -> None:
        """Compile (or load from numba's cache) the kernels now, not on the first live note."""
        self.assign(Note(60, 64, 0.0))
        self.release(60, 0, 0.1)
        self.reset()
        self.fallbacks = self.steps = 0

    def reset(self) -> None:
        F.reset_state(self.state)
        self.fast.reset()
        self._over = False

    def assign(self, note: Note) -> int:
        t0 = time.perf_counter_ns()
        pitch = note.pitch
        if self._over:
            # the last step was late: keep this note on time with the zone split
            self._over = False
            part = int(self.zone._table[pitch])
            F.online_features(
                self.state, pitch, note.time, note.velocity, self.use_velocity, self.fast.x
            )
            F.commit(self.state, pitch, note.time, part)
            self.fallbacks += 1
            return part
        F.online_features(
            self.state, pitch, note.time, note.velocity, self.use_velocity, self.fast.x
        )
        logits = self.fast.step(pitch)
        part = int(logits.argmax())
        F.commit(self.state, pitch, note.time, part)
        self.steps += 1
        self.last_step_ns = time.perf_counter_ns() - t0
        self._over = self.last_step_ns > self.budget_ns
        return part

    def release(self, pitch: int, part: int, time: float) -> None:
        if 0 <= part < self.n_parts:
            F.release(self.state, part)


DEFAULT_WINDOW_S = 0.020  # the chord window: covers a chord rolled over up to 20 ms
DEFAULT_BEAM = 3
# ensembles whose parts play one note at a time (almost always): there the search keeps a
# part from taking two notes of one chord. Chosen on the valid splits: it helps the choir
# and the quartet; POP909's piano plays whole chords (53% instead of 73% with it).
ONE_NOTE_PARTS = ("choir", "quartet")


class ChordWindowArranger(LSTMArranger):
    """The online LSTM deciding the notes of a chord together (``fast.window_run``).

    The notes struck within ``window_s`` of a window's first note are held until the
    window closes and then given their parts together: a beam search (width ``beam``)
    over the model's choices; for ensembles of one-note parts (``ONE_NOTE_PARTS``, or
    ``mask``) one note per part per onset group while a part is free.
    Each decision waits at most ``window_s`` (``window_waits``). Only whole note lists are
    arranged this way (``assign_all``: evaluation, files); the live performer does not
    hold notes back yet, so ``assign`` decides each note at once as ``LSTMArranger`` does.
    """

    name = "lstm-window"

    def __init__(
        self,
        ensemble: Ensemble,
        path=None,
        window_s: float = DEFAULT_WINDOW_S,
        beam: int = DEFAULT_BEAM,
        mask: bool | None = None,
    ):
        super().__init__(ensemble, path)
        if mask is None:
            mask = ensemble.name in ONE_NOTE_PARTS
        self.window_s, self.beam, self.mask = window_s, beam, mask

    def assign_all(self, notes: Sequence[Note]) -> list[int]:
        from instrument.arrange.fast import window_run

        if not notes:
            return []
        pitch = np.array([n.pitch for n in notes], dtype=np.int64)
        t = np.array([n.time for n in notes], dtype=np.float64)
        e = np.array([n.end if n.end is not None else np.inf for n in notes])
        v = np.array([n.velocity for n in notes], dtype=np.int64)
        parts = window_run(
            pitch, t, e, v, self.n_parts, self.use_velocity, self.fast.layers,
            *self.fast.args(), self.window_s, self.beam, self.mask,
        )  # fmt: skip
        return [int(p) for p in parts]


def window_bounds(time: np.ndarray, window_s: float) -> np.ndarray:
    """Where the chord windows of notes at ``time`` (sorted) start, and ``len(time)``."""
    starts = []
    a = 0
    while a < len(time):
        starts.append(a)
        b = a + 1
        while b < len(time) and time[b] - time[a] <= window_s:
            b += 1
        a = b
    return np.array(starts + [len(time)], dtype=np.int64)


def window_waits(time: np.ndarray, window_s: float) -> np.ndarray:
    """How long each note's decision waits for its chord window to close (seconds)."""
    bounds = window_bounds(time, window_s)
    first = np.repeat(bounds[:-1], np.diff(bounds))
    return time[first] + window_s - time


class BiLSTMArranger(Arranger):
    """Offline BiLSTM for whole files (``instrument render --arranger bilstm``).

    It needs the whole piece: ``assign_all`` arranges a note list at once, and ``plan``
    does so ahead of a note-by-note replay (a renderer calls ``plan`` with the file's
    notes, then ``assign`` hands out the planned parts in order, matched by pitch).
    Notes that were not planned (live playing) go to the online LSTM if one is shipped
    for the ensemble, else to the zone split.
    """

    name = "bilstm"
    LOOKAHEAD = 16  # planned notes searched for the pitch of an incoming note

    def __init__(self, ensemble: Ensemble, path=None):
        super().__init__(ensemble)
        self.model, _, self.card = _load(ensemble, "bilstm", path)
        try:
            self.online: Arranger = LSTMArranger(ensemble)
        except InstrumentError:
            self.online = ZoneArranger(ensemble)
        self._plan: list[tuple[int, int]] = []  # (pitch, part) in playing order
        self._next = 0

    def plan(self, notes: Sequence[Note]) -> list[int]:
        """Arrange ``notes`` (sorted by time, pitch) now; later ``assign`` calls replay it."""
        parts = self.assign_all(notes)
        self._plan = [(n.pitch, p) for n, p in zip(notes, parts, strict=True)]
        self._next = 0
        return parts

    def reset(self) -> None:
        self.online.reset()

    def assign(self, note: Note) -> int:
        for i in range(self._next, min(self._next + self.LOOKAHEAD, len(self._plan))):
            if self._plan[i][0] == note.pitch:
                part = self._plan[i][1]
                # mark it used; skipped entries stay available for a later match
                self._plan[i] = (-1, part)
                while self._next < len(self._plan) and self._plan[self._next][0] < 0:
                    self._next += 1
                return part
        return self.online.assign(note)

    def release(self, pitch: int, part: int, time: float) -> None:
        self.online.release(pitch, part, time)

    def assign_all(self, notes: Sequence[Note]) -> list[int]:
        if not notes:
            return []
        pitch = np.array([n.pitch for n in notes], dtype=np.int64)
        t = np.array([n.time for n in notes], dtype=np.float64)
        e = np.array([n.end if n.end is not None else n.time + 0.5 for n in notes])
        return [int(p) for p in self.model.predict(pitch, t, e)]
