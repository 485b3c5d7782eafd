"""``instrument play``: the live loop. A keyboard in, a band out."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from instrument.cli.options import add_band_options, number, resolve_band


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("play", help="play live: MIDI keyboard -> arranger -> ensemble")
    add_band_options(p)
    p.add_argument("--midi-in", default=None,
                   help="MIDI input (substring of its name); 'none' for the computer keyboard")
    p.add_argument("--midi-api", default="auto", choices=["auto", "alsa", "jack"])
    p.add_argument("--audio", default=None,
                   help="auto, jack, pulseaudio, alsa, sounddevice or none (default: auto)")
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
                   help="write every take (raw input and arranged parts) into DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from instrument.ensemble import load_defaults
    from instrument.live.session import LiveSession
    from instrument.synth import find_soundfont

    # The MIDI callback needs the GIL for a moment per note; a short switch interval bounds
    # how long drawing can keep it waiting (default 5 ms).
    sys.setswitchinterval(0.0005)
    defaults = load_defaults()
    if not args.no_display and not _display_available():
        print("instrument: no display found: running without the stage window", file=sys.stderr)
        args.no_display = True
    ensemble, arranger = resolve_band(args)
    soundfont = find_soundfont(args.soundfont)
    session = LiveSession(
        ensemble, arranger, soundfont,
        audio=args.audio or defaults.get("audio", "auto"),
        midi_in=args.midi_in, midi_api=args.midi_api,
        sample_rate=int(defaults.get("sample_rate", 48000)),
        period=args.period or int(defaults.get("period", 128)),
        gain=float(defaults.get("gain", 0.6)),
        reset_after=float(defaults.get("arranger_reset_after", 4.0)),
        multi_out=args.multi_out, midi_out=args.midi_out,
    )  # fmt: skip

    # SIGTERM/SIGHUP end the loop like Ctrl-C does, so the finally below always runs.
    def stop(_sig: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    try:
        session.start()
        for line in session.choices:
            print(f"instrument: {line}", file=sys.stderr, flush=True)
        health = session.health()
        print(f"instrument: {ensemble.title} ({', '.join(ensemble.part_names)}), "
              f"arranger {arranger.name}, SoundFont {soundfont.name}, audio {health.audio}, "
              f"MIDI {health.midi.state} {health.midi.port}", flush=True)
        if args.play_file:
            _play_file_in_background(session, args.play_file)
        recorder = None
        if args.record:
            from instrument.live.record import Recorder

            recorder = Recorder(args.record, session.performer)
            recorder.start()
        try:
            if args.no_display:
                _run_headless(session, args.duration)
            else:
                from instrument.display.stage import run_stage

                run_stage(session, duration=args.duration, screenshot=args.screenshot)
        finally:
            if recorder is not None:
                recorder.stop()
    except KeyboardInterrupt:
        pass
    finally:
        session.close()  # all notes off, whatever happened above
    return 0


def _play_file_in_background(session, path: str) -> None:
    """Feed a MIDI file into the loop in real time, through the same input as a keyboard."""
    import threading

    from instrument.display.stage import LocalKeys
    from instrument.midifile import keyboard_events, read_midi

    events = keyboard_events(read_midi(path))  # read now: a bad file is a one-line error
    keys = LocalKeys(session)

    def feed() -> None:
        start = time.monotonic()
        for t, data in events:
            delay = start + t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if session.closed:
                return
            keys.send(data)

    threading.Thread(target=feed, name="play-file", daemon=True).start()


def _display_available() -> bool:
    return any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"))


def _run_headless(session, duration: float | None) -> None:
    """Watch the input's health and report changes until the duration ends or Ctrl-C."""
    end = time.monotonic() + duration if duration else float("inf")
    last = None
    while time.monotonic() < end:
        h = session.health()
        shown = (h.audio, h.midi.state, h.midi.port, h.xruns)
        if shown != last:
            print(f"instrument: audio {h.audio}, MIDI {h.midi.state} {h.midi.port}, "
                  f"xruns {h.xruns}", file=sys.stderr, flush=True)
            last = shown
        time.sleep(0.25)
