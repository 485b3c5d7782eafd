"""Command-line options shared by several commands, and their resolution with defaults."""

from __future__ import annotations

import argparse

from instrument.arrange import default_arranger_name, make_arranger
from instrument.arrange.base import Arranger
from instrument.ensemble import Ensemble, available_ensembles, load_defaults, load_ensemble


def add_band_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ensemble", "-e", default=None,
                   help=f"ensemble name or .toml file ({', '.join(available_ensembles())})")
    p.add_argument("--arranger", "-a", default=None,
                   help="zone, closest, lstm, bilstm (default: the ensemble's best)")
    p.add_argument("--soundfont", default=None, help="a .sf2/.sf3 file (default: found)")


def resolve_band(args: argparse.Namespace) -> tuple[Ensemble, Arranger]:
    ensemble = load_ensemble(args.ensemble or load_defaults().get("ensemble", "quartet"))
    name = args.arranger or default_arranger_name(ensemble)
    return ensemble, make_arranger(name, ensemble)
