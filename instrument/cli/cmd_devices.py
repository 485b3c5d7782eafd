"""``instrument devices``: the MIDI inputs, audio devices and SoundFonts this machine has."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("devices", help="list MIDI inputs, audio outputs and SoundFonts")
    p.set_defaults(func=run)


def run(_args: argparse.Namespace) -> int:
    from instrument.input.midi import alsa_sequencer, jack_running, list_inputs
    from instrument.live.midiout import list_outputs
    from instrument.synth import list_soundfonts

    print("MIDI inputs:")
    for api in ("alsa", "jack"):
        try:
            ports = list_inputs(api)
        except Exception as e:  # noqa: BLE001 - a missing MIDI system is a line, not a crash
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            print(f"  {api}: unavailable ({reason})")
            continue
        print(f"  {api}: " + (", ".join(ports) if ports else "none"))
    print("MIDI outputs (for --midi-out; or 'virtual'):")
    for api in ("alsa", "jack"):
        missing = {"alsa": not alsa_sequencer() and "no ALSA sequencer",
                   "jack": not jack_running() and "no JACK server"}[api]
        if missing:
            print(f"  {api}: unavailable ({missing})")
            continue
        try:
            ports = list_outputs(api)
        except Exception as e:  # noqa: BLE001 - a missing MIDI system is a line, not a crash
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            print(f"  {api}: unavailable ({reason})")
            continue
        print(f"  {api}: " + (", ".join(ports) if ports else "none"))
    print(f"JACK server: {'running' if jack_running() else 'not running'}")
    print("Audio outputs (PortAudio):")
    try:
        import sounddevice as sd

        devices = [d for d in sd.query_devices() if d["max_output_channels"] > 0]
        for d in devices:
            print(f"  {d['name']} ({sd.query_hostapis(d['hostapi'])['name']})")
        if not devices:
            print("  none")
    except Exception as e:  # noqa: BLE001
        print(f"  unavailable ({e})")
    print("SoundFonts:")
    fonts = list_soundfonts()
    for sf in fonts:
        print(f"  {sf}")
    if not fonts:
        print("  none (install fluid-soundfont-gm)")
    return 0
