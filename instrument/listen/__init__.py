"""Listening: causal beat, downbeat, tempo, meter, chord and key tracking from audio.

``Listener`` is the whole tracker; it is also the beat clock (``state(now)``) and the
current chord (``chord``) that the band and the practice charts read.
"""

from instrument.listen.tracker import BeatEvent, ChordEvent, Listener

__all__ = ["BeatEvent", "ChordEvent", "Listener"]
