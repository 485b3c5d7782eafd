"""A minimal live app on the compiled note path, for test_notepath_jack (run as a script).

FluidSynth on JACK (client ``nptest``, one output per channel, not connected), the
choir's shipped LSTM (time guard off), the compiled handler on FluidSynth's JACK MIDI
port ``nptest:midi_00``, and a Python thread spinning in pure Python that holds the GIL
for 100 ms at a time (``sys.setswitchinterval``). Prints ``ready``; when stdin closes it
prints the note events as JSON lines and exits.
"""

from __future__ import annotations

import json
import sys
import threading

from instrument.arrange.neural import LSTMArranger
from instrument.ensemble import load_ensemble
from instrument.live.compiled import CompiledPerformer, open_compiled_input, warm_up
from instrument.synth import Synth, find_soundfont


def hog(stop: threading.Event) -> None:
    n = 0
    while not stop.is_set():
        for _ in range(100_000):  # pure Python: the GIL is held until the switch interval
            n += 1


def main() -> None:
    warm_up()
    choir = load_ensemble("choir")
    arranger = LSTMArranger(choir)
    arranger.use_time_guard(False)
    synth = Synth(find_soundfont(), sample_rate=48000, outputs_per_channel=True)
    path = CompiledPerformer(synth, choir, arranger)
    synth.start("jack", client_name="nptest", period=128, autoconnect=False)
    open_compiled_input(synth, path, "jack", "nptest")  # freed with the audio driver
    stop = threading.Event()
    sys.setswitchinterval(0.1)
    threading.Thread(target=hog, args=(stop,), daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()
    stop.set()
    for e in path.reader.note_events():
        print(json.dumps([e.on, e.pitch, e.part, e.channel, e.revision]), flush=True)
    synth.close()


if __name__ == "__main__":
    main()
