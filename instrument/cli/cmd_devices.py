"""``instrument devices``: the MIDI inputs, audio devices and SoundFonts this machine has."""

from __future__ import annotations

import argparse
from collections.abc import Callable

MIDI_APIS = ("alsa", "jack")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("devices", help="list MIDI inputs, audio outputs and SoundFonts")
    p.set_defaults(func=run)


def run(_args: argparse.Namespace) -> int:
    from instrument.input.midi import alsa_sequencer, jack_running, list_inputs
    from instrument.live.midiout import list_outputs
    from instrument.synth import list_soundfonts

    def output_missing(api: str) -> str | None:
        """Why ``api`` has no outputs to list, asked before rtmidi (which would start one)."""
        if api == "alsa":
            return None if alsa_sequencer() else "no ALSA sequencer"
        return None if jack_running() else "no JACK server"

    print("MIDI inputs:")
    print_ports(list_inputs)
    print("MIDI outputs (for --midi-out; or 'virtual'):")
    print_ports(list_outputs, output_missing)
    print(f"JACK server: {'running' if jack_running() else 'not running'}")
    print("Audio outputs (PortAudio):")
    print_audio_outputs()
    print("SoundFonts:")
    fonts = list_soundfonts()
    for sf in fonts:
        print(f"  {sf}")
    if not fonts:
        print("  none (install fluid-soundfont-gm)")
    return 0


def print_ports(
    list_ports: Callable[[str], list[str]], missing: Callable[[str], str | None] = lambda _api: None
) -> None:
    """A line per MIDI API: its ports, or why it has none (``missing``, or the error)."""
    for api in MIDI_APIS:
        reason = missing(api)
        if reason is None:
            try:
                ports = list_ports(api)
            except Exception as e:  # noqa: BLE001 - a missing MIDI system is a line, not a crash
                reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            else:
                print(f"  {api}: " + (", ".join(ports) if ports else "none"))
                continue
        print(f"  {api}: unavailable ({reason})")


def print_audio_outputs() -> None:
    try:
        import sounddevice as sd

        devices = [d for d in sd.query_devices() if d["max_output_channels"] > 0]
        for d in devices:
            print(f"  {d['name']} ({sd.query_hostapis(d['hostapi'])['name']})")
        if not devices:
            print("  none")
    except Exception as e:  # noqa: BLE001
        print(f"  unavailable ({e})")
