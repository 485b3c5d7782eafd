"""Test rigs shared by the tests and the benches (``from tests.support import ...``).

- ``fakes``: ``SilentSynth``, the base of every fake synth (a ``SynthPort``);
- ``jackserver``: a private JACK server (dummy driver) for tests and benches;
- ``jackprobe``: a JACK client that sends MIDI at exact frames and records audio;
- ``compiledjack``: the test clients' process callbacks, compiled (no GIL in the cycle);
- ``testsignal``: synthetic songs with known beats and chords, for the listener;
- ``jackclients``: the app under JACK, started, waited for and stopped;
- ``hearing``: an ``instrument`` command hearing audio played into its JACK inputs.
"""
