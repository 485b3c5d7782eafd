"""Listening: causal beat, downbeat, tempo, meter, chord and key tracking from audio.

``Listener`` is the whole tracker; it is also the beat clock (``state(now)``) and the
current chord (``chord``) that the band and the practice charts read.

Modules, in the order a block flows through them: ``audio`` (files, blocks),
``features`` (onset, chroma, bass per frame), ``beat``, ``meter``, ``chord`` (chords and
key), ``tracker`` (the ``Listener`` over them); ``stream`` (a live input in its own
thread) and ``live`` (``instrument listen``: a file or a device, and what it prints).
Offline: ``estimate`` (what a system found, what the annotations say), ``evaluate``
(mir_eval scores), ``baselines`` (librosa, madmom), ``report`` (the results.md
sections), ``train`` (the chord model), ``renders`` (the annotated test renders).
"""

from instrument.listen.tracker import BeatEvent, ChordEvent, Listener

__all__ = ["BeatEvent", "ChordEvent", "Listener"]
