"""``instrument practice CHART``: play a chord chart, get feedback per chord, keep history.

By default the stage window shows the chord to play and the next ones, bar, beat, tempo
and pulse, the verdict on each chord (target and played, green or red, what was missing),
an early/late meter and the running score (F6 starts again); ``--no-display`` prints the
same feedback in the terminal.
"""

from __future__ import annotations

import argparse
import signal

from instrument.cli.options import display_available, interrupt_on, number
from instrument.registration import add_registration_option, apply_registration


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "practice",
        help="practise a chord chart with feedback per chord; --report shows progress",
        description="Play along with a chart (a built-in exercise, a .chart file, a MusicXML "
        "lead sheet or a POP909 song): count-in, metronome, each chord judged right or wrong "
        "with its timing; every attempt is kept in a local history database.",
    )
    p.add_argument("chart", nargs="?", help="exercise name, .chart file, .mxl, or pop909:NNN")
    p.add_argument("--list", action="store_true", help="list the built-in exercises")
    p.add_argument("--show", action="store_true", help="print the chart and exit")
    p.add_argument("--report", action="store_true", help="print progress and write a plot")
    p.add_argument("--plot", metavar="PNG", help="where --report writes its plot")
    p.add_argument("--exercise", help="--report: only this exercise")
    p.add_argument("--tempo-scale", type=number(float, 0.1, 4), default=1.0,
                   help="0.5 = half speed")
    p.add_argument("--loop", metavar="SECTION", help="a section name or bars like 5-8")
    p.add_argument("--loops", type=number(int, 1, 1000), default=1,
                   help="times through (default 1)")
    p.add_argument("--wait", action="store_true", help="the chart waits for the right chord")
    p.add_argument("--drill", nargs="?", type=int, const=10, default=None, metavar="ROUNDS",
                   help="after the chart, loop the chords you missed (each with the chord "
                   "before it), the tempo rising or falling with your score, until a round "
                   "is clean or after ROUNDS rounds (default 10)")
    p.add_argument("--count-in", type=number(int, 0, 8), default=1,
                   help="bars of count-in (default 1)")
    p.add_argument("--no-metronome", action="store_true")
    p.add_argument("--listen", nargs="?", const="default", default=None, metavar="DEVICE",
                   help="hear the chords played on an audio input (a microphone by an "
                   "instrument) instead of reading MIDI; judged as major/minor triads")
    p.add_argument("--strict-bass", action="store_true", help="inversions count as wrong")
    p.add_argument(
        "--midi-in",
        default=None,
        help="MIDI input (substring of its name); 'none' to type chord names",
    )
    p.add_argument("--midi-api", default="auto", choices=["auto", "alsa", "jack"])
    p.add_argument(
        "--audio", default="auto", help="auto, jack, pulseaudio, alsa, sounddevice or none"
    )
    p.add_argument("--soundfont", default=None)
    p.add_argument("--history", metavar="DB", help="history database (default in ~/.local)")
    p.add_argument("--duration", type=number(float, 0.01, 1e6), help="stop after this many seconds")
    p.add_argument("--no-display", action="store_true", help="feedback in the terminal only")
    p.add_argument("--screenshot", default=None, metavar="PNG",
                   help="save the stage as PNG at exit")
    p.add_argument("--play-file", default=None, metavar="MIDI",
                   help="play this MIDI file as if from the keyboard (time 0 = count-in start)")
    add_registration_option(p, "practice")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from instrument.errors import InstrumentError
    from instrument.practice.exercises import exercise_names, parse_section, resolve_chart
    from instrument.practice.history import History

    apply_registration(args)  # fills the options left at their defaults
    if args.list:
        print("\n".join(exercise_names()))
        return 0
    if args.report:
        return report(args)
    if not args.chart:
        raise InstrumentError("name a chart to practise (see `instrument practice --list`)")
    chart, exercise = resolve_chart(args.chart)
    if args.show:
        print(chart.to_text(), end="")
        return 0
    if not 0.1 <= args.tempo_scale <= 4 or args.loops < 1 or not 0 <= args.count_in <= 8:
        raise InstrumentError("--tempo-scale 0.1-4, --loops >= 1, --count-in 0-8")
    section = parse_section(args.loop, chart) if args.loop else None
    from instrument.practice.engine import PracticeEngine

    def make_engine(chart, tempo_scale: float, section=None, loops: int = 1) -> PracticeEngine:
        return PracticeEngine(
            chart,
            tempo_scale=tempo_scale,
            section=section,
            loops=loops,
            wait=args.wait,
            count_in_bars=args.count_in,
            metronome=not args.no_metronome,
            strict_bass=args.strict_bass,
            heard=args.listen is not None,
        )

    engine = make_engine(chart, args.tempo_scale, section, args.loops)
    drill = None
    if args.drill is not None:
        from instrument.practice.drill import Drill

        if not 1 <= args.drill <= 100:
            raise InstrumentError("--drill ROUNDS must be 1-100")
        drill = Drill(chart, args.tempo_scale, rounds=args.drill)
    from instrument.practice.live import Rounds

    rounds = Rounds(engine, drill, make_engine)
    with History(args.history) as history:

        def start_session() -> int:
            name = exercise if rounds.number == 1 else f"{exercise} (drill)"
            return history.start_session(name, chart.title, rounds.engine.tempo, args.wait)

        print(
            f"{chart.title or exercise}: {engine.tempo:g} BPM, {len(engine.targets)} chords"
            + (", wait mode" if args.wait else "")
            + (f", then drill up to {args.drill} rounds" if drill else ""),
            flush=True,
        )
        summary = _play(args, engine, history, start_session, rounds)
    return 0 if summary["chords"] else 1


def _play(args, engine, history, start_session, rounds) -> dict:
    import sys

    from instrument.input.feeder import feed_in_background, keyboard_file
    from instrument.practice.live import PracticeLoop, TypedChords, run_rounds

    interrupt_on(signal.SIGTERM)
    if not args.no_display and not display_available():
        print("instrument: no display found: feedback in the terminal", file=sys.stderr)
        args.no_display = True
    events = keyboard_file(args.play_file) if args.play_file else None
    typed = args.midi_in == "none" and args.listen is None
    if typed and args.audio == "none" and args.no_display:  # no session: typed or the file
        loop = PracticeLoop(engine, history, start_session())
        if events is not None:
            feed_in_background(events, loop.put_message, lambda: engine.origin)
        else:
            print("type chord names and Enter, in time (Ctrl-C stops)", flush=True)
            TypedChords(loop).start()
        return run_rounds(loop, rounds, start_session, args.duration)

    from instrument.live.practice import PracticeSession
    from instrument.synth import find_soundfont

    session = PracticeSession(find_soundfont(args.soundfont), audio=args.audio,
                              midi_in=args.midi_in, midi_api=args.midi_api, listen=args.listen)
    try:
        session.prepare()
        session.start()
        for line in session.choices:  # what audio and MIDI it found, and why
            print(f"instrument: {line}", file=sys.stderr, flush=True)
        if events is not None:
            session.feed_file(events, lambda: engine.origin)  # the count-in's start
        if not args.no_display:
            return _stage(args, rounds, history, start_session, session)
        loop = PracticeLoop(engine, history, start_session(), sound=session.sound)
        if session.heard is not None:
            session.hear(loop.put)
            print(f"listening to {session.heard.device_name}", flush=True)
        elif typed and not args.play_file:
            print("type chord names and Enter, in time (Ctrl-C stops)", flush=True)
            TypedChords(loop, sound=session.sound).start()
        else:
            loop.health = session.live.health  # the status when it changes (MIDI lost, back)
            session.attach_keys(loop.put)
        return run_rounds(loop, rounds, start_session, args.duration)
    finally:
        session.close()


def _stage(args, rounds, history, start_session, session) -> dict:
    """The stage window: the practice view first, F4 for the play view (held chord named)."""
    from instrument.display.practice import PracticeView
    from instrument.display.stage import PlayView, run_stage
    from instrument.practice.live import TerminalView

    view = PracticeView(rounds.engine, start_session, history.record, history.end_session,
                        session.sound, next_engine=rounds.next if rounds.drill else None)
    if session.heard is not None:  # the chords come from the room, not from the keys
        session.hear(view.loop.put)
    else:
        session.attach_keys(view.loop.put)
    try:
        run_stage(session.live, duration=args.duration, screenshot=args.screenshot,
                  views=[view, PlayView()])
    except KeyboardInterrupt:
        pass
    summary = view.engine.summary()
    TerminalView().summary(summary)
    return summary


def report(args) -> int:
    from pathlib import Path

    from instrument.paths import state_dir
    from instrument.practice.history import History
    from instrument.practice.report import plot_progress, progress_text

    with History(args.history) as history:
        print(progress_text(history, args.exercise))
        stats = history.sessions(args.exercise)
        if stats:
            png = Path(args.plot) if args.plot else state_dir() / "practice-progress.png"
            plot_progress(stats, png, title=args.exercise or "all exercises")
            print(f"plot: {png}")
    return 0
