"""``instrument accompany IN.mid --chart CHART.txt -o OUT.mid``: the band, offline."""

from __future__ import annotations

import argparse

from instrument.cli.options import (
    CHART_HELP,
    DefaultsFormatter,
    add_band_options,
    band_options,
    number,
)


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


def run(args: argparse.Namespace) -> int:
    from instrument.accompany.offline import (
        Accompaniment,
        accompany,
        chart_track,
        read_player,
        section_requests,
        write_multitrack,
    )
    from instrument.accompany.options import make_planner
    from instrument.errors import InstrumentError
    from instrument.practice.exercises import resolve_chart

    if not 1 <= args.loop <= 1000 or not 0 <= args.intro <= 64:
        raise InstrumentError("--loop must be 1-1000 and --intro 0-64")
    chart = resolve_chart(args.chart)[0]
    player = read_player(args.input)
    chords = chart_track(chart, args.loop, args.intro)
    bpb = chart.beats_per_bar
    planner, _ = make_planner(band_options(args), chords, bpb)
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
