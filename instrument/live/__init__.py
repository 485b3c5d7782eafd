"""The live loop: MIDI in, arranged onto the ensemble, out through FluidSynth.

The three sessions share one lifecycle (``lifecycle.Session``: prepare, start, close):
``session.LiveSession`` (``instrument play``), ``jam.JamSession`` (the live session and
the band) and ``practice.PracticeSession`` (a piano and the chords judged). Their
real-time settings are in ``realtime``.
"""
