"""The neural arrangers behind the arranger interface: online LSTM and offline BiLSTM.

``LSTMArranger.assign`` and ``revisions`` run in the MIDI callback thread, before the
note sounds. They compute the note's features, one LSTM step and the revision of the
chord so far in compiled numba calls on preallocated buffers (no torch, no locks, no
allocation beyond the returned values). A budget guard keeps slow work from making a
note late: when the previous note's work overran ``budget_s`` (the machine was busy, or
the kernels were not yet compiled), the next note is decided by the zone arranger
instead, counted in ``fallbacks``, and joins its chord unrevised; the note after that
tries the LSTM again and revises the whole chord.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from instrument.arrange import features as F
from instrument.arrange.base import Arranger, ArrangerStats, Note
from instrument.arrange.fast import (
    ARRIVAL_WEIGHT,
    GROUP_CAP,
    FastLSTM,
    History,
    Rules,
    join_chord,
    live_assign,
    live_revise,
    new_chord,
    perform_run,
    start_group,
)
from instrument.arrange.zone import ZoneArranger
from instrument.ensemble import Ensemble
from instrument.errors import InstrumentError
from instrument.paths import MODELS

# work before a note sounds (decision + revision) slower than this sends the next note to
# the zone split: half an audio period at 128 frames and 48 kHz (2.7 ms)
DEFAULT_BUDGET_S = 0.0015
RANGE_PENALTY = 0.35  # logits per semitone a note lies outside a part's range


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


def range_penalty(ensemble: Ensemble, weight: float = RANGE_PENALTY) -> np.ndarray:
    """(128, P) float32 added to the parts' logits: minus ``weight`` per semitone a pitch
    lies outside each part's range (soft: a clear model choice still wins)."""
    pitch = np.arange(128)[:, None]
    low = np.array([p.low for p in ensemble.parts])[None]
    high = np.array([p.high for p in ensemble.parts])[None]
    outside = np.maximum(low - pitch, 0) + np.maximum(pitch - high, 0)
    return (-weight * outside).astype(np.float32)


def polyphony(ensemble: Ensemble) -> np.ndarray:
    return np.array([p.polyphony for p in ensemble.parts], dtype=np.int64)


class LSTMArranger(Arranger):
    """Online LSTM: each note's part from the note, the timing so far and the parts' history.

    Each note is decided at once (``assign``, the first decision: what sounds). With
    ``revise`` (the default), ``revisions`` then decides the notes of the chord struck so
    far again, together and low to high from the state before the chord (``fast.
    live_revise``; the newest note also weighs its first decision's view), so the final
    parts hardly depend on the order the fingers landed in; the performer moves a note
    whose part changed. Decisions respect the ensemble: a part
    of polyphony N takes at most N notes of one chord while another part has room, and
    ranges are soft (``range_penalty``); ``binds`` counts how often each changed a choice.

    use_velocity: taken from the model card (models trained on scores ignore velocity).
    arrival_weight: how much the newest note's first decision counts in its revision
    (``fast.ARRIVAL_WEIGHT``; 0: the revision alone, order-free final parts).
    budget_s: see the module docstring (``use_time_guard(False)`` turns it off: offline).
    fallbacks: notes decided by the zone split.
    """

    name = "lstm"

    def __init__(
        self,
        ensemble: Ensemble,
        path=None,
        budget_s: float = DEFAULT_BUDGET_S,
        revise: bool = True,
        first_path=None,
        arrival_weight: float = ARRIVAL_WEIGHT,
    ):
        super().__init__(ensemble)
        model, config, card = _load(ensemble, "lstm", path)
        from instrument.arrange import model as M

        self.card = card
        self.use_velocity = bool(card.get("use_velocity", False))
        nf = F.n_online_features(self.n_parts)
        self.fast = FastLSTM(M.numpy_weights(model), self.n_parts, nf)
        # a model of its own for the first decisions (trained on random arrival orders,
        # selected on first decisions), when one is shipped: <ensemble>-lstm-first.pt
        if first_path is None and path is None:
            shipped = MODELS / f"{ensemble.name}-lstm-first.pt"
            first_path = shipped if shipped.exists() else None
        self.first = self.fast
        self.first_card: dict = {}
        if first_path is not None:
            first, _, self.first_card = _load(ensemble, "lstm", first_path)
            self.first = FastLSTM(M.numpy_weights(first), self.n_parts, nf)
        self.zone = ZoneArranger(ensemble)
        self.revise = revise
        self.budget_ns = int(budget_s * 1e9)
        self.binds = np.zeros(2, np.int64)  # [range, polyphony] changed a choice
        lean = np.full(1, arrival_weight, np.float32)
        self.rules = Rules(range_penalty(ensemble), polyphony(ensemble), self.binds, lean)
        state = F.new_state(self.n_parts)
        # every note so far in arrival order on its first part (the first model's state)
        self.arrival = History(state, self.first.h, self.first.c)
        fast = self.fast
        # the revised history: before the current chord, and after it as revised
        self.before = History(state.copy(), fast.h.copy(), fast.c.copy())
        self.as_revised = History(state.copy(), fast.h.copy(), fast.c.copy())
        self.xr = fast.x.copy()  # the features a revision decides on
        self.chord = new_chord(nf, self.n_parts)  # the onset group so far
        self.fallbacks = 0
        self.steps = 0
        self.revised = 0  # notes whose part a revision changed
        self.last_step_ns = 0
        self._t0 = 0  # perf_counter_ns at the current note's assign
        self._over = False
        self._skip = False  # the current note was decided by the guard's zone split
        self._warm_up()

    def _warm_up(self) -> None:
        """Compile (or load from numba's cache) the kernels now, not on the first live note
        (with the guard off: a compiling call must not send the next one to the zone split,
        which would leave the revision uncompiled)."""
        budget, self.budget_ns = self.budget_ns, 1 << 62
        self.assign(Note(60, 64, 0.0))
        self.revisions()
        self.assign(Note(64, 64, 0.01))
        self.revisions()
        self.release(60, 0, 0.1)
        self.reset()
        self.budget_ns = budget
        self.fallbacks = self.steps = self.revised = 0
        self.binds[:] = 0

    def use_time_guard(self, on: bool) -> None:
        self.budget_ns = int(DEFAULT_BUDGET_S * 1e9) if on else 1 << 62

    def stats(self) -> ArrangerStats:
        budget = self.budget_ns if self.budget_ns < 1 << 62 else 0
        return ArrangerStats(self.steps, self.fallbacks, self.revised, budget)

    def reset(self) -> None:
        F.reset_state(self.arrival.s)
        F.reset_state(self.as_revised.s)
        self.first.reset()
        self.as_revised.h[:] = 0.0
        self.as_revised.c[:] = 0.0
        self.chord.size[0] = 0
        self._over = False

    def assign(self, note: Note) -> int:
        t0 = time.perf_counter_ns()
        self._t0 = t0
        if self._over:
            # the last note's work was late: keep this note on time with the zone split;
            # it joins its chord, so the next note's revision decides it with the others
            self._over = False
            self._skip = True
            self.fallbacks += 1
            return self._zone_joins_chord(note)
        self._skip = False
        part = live_assign(
            self.first.net,
            self.rules,
            self.arrival,
            self.before,
            self.as_revised,
            self.chord,
            self.revise,
            note.pitch,
            note.time,
            note.velocity,
            self.use_velocity,
            self.first.x,
        )
        self.steps += 1
        self.last_step_ns = time.perf_counter_ns() - t0
        self._over = self.last_step_ns > self.budget_ns
        return int(part)

    def _zone_joins_chord(self, note: Note) -> int:
        """The guard's decision: the zone split's part for ``note``, entered into the
        arrival history and the chord as a model decision would be (no LSTM step)."""
        part = self.zone.part_of(note.pitch)
        state = self.arrival.s
        start_group(self.arrival, self.before, self.as_revised, self.chord, self.revise, note.time)
        F.online_features(
            state, note.pitch, note.time, note.velocity, self.use_velocity, self.first.x
        )
        F.commit(state, note.pitch, note.time, part)
        # joins with no arrival view: the revision decides it on its history
        join_chord(self.chord, note.pitch, note.velocity, note.time, part)
        return part

    def revisions(self) -> list[tuple[int, int, int]]:
        chord = self.chord
        if not self.revise or self._skip or chord.size[0] < 1:
            return []
        before = chord.part[: chord.size[0]].copy()
        m = live_revise(
            self.fast.net,
            self.rules,
            self.before,
            self.as_revised,
            chord,
            self.use_velocity,
            self.xr,
        )
        changed = [
            (int(chord.notes[k, 0]), int(before[k]), int(chord.part[k]))
            for k in range(m)
            if before[k] != chord.part[k]
        ]
        self.revised += len(changed)
        # the guard counts the whole work done before the note sounds
        self.last_step_ns = time.perf_counter_ns() - self._t0
        self._over = self.last_step_ns > self.budget_ns
        return changed

    def release(self, pitch: int, part: int, time: float) -> None:
        if 0 <= part < self.n_parts:
            F.release(self.arrival.s, part)
            F.release(self.as_revised.s, part)
            held = range(min(int(self.chord.size[0]), GROUP_CAP))
            in_group = any(int(self.chord.notes[k, 0]) == pitch for k in held)
            if not in_group:  # a note from before the chord: the revision's start knows it
                F.release(self.before.s, part)

    def perform_all(self, notes: Sequence[Note]) -> tuple[np.ndarray, np.ndarray]:
        """(parts at the note-on, final parts) of a whole note list, as live (one numba
        call)."""
        if not notes:
            z = np.zeros(0, np.int64)
            return z, z
        pitch = np.array([n.pitch for n in notes], dtype=np.int64)
        t = np.array([n.time for n in notes], dtype=np.float64)
        e = np.array([n.end if n.end is not None else np.inf for n in notes])
        v = np.array([n.velocity for n in notes], dtype=np.int64)
        nets = self.first.net, self.fast.net
        run = perform_run(pitch, t, e, v, *nets, self.rules, self.use_velocity, self.revise, False)
        self.binds += run.binds
        # what sounds at the note-on: the part after the revision the note's own arrival
        # made (the performer revises before it sounds the note)
        return (run.onset if self.revise else run.first), run.final


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

    def plan(self, notes: Sequence[Note]) -> None:
        """Arrange ``notes`` (sorted by time, pitch) now; later ``assign`` calls replay it."""
        parts = self.assign_all(notes)
        self._plan = [(n.pitch, p) for n, p in zip(notes, parts, strict=True)]
        self._next = 0

    def stats(self) -> ArrangerStats:
        return self.online.stats()  # planned notes cost nothing live; the rest are online

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

    def perform_all(self, notes: Sequence[Note]) -> tuple[np.ndarray, np.ndarray]:
        parts = np.array(self.assign_all(notes), dtype=np.int64)
        return parts, parts

    def assign_all(self, notes: Sequence[Note]) -> list[int]:
        """Parts of a whole note list. The model was trained on chords listed low to high,
        so each onset group is put in that order first (offline, the order is known)."""
        if not notes:
            return []
        pitch = np.array([n.pitch for n in notes], dtype=np.int64)
        t = np.array([n.time for n in notes], dtype=np.float64)
        e = np.array([n.end if n.end is not None else n.time + 0.5 for n in notes])
        gid = F.group_ids(t)
        order = np.lexsort((pitch, gid))
        times = t[order]
        times = np.sort(times)  # arrival times kept in order, pitches low to high
        parts = np.empty(len(notes), np.int64)
        parts[order] = self.model.predict(pitch[order], times, e[order])
        return [int(p) for p in parts]
