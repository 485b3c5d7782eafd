"""Data loaders: real music read from ``../shared/data`` (or the music21 corpus), never copied.

- ``pop909``: the POP909 songs with MELODY/BRIDGE/PIANO notes, beats, chords and keys.
- ``splits``: the committed 8:1:1 train/valid/test splits (``configs/splits/<name>.json``).
- ``midi``: any multitrack MIDI file, one part per track.
- ``corpus``: pieces for part assignment (Bach chorales, string quartets, POP909, MIDI).
"""
