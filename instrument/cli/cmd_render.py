"""``instrument render IN.mid -o OUT.wav``: a MIDI file played through the live path."""

from __future__ import annotations

import argparse

from instrument.cli.options import add_sound_options, number, resolve_band


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="arrange a MIDI file and render it to audio")
    p.add_argument("midi", help="input MIDI file")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="output audio file: .wav, .flac, .aiff, .ogg or .mp3 (by its name)",
    )
    p.add_argument("--arranged", help="also write the arranged multitrack MIDI here")
    p.add_argument(
        "--sample-rate",
        type=number(int, 8000, 96000),
        default=None,
        help="Hz (default: the live sample rate, configs/defaults.toml)",
    )
    add_sound_options(p)
    p.set_defaults(func=run)


def check_midi_output(path: str) -> None:
    from pathlib import Path

    from instrument.errors import InstrumentError

    p = Path(path)
    if p.is_dir() or p.suffix.lower() not in (".mid", ".midi"):
        raise InstrumentError(
            f"cannot write the arranged MIDI to {p}: give a file name ending in .mid or .midi"
        )
    if not p.parent.is_dir():
        raise InstrumentError(f"cannot write {p}: the folder {p.parent} does not exist")


def run(args: argparse.Namespace) -> int:
    from instrument.ensemble import load_defaults
    from instrument.input.midifile import conductor_of, read_midi, write_parts
    from instrument.live.render import limit_peak, render_file
    from instrument.synth import find_soundfont
    from instrument.synth.audiofile import check_audio_output, write_audio

    # Files first, outputs and inputs: a name that cannot be written or a file that cannot
    # be read fails at once, before models load and minutes of rendering.
    check_audio_output(args.output)
    if args.arranged:
        check_midi_output(args.arranged)
    read_midi(args.midi)
    soundfont = find_soundfont(args.soundfont)
    ensemble, arranger = resolve_band(args)
    rate = args.sample_rate or int(load_defaults().get("sample_rate", 48000))
    result = render_file(args.midi, ensemble, arranger, soundfont, sample_rate=rate)
    audio, gain_db = limit_peak(result.audio)
    write_audio(args.output, audio, result.sample_rate)
    parts = ensemble.parts
    if args.arranged:  # on the source's bar grid: its tempo map, meter and resolution
        source = read_midi(args.midi)
        write_parts(
            args.arranged,
            [p.name for p in parts],
            [p.program for p in parts],
            [p.channel for p in parts],
            result.notes,
            ticks_per_beat=source.ticks_per_beat,
            conductor=conductor_of(source),
        )
    counts = [sum(1 for n in result.notes if n[4] == k) for k in range(len(parts))]
    summary = ", ".join(f"{p.name} {c}" for p, c in zip(parts, counts, strict=True))
    seconds = len(result.audio) / result.sample_rate
    level = f", gain {gain_db:+.1f} dB so that it does not clip" if gain_db < 0 else ""
    print(
        f"rendered {len(result.notes)} notes, {seconds:.1f} s at {result.sample_rate} Hz "
        f"with {arranger.name} on {ensemble.title} ({summary}){level}, note path "
        f"{result.note_path} -> {args.output}"
    )
    return 0
