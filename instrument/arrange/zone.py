"""The keyboard split ("zone") baseline: each part owns one contiguous pitch range.

Zones follow the score order: the top part owns the highest pitches. Boundaries are either
derived from the ensemble's configured ranges or learned from data by ``fit_boundaries``,
which picks the split points that assign the most training notes correctly.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from instrument.arrange.base import Arranger, Note
from instrument.ensemble import Ensemble
from instrument.errors import InstrumentError, untrusted
from instrument.paths import MODELS


def boundaries_from_ranges(ensemble: Ensemble) -> list[int]:
    """Split points between neighbouring parts: the midpoint of their range centres.

    Returns ``n_parts - 1`` pitches, descending; part k owns pitches in
    ``[boundaries[k], boundaries[k-1])``.
    """
    centres = [(p.low + p.high) / 2 for p in ensemble.parts]
    return [int(np.ceil((a + b) / 2)) for a, b in zip(centres, centres[1:], strict=False)]


def fit_boundaries(pitches: Sequence[int], parts: Sequence[int], n_parts: int) -> list[int]:
    """The descending split points that maximise correctly assigned notes (exact DP).

    pitches, parts: one entry per training note (MIDI pitch, part index, 0 = top part).
    """
    counts = np.zeros((128, n_parts), dtype=np.int64)
    np.add.at(counts, (np.asarray(pitches), np.asarray(parts)), 1)
    # Walk pitches upwards; zone j (from the bottom) belongs to part n_parts-1-j.
    cum = np.vstack([np.zeros((1, n_parts), np.int64), np.cumsum(counts, axis=0)])
    best = np.full((n_parts, 129), -1, dtype=np.int64)  # best[j, b]: zones 0..j cover [0, b)
    back = np.zeros((n_parts, 129), dtype=np.int64)
    part = n_parts - 1
    best[0] = cum[:, part]
    for j in range(1, n_parts):
        part = n_parts - 1 - j
        for b in range(129):
            # zone j covers [a, b); a ranges over 0..b
            gains = best[j - 1, : b + 1] + (cum[b, part] - cum[: b + 1, part])
            a = int(np.argmax(gains))
            best[j, b], back[j, b] = gains[a], a
    splits_up = []
    b = 128
    for j in range(n_parts - 1, 0, -1):
        b = int(back[j, b])
        splits_up.append(b)
    return sorted(splits_up, reverse=True)


class ZoneArranger(Arranger):
    """Keyboard split: a note goes to the part whose zone contains its pitch.

    table: (128,) int64, the part of each MIDI pitch (``part_of``), so a decision is one
    index; built once from ``boundaries`` (n_parts - 1 descending split pitches).
    """

    name = "zone"

    def __init__(self, ensemble: Ensemble, boundaries: Sequence[int] | None = None):
        super().__init__(ensemble)
        if boundaries is None:
            boundaries = load_learned_boundaries(ensemble) or boundaries_from_ranges(ensemble)
        if len(boundaries) != self.n_parts - 1:
            raise InstrumentError(
                f"zone arranger for {ensemble.name!r} needs {self.n_parts - 1} boundaries"
            )
        self.boundaries = list(boundaries)
        self.table = np.array([self._zone(p) for p in range(128)], dtype=np.int64)

    def _zone(self, pitch: int) -> int:
        for k, b in enumerate(self.boundaries):
            if pitch >= b:
                return k
        return self.n_parts - 1

    def reset(self) -> None:
        pass

    def part_of(self, pitch: int) -> int:
        """The part whose zone holds MIDI ``pitch`` (0-127); no state, any thread."""
        return int(self.table[pitch])

    def assign(self, note: Note) -> int:
        return self.part_of(note.pitch)


def zone_path(ensemble: Ensemble) -> Path:
    return MODELS / f"{ensemble.name}-zone.json"


def load_learned_boundaries(ensemble: Ensemble) -> list[int] | None:
    """Boundaries learned from the ensemble's data set, if ``models/<name>-zone.json`` exists."""
    path = zone_path(ensemble)
    if not path.exists():
        return None
    with untrusted(path, "zone table"):
        data = json.loads(path.read_text(encoding="utf-8"))
        bounds = [int(b) for b in data["boundaries"]]
        if any(not 0 <= b <= 128 for b in bounds):
            raise ValueError("boundaries outside the MIDI range 0-128")
    return bounds if len(bounds) == len(ensemble) - 1 else None
