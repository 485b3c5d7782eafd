"""``instrument play``: the live loop. A keyboard in, a band out."""

from __future__ import annotations

import argparse
import signal
import sys
import time

from instrument.cli.options import (
    add_sound_options,
    display_available,
    interrupt_on,
    number,
    resolve_band,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("play", help="play live: MIDI keyboard -> arranger -> ensemble")
    add_sound_options(p)
    p.add_argument("--midi-in", default=None,
                   help="MIDI input (substring of its name); 'none' for the computer keyboard")
    p.add_argument("--midi-api", default="auto", choices=["auto", "alsa", "jack"])
    p.add_argument("--mpe", action="store_true",
                   help="the keyboard is an MPE controller (lower zone): each note's bend, "
                   "pressure and slide go to the part it plays")
    p.add_argument("--audio", default=None,
                   help="auto, jack, pulseaudio, alsa, sounddevice or none (default: auto)")
    p.add_argument("--note-path", choices=("auto", "python"), default="auto",
                   help="auto: the compiled note path when it can play the set-up (no Python "
                        "in the audio thread); python: the Python performer (any arranger)")
    p.add_argument("--no-time-guard", action="store_true",
                   help="every note waits for the arranger's model, even when the machine is "
                        "too busy to decide in time (default: such a note goes to the zone split)")
    p.add_argument("--multi-out", action="store_true",
                   help="JACK only: one stereo output per part, named after it (violin-i_l)")
    p.add_argument("--midi-out", default=None, metavar="PORT",
                   help="also send each part on its own channel to this MIDI output "
                        "(substring of its name), or 'virtual' for a port a DAW connects to")
    p.add_argument("--period", type=number(int, 16, 8192), default=None,
                   help="audio period in frames")
    p.add_argument("--no-display", action="store_true", help="run without the stage window")
    p.add_argument("--screenshot", default=None, help="save the stage as PNG at exit")
    p.add_argument("--duration", type=number(float, 0.01, 1e6), default=None,
                   help="stop after this many seconds (default: until quit)")
    p.add_argument("--play-file", default=None, metavar="MIDI",
                   help="also play this MIDI file into the live loop, as if from a keyboard")
    p.add_argument("--record", default=None, metavar="DIR",
                   help="write every take into DIR: raw input and arranged parts as MIDI, "
                        "and the audio as WAV")
    p.add_argument("--registration", "-r", action="append", default=[], metavar="FILE",
                   help="a set-up to recall (a .toml file or a name in "
                        "configs/registrations/); repeat for a bank: the first is taken at "
                        "the start, Ctrl+1..9 (stdin: 1..9) or a program change recall")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from instrument.ensemble import load_defaults
    from instrument.live.session import LiveSession
    from instrument.registration import load_registration
    from instrument.synth import find_soundfont

    defaults = load_defaults()
    if not args.no_display and not display_available():
        print("instrument: no display found: running without the stage window", file=sys.stderr)
        args.no_display = True
    registrations = [load_registration(r) for r in args.registration]
    first = registrations[0] if registrations else None
    if first is not None:  # what is typed on the command line wins over the registration
        args.ensemble = args.ensemble or first.ensemble
        args.arranger = args.arranger or first.arranger
        args.soundfont = args.soundfont or first.soundfont
    ensemble, arranger = resolve_band(args)
    soundfont = find_soundfont(args.soundfont)
    session = LiveSession(
        ensemble,
        arranger,
        soundfont,
        audio=args.audio or defaults.get("audio", "auto"),
        midi_in=args.midi_in,
        midi_api=args.midi_api,
        sample_rate=int(defaults.get("sample_rate", 48000)),
        period=args.period or int(defaults.get("period", 128)),
        gain=float(defaults.get("gain", 0.6)),
        reset_after=float(defaults.get("arranger_reset_after", 4.0)),
        multi_out=args.multi_out,
        midi_out=args.midi_out,
        time_guard=not args.no_time_guard,
        registrations=registrations,
        mpe=args.mpe,
        note_path=args.note_path,
    )
    interrupt_on(signal.SIGTERM, signal.SIGHUP)  # the finally below always runs
    try:
        session.prepare()
        session.start()
        _announce(session, registrations)
        _play(session, args)
    except KeyboardInterrupt:
        pass
    finally:
        session.close()  # all notes off, whatever happened above
    return 0


def _announce(session, registrations: list) -> None:
    """What the session found (audio, MIDI) and plays: on the terminal once started."""
    for line in session.choices:
        print(f"instrument: {line}", file=sys.stderr, flush=True)
    health = session.health()
    for said in health.messages:
        print(f"instrument: {said}", file=sys.stderr, flush=True)
    ensemble, arranger = session.performer.setup.ensemble, session.performer.setup.arranger
    print(f"instrument: {ensemble.title} ({', '.join(ensemble.part_names)}), "
          f"arranger {arranger.name}, SoundFont {session.soundfont.name}, audio {health.audio}, "
          f"MIDI {health.midi.state} {health.midi.port}, note path {health.note_path}",
          flush=True)
    if registrations:
        print(f"instrument: registration 1: {registrations[0].name}"
              + (f" ({len(registrations)} in the bank)" if len(registrations) > 1 else ""),
              file=sys.stderr, flush=True)


def _play(session, args: argparse.Namespace) -> None:
    """The file played in and the take recorded (if asked), and the front end until quit."""
    from instrument.input.midifile import keyboard_events, read_midi

    played = read_midi(args.play_file) if args.play_file else None  # a bad file: one line
    recorder = None
    start = time.monotonic()
    if args.record:
        recorder = session.take_recorder(args.record, played, start)
        recorder.start()
    if played is not None:
        session.feed_file(keyboard_events(played), start)
    try:
        if args.no_display:
            _run_headless(session, args.duration)
        else:
            from instrument.display.stage import run_stage

            run_stage(session, duration=args.duration, screenshot=args.screenshot)
    finally:
        if recorder is not None:
            recorder.stop()


def _run_headless(session, duration: float | None) -> None:
    """Watch the input's health and report changes until the duration ends or Ctrl-C.

    Commands on standard input, one per line: a number N recalls registration N, ``p``
    is panic, ``q`` quits."""
    import queue
    import threading

    commands: queue.Queue[str] = queue.Queue()

    def read_commands() -> None:
        try:
            for line in sys.stdin:
                commands.put(line.strip())
        except (OSError, ValueError):  # no readable stdin (a service, a closed descriptor):
            pass  # play on, without typed commands

    threading.Thread(target=read_commands, name="stdin", daemon=True).start()
    from instrument.display.plain import StatusReport

    end = time.monotonic() + duration if duration else float("inf")
    report = StatusReport()
    next_health = 0.0
    try:
        while (now := time.monotonic()) < end:
            while not commands.empty():
                said = _command(session, commands.get())
                if said is None:
                    return
                if said:
                    print(f"instrument: {said}", file=sys.stderr, flush=True)
            if now < next_health:  # the health poll touches the MIDI system: 4 Hz is plenty
                time.sleep(0.05)
                continue
            next_health = now + 0.25
            h = session.health()
            for said in h.messages:
                print(f"instrument: {said}", file=sys.stderr, flush=True)
            report.update(h, now)  # a line on a change; xruns summed up, not one line each
    finally:
        report.finish(session.health())  # also on Ctrl-C / SIGTERM: the xruns not yet told


def _command(session, line: str) -> str | None:
    """Act on one line of standard input; what to say about it (None: quit)."""
    from instrument.errors import InstrumentError

    if line == "q":
        return None
    if line == "p":
        session.performer.panic()
        return "panic: all notes off"
    if line.isdigit():
        try:
            reg = session.recall(int(line) - 1)
        except InstrumentError as e:
            return str(e)
        return f"registration {line}: {reg.name}"
    return f"unknown command {line!r} (a registration number, p panic, q quit)" if line else ""
