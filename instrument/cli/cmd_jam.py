"""``instrument jam``: play with the band live.

The keyboard plays through the usual live session (``instrument.live``: MIDI in, arranged
onto the ensemble, FluidSynth out). The band listens to the same MIDI stream and plays on
the channels the ensemble leaves free. Chords come from the keyboard's lower zone
(fingered, below ``--split``; the band starts on the first chord) or from ``--chart``
(the band starts after a count-in).

By default the stage window shows the band's chord, the chords coming, bar, beat, tempo
and the notes of the player and the band; its keys: F5 tap tempo, F6 start/stop the band,
F7/F8 main A/B, F9 ending, Esc panic, Ctrl+Q quit, and the computer-keyboard piano. With
``--no-display``, commands on standard input, one per line: ``t`` tap tempo, ``a`` / ``b``
main A / B (with a fill), ``e`` ending, ``s`` stop at the end of the bar, ``q`` quit.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

from instrument.cli.options import (
    CHART_HELP,
    DefaultsFormatter,
    add_band_options,
    band_options,
    display_available,
    interrupt_on,
    number,
    resolve_band,
)
from instrument.registration import add_registration_option, apply_registration


def register(subparsers) -> None:
    p = subparsers.add_parser("jam", help="play live with the band (accompaniment, continuation)",
                              formatter_class=DefaultsFormatter)
    add_band_options(p)
    p.add_argument("--chart", default=None, help=CHART_HELP + " (default: fingered chords)")
    p.add_argument("--loop", nargs="?", type=number(int, 0, 1000), const=0, default=None,
                   metavar="N",
                   help="with --chart: play it round N times, or without N until the ending "
                   "(F9 / e); the last bar of the last pass is the ending (default: once)")
    p.add_argument("--record", default=None, metavar="DIR",
                   help="record the take into DIR/take-*/: the player (input.mid, "
                   "arranged.mid), the band (band.mid) and the audio of both (take.wav) "
                   "(default: off)")
    p.add_argument("--listen", nargs="?", const="default", default=None, metavar="DEVICE",
                   help="follow the beat and chords heard on an audio input, the default "
                   "one if no DEVICE is named (default: off)")
    p.add_argument("--tempo", type=number(float, 20, 400), default=None,
                   help="BPM (default: the chart's, or 100)")
    p.add_argument("--meter", type=number(int, 1, 16), default=None,
                   help="beats per bar (default: chart or 4)")
    p.add_argument(
        "--split",
        type=number(int, 0, 128),
        default=60,
        help="fingered chords: keys below this MIDI note are the chord hand",
    )
    p.add_argument("--ensemble", "-e", default="pop909", help="the player's own sound")
    p.add_argument("--arranger", "-a", default=None,
                   help="default: the ensemble's trained model, as `instrument play` chooses")
    p.add_argument("--soundfont", default=None,
                   help="GM SoundFont (default: the first found, see `instrument devices`)")
    p.add_argument(
        "--midi-in", default=None, help="MIDI input (substring of its name); 'none' for no "
        "keyboard (default: the first hardware input, else a virtual port)"
    )
    p.add_argument("--midi-api", default="auto", choices=["auto", "alsa", "jack"])
    p.add_argument("--mpe", action="store_true",
                   help="the keyboard is an MPE controller (lower zone): each note's bend, "
                   "pressure and slide go to the part it plays")
    p.add_argument(
        "--audio", default="auto", help="auto, jack, pulseaudio, alsa, sounddevice or none"
    )
    p.add_argument("--duration", type=number(float, 0.01, 1e6), default=None,
                   help="stop after this many seconds (default: until you quit)")
    p.add_argument("--no-display", action="store_true",
                   help="no stage window: commands on standard input")
    p.add_argument("--screenshot", default=None, metavar="PNG",
                   help="save the stage as PNG at exit (default: none)")
    p.add_argument(
        "--play-file",
        default=None,
        metavar="MIDI",
        help="play this MIDI file into the jam as if from the keyboard (default: none)",
    )
    add_registration_option(p, "jam")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from instrument.errors import InstrumentError
    from instrument.practice.exercises import resolve_chart

    registration = apply_registration(args)  # fills the options left at their defaults
    if not args.no_display and not display_available():
        print("instrument: no display found: running without the stage window", file=sys.stderr)
        args.no_display = True
    chart = resolve_chart(args.chart)[0] if args.chart else None
    if args.loop is not None and chart is None:
        raise InstrumentError("--loop needs a --chart to loop")
    loops = 1 if args.loop is None else (args.loop or None)  # --loop alone: until the ending
    if loops is not None and not 1 <= loops <= 1000 or not 0 <= args.intro <= 64:
        raise InstrumentError("--loop N must be 1-1000 and --intro 0-64")
    jam = _jam_session(args, chart, loops, registration)
    interrupt_on(signal.SIGTERM)
    try:
        jam.prepare()
        jam.start()
        for line in jam.choices:  # what audio and MIDI it found, and why
            print(f"instrument: {line}", file=sys.stderr, flush=True)
        keys = "commands: t a b e s q" if args.no_display else "F1 in the window: keys"
        looping = "" if loops == 1 else (f", {loops} times" if loops else ", looped")
        print(
            f"instrument jam: {jam.tempo:g} BPM, {jam.beats_per_bar}/4, style {jam.style}, "
            f"chords from {_chord_source(args, chart)}{looping}; {keys}",
            flush=True,
        )
        if args.play_file:
            from instrument.input.feeder import keyboard_file

            jam.feed_file(keyboard_file(args.play_file))
        if args.no_display:
            _loop(jam.band, jam.clock, args.duration, jam.live)
        else:
            _stage(jam, args)
    except KeyboardInterrupt:
        pass
    finally:
        take = jam.take
        jam.close()
        if take is not None:
            print(f"instrument jam: recorded {take}", flush=True)
    print(f"instrument jam: {jam.summary()}", flush=True)
    return 0


def _jam_session(args: argparse.Namespace, chart, loops: int | None, registration):
    """The jam session the options describe: the player's sound chosen as ``play``
    chooses it, the band, and the listener with ``--listen``."""
    from instrument.live.jam import JamSession
    from instrument.live.session import LiveSession
    from instrument.synth import find_soundfont

    heard = None
    if args.listen is not None:
        from instrument.listen.stream import ListenStream

        heard = ListenStream(None if args.listen == "default" else args.listen)
    ensemble, arranger = resolve_band(args)  # the player's sound, chosen as `play` does
    live = LiveSession(
        ensemble,
        arranger,
        find_soundfont(args.soundfont),
        audio=args.audio,
        midi_in=args.midi_in,
        midi_api=args.midi_api,
        mpe=args.mpe,
        transpose=registration.transpose if registration is not None else 0,
    )
    return JamSession(live, band_options(args), chart, loops, tempo=args.tempo,
                      meter=args.meter, split=args.split, heard=heard, record=args.record)


def _chord_source(args: argparse.Namespace, chart) -> str:
    if chart is not None:
        return f"chart {args.chart}" + (", beat heard" if args.listen else "")
    if args.listen is not None:
        return f"the audio input ({args.listen}): chords and beat heard"
    return f"keys below {args.split}"


def _loop(band, clock, duration: float | None, session=None) -> None:
    """Commands from stdin and a line per bar (the planned chords) until done; the
    session's status (MIDI, audio) when it changes."""
    import select

    from instrument.display.plain import StatusReport

    end = time.monotonic() + duration if duration else float("inf")
    last_bar = None
    interactive = sys.stdin is not None and sys.stdin.isatty()
    report, next_health = StatusReport(), 0.0
    try:
        while time.monotonic() < end:
            now = time.monotonic()
            if session is not None and now >= next_health:  # 4 Hz: it asks the MIDI system
                report.update(session.health(), now)
                next_health = now + 0.25
            state = clock.state(now)
            if clock.running and state.beat >= band.planner.sections.end_beat():
                return
            if clock.running and state.bar != last_bar and state.beat >= 0:
                last_bar = state.bar
                print(_bar_line(band, state.bar, clock.beats_per_bar, clock.tempo), flush=True)
            if interactive and select.select([sys.stdin], [], [], 0.05)[0]:
                cmd = sys.stdin.readline().strip().lower()
                if cmd == "q":
                    return
                if cmd == "t":
                    clock.tap(time.monotonic())
                elif cmd in ("a", "b"):
                    band.request_section(cmd.upper())
                elif cmd == "e":
                    band.request_section("ending")
                elif cmd == "s":
                    band.request_section("stop")
            else:
                time.sleep(0.05)
    finally:
        if session is not None:
            report.finish(session.health())  # the xruns not told yet


def _stage(jam, args: argparse.Namespace) -> None:
    """The stage window: the jam view first, F4 for the play view (held chord named)."""
    from instrument.display.jam import BAND_LEGEND, JamView
    from instrument.display.stage import PlayView, run_stage

    views = [JamView(jam.band, jam.clock, jam.chart is not None, args.split), PlayView()]
    run_stage(jam.live, duration=args.duration, screenshot=args.screenshot, views=views,
              band_parts=BAND_LEGEND)


def _bar_line(band, bar: int, bpb: int, tempo: float) -> str:
    """This bar and the next as the band has them planned: chords per beat."""
    from instrument.harmony.naming import name_chord

    def name(t) -> str:
        chord = None if t.is_rest else name_chord([36 + t.bass] + [60 + pc for pc in t.pcs])
        return "N" if chord is None else chord.name

    cells = []
    for b in range(bar * bpb, (bar + 2) * bpb, bpb):
        cells.append(" ".join(name(band.planner.chords.at(b + k)) for k in range(bpb)))
    section, _ = band.planner.sections.at(bar * bpb)
    return f"bar {bar + 1} [{section}] {tempo:.0f} BPM  | {cells[0]} | next: {cells[1]} |"
