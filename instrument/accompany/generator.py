"""Planning one beat with the model: read the recent beats, then sample the next one.

For beat ``b`` the generator re-reads the last ``context_beats`` beats of what actually
sounded (the band's notes and the player's, on the sixteenth grid) in one LSTM call, forces
the ``BEAT`` token of ``b``, then samples tokens until the model opens the following beat.
Reading the context afresh each beat keeps the model in the situation it was trained in
(windows from a zero state) however long the jam runs, and lets the player's notes that
arrived since the last plan count. Tokens of parts that are not wanted are masked out
(accompaniment: no melody; continuation: every part), and grammar is enforced by masks
too (a step moves forward, a note needs a step).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from instrument.accompany.model import AccompanyLSTM, Stepper, sample
from instrument.accompany.notes import MELODY, STEPS_PER_BEAT, ChordTrack
from instrument.accompany.tokens import (
    BEAT,
    STEP0,
    TOKEN_PART,
    VOCAB,
    chord_rows,
    conditions_from_rows,
    decode_note,
    event_tokens,
    events,
)

MAX_TOKENS_PER_BEAT = 48


class ModelGenerator:
    """Samples beats from an ``AccompanyLSTM``.

    temperature, top_k, top_p: sampling (see ``model.sample``). context_beats: how many
    past beats are read before each plan. melody_bias: added to the melody tokens' logits
    when continuing: after the player's silence the model (like the songs it learnt from)
    expects the rest to go on, and the point of continuing is to answer. seed: for
    repeatable offline output.
    """

    def __init__(
        self,
        model: AccompanyLSTM,
        temperature: float = 0.5,
        top_k: int = 64,
        top_p: float = 0.9,
        context_beats: int = 8,
        melody_bias: float = 3.0,
        seed: int = 0,
    ):
        self.model = model.eval()
        self.melody_bias = melody_bias
        self.stepper = Stepper(self.model)
        self.temperature, self.top_k, self.top_p = temperature, top_k, top_p
        self.context_beats = context_beats
        self.rng = torch.Generator().manual_seed(seed)
        parts = torch.from_numpy(TOKEN_PART)
        self._part_masks = {p: parts == p for p in range(3)}
        self._step_ids = torch.arange(STEP0, STEP0 + STEPS_PER_BEAT)
        self._masks: dict[tuple[tuple[int, ...], int | None], torch.Tensor] = {}

    def _allowed(self, parts: Sequence[int], step: int | None) -> torch.Tensor:
        """Boolean (VOCAB,) of tokens allowed after a token at ``step`` (None: right after BEAT)."""
        key = (tuple(parts), step)
        if key not in self._masks:
            self._masks[key] = self._make_mask(parts, step)
        return self._masks[key]

    def _make_mask(self, parts: Sequence[int], step: int | None) -> torch.Tensor:
        ok = torch.zeros(VOCAB, dtype=torch.bool)
        ok[BEAT] = True
        first = 0 if step is None else step + 1
        ok[self._step_ids[first:]] = True
        if step is not None:
            for p in parts:
                ok |= self._part_masks[p]
        return ok

    @torch.inference_mode()
    def plan(
        self,
        beat: int,
        history: np.ndarray,
        chords: ChordTrack,
        beats_per_bar: int,
        parts: Sequence[int],
    ) -> list[tuple[int, int, int, int]]:
        """Notes of beat ``beat`` for ``parts``: (part, pitch, duration steps, onset step).

        history: int (n, 4) rows (onset step, duration steps, part, pitch) of what sounded
        before (only notes with onset before ``beat`` are read).
        """
        first = max(0, beat - self.context_beats)
        ev = events(history, first, beat - first + 1)
        # the window ends with the forced BEAT token of `beat`; notes already in it are not read
        ev = ev[: np.flatnonzero(ev[:, 0] == BEAT)[-1] + 1]
        tokens = event_tokens(ev)
        steps = ev[:, 4]
        cond = conditions_from_rows(chord_rows(chords, steps), steps, beats_per_bar)
        logits, state = self.model(torch.from_numpy(tokens)[None], torch.from_numpy(cond)[None])
        last = logits[0, -1]
        t0 = beat * STEPS_PER_BEAT
        here = np.arange(t0, t0 + STEPS_PER_BEAT)
        step_gates = self.stepper.cond_gates(
            torch.from_numpy(conditions_from_rows(chord_rows(chords, here), here, beats_per_bar))
        )
        out: list[tuple[int, int, int, int]] = []
        step: int | None = None
        seen: set[tuple[int, int]] = set()
        bias = self.melody_bias * self._part_masks[MELODY] if MELODY in parts else None
        for _ in range(MAX_TOKENS_PER_BEAT):
            if bias is not None:
                last = last + bias
            masked = last.masked_fill(~self._allowed(parts, step), float("-inf"))
            tok = sample(masked, self.temperature, self.top_k, self.top_p, self.rng)
            if tok == BEAT:
                break
            if tok < STEP0 + STEPS_PER_BEAT:
                step = tok - STEP0
            else:
                part, pitch, dur = decode_note(tok)
                if (part, pitch) not in seen:
                    seen.add((part, pitch))
                    out.append((part, pitch, dur, t0 + step))
            last, state = self.stepper.step(tok, step_gates[step], state)
        return out
