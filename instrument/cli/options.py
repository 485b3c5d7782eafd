"""Command-line options shared by several commands, and their resolution with defaults."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from instrument.arrange import default_arranger_name, make_arranger
from instrument.arrange.base import Arranger
from instrument.ensemble import Ensemble, available_ensembles, load_defaults, load_ensemble
from instrument.errors import InstrumentError, one_line


def number(kind: type[int] | type[float], low: float, high: float):
    """An argparse ``type`` for a number in [low, high]: out of range, NaN or inf are
    refused by the parser (one line, exit 2) before any command runs."""

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {'a whole number' if kind is int else 'a number'}"
            ) from None
        if not low <= value <= high:  # NaN fails this too
            raise argparse.ArgumentTypeError(f"must be {low:g} to {high:g}, not {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def add_band_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ensemble", "-e", default=None,
                   help=f"ensemble name or .toml file ({', '.join(available_ensembles())})")
    p.add_argument("--arranger", "-a", default=None,
                   help="zone, closest, lstm, bilstm (default: the ensemble's best)")
    p.add_argument("--soundfont", default=None, help="a .sf2/.sf3 file (default: found)")


BUILT_IN_ENSEMBLE = "quartet"


def default_ensemble() -> Ensemble:
    """The ensemble ``configs/defaults.toml`` names; if that one is unusable (or the
    defaults file is), the built-in quartet, with a warning line and a title that says so."""
    try:
        name = load_defaults().get("ensemble", BUILT_IN_ENSEMBLE)
        if not isinstance(name, str):
            raise InstrumentError(f"configs/defaults.toml: ensemble must be a name, not {name!r}")
        return load_ensemble(name)
    except InstrumentError as e:
        fallback = load_ensemble(BUILT_IN_ENSEMBLE)  # a broken built-in one is an error
        print(f"instrument: warning: {one_line(e)}; falling back to the {BUILT_IN_ENSEMBLE} "
              "ensemble", file=sys.stderr)  # fmt: skip
        return replace(fallback, title=f"{fallback.title} (fallback: default ensemble unusable)")


def resolve_band(args: argparse.Namespace) -> tuple[Ensemble, Arranger]:
    """The ensemble and arranger asked for, else the defaults.

    An arranger named on the command line must work (else a one-line error); the default
    one may fall back to the zone split when its model file is unusable, and says so.
    """
    ensemble = load_ensemble(args.ensemble) if args.ensemble else default_ensemble()
    if args.arranger:
        return ensemble, make_arranger(args.arranger, ensemble)
    name = default_arranger_name(ensemble)
    try:
        return ensemble, make_arranger(name, ensemble)
    except InstrumentError as e:
        print(f"instrument: warning: {one_line(e)}; falling back to the zone arranger",
              file=sys.stderr)
        arranger = make_arranger("zone", ensemble)
        arranger.name = f"zone (fallback: {name} unusable)"
        return ensemble, arranger
