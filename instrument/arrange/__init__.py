"""Arrangers: which part of the ensemble plays each note (see ``base.Arranger``)."""

from __future__ import annotations

from collections.abc import Callable

from instrument.arrange.base import Arranger, Note
from instrument.arrange.closest import ClosestPitchArranger
from instrument.arrange.zone import ZoneArranger
from instrument.ensemble import Ensemble
from instrument.errors import InstrumentError


def _lstm(ensemble: Ensemble) -> Arranger:
    # numba and torch load only when a neural arranger is asked for
    from instrument.arrange.neural import LSTMArranger

    return LSTMArranger(ensemble)


def _bilstm(ensemble: Ensemble) -> Arranger:
    from instrument.arrange.neural import BiLSTMArranger

    return BiLSTMArranger(ensemble)


# built-in data set -> the ensemble its parts are arranged for (training and evaluation)
DATASET_ENSEMBLE = {"bach": "choir", "quartet": "quartet", "pop909": "pop909", "pop": "pop"}

# name -> factory(ensemble). "lstm"/"bilstm" need models/<ensemble>-<name>.pt.
ARRANGERS: dict[str, Callable[[Ensemble], Arranger]] = {
    "zone": ZoneArranger,
    "closest": ClosestPitchArranger,
    "lstm": _lstm,
    "bilstm": _bilstm,
}


def make_arranger(name: str, ensemble: Ensemble) -> Arranger:
    """Build the arranger ``name`` for ``ensemble``; InstrumentError if unknown or unusable."""
    if name not in ARRANGERS:
        raise InstrumentError(f"unknown arranger {name!r} (known: {', '.join(ARRANGERS)})")
    return ARRANGERS[name](ensemble)


def default_arranger_name(ensemble: Ensemble) -> str:
    """The best arranger available for ``ensemble``: its trained LSTM if shipped, else zone."""
    from instrument.paths import MODELS

    if "lstm" in ARRANGERS and (MODELS / f"{ensemble.name}-lstm.pt").exists():
        return "lstm"
    return "zone"


__all__ = [
    "ARRANGERS",
    "DATASET_ENSEMBLE",
    "Arranger",
    "Note",
    "default_arranger_name",
    "make_arranger",
]
