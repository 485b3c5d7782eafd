"""``instrument accompany IN.mid --chart CHART.txt -o OUT.mid``: the band, offline."""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

from instrument.cli.options import number
from instrument.errors import InstrumentError, one_line
from instrument.paths import MODELS

DEFAULT_MODEL = MODELS / "accompany-lstm.pt"


CHART_HELP = ("chord chart: a .chart file, a built-in exercise (`instrument practice --list`), "
              "a MusicXML lead sheet, pop909:NNN, or the bars themselves: \"| C | Am | F G | C |\"")


class DefaultsFormatter(argparse.HelpFormatter):
    """Help that ends every option taking a value with its default, unless the help says
    it in words already (a default that depends on other things: "default: the chart's")."""

    @staticmethod
    def _shows_default(action: argparse.Action) -> bool:
        return (bool(action.option_strings) and action.nargs != 0
                and action.default not in (None, argparse.SUPPRESS))  # fmt: skip

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
    """Options shared by ``accompany`` and ``jam``."""
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


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "accompany",
        help="accompany a MIDI melody over a chord chart (offline)",
        description="Play the band against IN.mid (the player's part; its quarter notes are "
        "the chart's beats) over the chord chart, as it would live, and write the player's "
        "part, the continuation, bass, comping and drums as a multitrack MIDI file.",
        formatter_class=DefaultsFormatter,
    )
    p.add_argument("input", help="the player's part (MIDI file)")
    p.add_argument("--chart", required=True, help=CHART_HELP)
    p.add_argument("--loop", type=number(int, 1, 1000), default=1, metavar="N",
                   help="play the chart N times, the ending on the last pass")
    p.add_argument("-o", "--out", required=True, help="output MIDI file")
    add_band_options(p)
    p.set_defaults(func=run)


def make_planner(args: argparse.Namespace, chords, beats_per_bar: int):
    """The BandPlanner the options describe (loads the model for --style model)."""
    from instrument.accompany.planner import BandPlanner, Sections
    from instrument.accompany.styles import make_style

    generator = None
    if args.style == "model":
        import torch

        from instrument.accompany.generator import ModelGenerator
        from instrument.accompany.model import load_model

        torch.set_num_threads(1)
        try:
            model = load_model(args.model)
        except InstrumentError as e:
            # The shipped model may fall back to the rule-based style (and says so, also
            # on the status line through args.style); a model named with --model must work.
            if Path(args.model) != DEFAULT_MODEL:
                raise
            print(f"instrument: warning: {one_line(e)}; falling back to the rule-based "
                  f"style {args.rules}", file=sys.stderr)  # fmt: skip
            args.style = f"{args.rules} (fallback: model unusable)"
            model = None
        if model is not None:
            generator = ModelGenerator(
                model,
                temperature=args.temperature,
                top_k=args.top_k,
                top_p=args.top_p,
                seed=args.seed,
            )
        style = make_style(args.rules)
    else:
        style = make_style(args.style)
    if args.continue_beats < 0:
        raise InstrumentError("--continue-beats must be 0 or more")
    return BandPlanner(
        chords,
        beats_per_bar,
        style,
        generator,
        sections=Sections(beats_per_bar, intro_bars=args.intro),
        continue_after=args.continue_after,
        continue_beats=args.continue_beats,
        drums=not args.no_drums,
        count_in=args.count_in * beats_per_bar,
    )


def run(args: argparse.Namespace) -> int:
    from instrument.accompany.offline import (
        Accompaniment,
        accompany,
        chart_track,
        read_player,
        section_requests,
        write_multitrack,
    )
    from instrument.errors import InstrumentError
    from instrument.practice.exercises import resolve_chart

    if not 1 <= args.loop <= 1000 or not 0 <= args.intro <= 64:
        raise InstrumentError("--loop must be 1-1000 and --intro 0-64")
    chart = resolve_chart(args.chart)[0]
    player = read_player(args.input)
    chords = chart_track(chart, args.loop, args.intro)
    bpb = chart.beats_per_bar
    args.count_in = args.count_in or 0
    planner = make_planner(args, chords, bpb)
    section_requests(chart, planner.sections, args.loop, args.intro)
    total = int(args.intro * bpb + args.loop * chart.total_beats)
    band = accompany(player, planner, total)
    result = Accompaniment(player, band, chords, chart.tempo, bpb, total)
    write_multitrack(args.out, result)
    parts = {}
    for n in band:
        parts[n.part] = parts.get(n.part, 0) + 1
    from instrument.accompany.notes import PART_NAMES

    summary = ", ".join(f"{PART_NAMES[p]} {k}" for p, k in sorted(parts.items()))
    print(f"wrote {args.out}: {len(chart.bars)} bars at {chart.tempo:g} BPM; {summary}")
    return 0
