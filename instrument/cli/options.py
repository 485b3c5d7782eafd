"""Command-line options shared by several commands, and their resolution with defaults."""

from __future__ import annotations

import argparse
import copy
import os
import signal
import sys
from dataclasses import replace

from instrument.accompany.options import DEFAULT_MODEL, BandOptions
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


def add_sound_options(p: argparse.ArgumentParser) -> None:
    """The player's sound (``play``, ``render``): ensemble, arranger, SoundFont."""
    p.add_argument("--ensemble", "-e", default=None,
                   help=f"ensemble name or .toml file ({', '.join(available_ensembles())})")
    p.add_argument("--arranger", "-a", default=None,
                   help="zone, closest, lstm, bilstm (default: the ensemble's best)")
    p.add_argument("--soundfont", default=None, help="a .sf2/.sf3 file (default: found)")


CHART_HELP = ("chord chart: a .chart file, a built-in exercise (`instrument practice --list`), "
              "a MusicXML lead sheet, pop909:NNN, or the bars themselves: \"| C | Am | F G | C |\"")


class DefaultsFormatter(argparse.HelpFormatter):
    """Help that ends every option taking a value with its default, unless the help says
    it in words already (a default that depends on other things: "default: the chart's")."""

    @staticmethod
    def _shows_default(action: argparse.Action) -> bool:
        return (
            bool(action.option_strings)
            and action.nargs != 0
            and action.default not in (None, argparse.SUPPRESS)
        )

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if self._shows_default(action) and "default" not in text:
            text += " (default: %(default)s)"
        return text.strip()

    def _format_action(self, action: argparse.Action) -> str:
        if action.help is None and self._shows_default(action):  # no words, still a default
            action = copy.copy(action)
            action.help = "(default: %(default)s)"
        return super()._format_action(action)


def add_band_options(p: argparse.ArgumentParser) -> None:
    """The band's options (``jam``, ``accompany``); ``band_options`` reads them back."""
    p.add_argument(
        "--style",
        default="model",
        help="model, or a rule-based style: block, arpeggio, alberti, walking, pop8",
    )
    p.add_argument(
        "--rules",
        default="block",
        help="with --style model: the style that plays drums, intro, ending and "
        "stands in for a late plan",
    )
    p.add_argument("--model", default=str(DEFAULT_MODEL), help="accompaniment model weights")
    p.add_argument(
        "--continue-beats",
        type=number(int, 0, 64),
        default=8,
        help="continue the player's phrase for up to N beats when they stop (0: off)",
    )
    p.add_argument(
        "--continue-after",
        type=number(float, 0, 64),
        default=1.0,
        help="beats of silence before the band continues the phrase",
    )
    p.add_argument("--temperature", type=number(float, 0, 10), default=0.5,
                   help="model sampling temperature")
    p.add_argument("--top-k", type=number(int, 0, 100000), default=64,
                   help="model sampling: top-k candidates")
    p.add_argument("--top-p", type=number(float, 0, 1), default=0.9,
                   help="model sampling: nucleus size")
    p.add_argument("--seed", type=number(int, 0, 2**32 - 1), default=0)
    p.add_argument("--no-drums", action="store_true", help="leave out the drum groove")
    p.add_argument("--intro", type=number(int, 0, 64), default=0, metavar="BARS",
                   help="intro bars (with a chart: before it, on its first chord)")
    p.add_argument("--count-in", type=number(int, 0, 16), default=None, metavar="BARS",
                   help="count-in bars (default: 1 before a chart, else 0)")


def band_options(args: argparse.Namespace) -> BandOptions:
    """The ``BandOptions`` that ``add_band_options``' options say."""
    return BandOptions(
        style=args.style, rules=args.rules, model=args.model,
        continue_beats=args.continue_beats, continue_after=args.continue_after,
        temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, seed=args.seed,
        drums=not args.no_drums, intro=args.intro, count_in=args.count_in,
    )


def display_available() -> bool:
    """Whether a stage window can open (an X or Wayland display, or SDL told a driver)."""
    return any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"))


def interrupt_on(*signals: signal.Signals) -> None:
    """These signals (SIGTERM, SIGHUP) end a live command as Ctrl-C does, so that its
    ``finally`` (the session's close: all notes off) always runs."""

    def stop(_sig: int, _frame: object) -> None:
        raise KeyboardInterrupt

    for sig in signals:
        signal.signal(sig, stop)


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
        print(
            f"instrument: warning: {one_line(e)}; falling back to the {BUILT_IN_ENSEMBLE} ensemble",
            file=sys.stderr,
        )
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
