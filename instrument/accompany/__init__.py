"""Jam mode: the band that accompanies the player and continues their phrases.

Modules, in the order a beat flows through them:

* ``notes``: BandNote and the chord track (chords on the beat grid);
* ``fingered``: chords from the keyboard's lower zone; charts come from
  ``instrument.harmony.chart``, the listener's chord through ``band.ListenedChords``;
* ``clock``: the internal beat clock (tempo, tap tempo, count-in);
* ``styles``: rule-based styles and drum grooves;
* ``tokens``, ``model``, ``generator``: the chord-aware LSTM and one-beat sampling;
* ``planner``: what the band plays in each beat (sections, continuation, model or rules);
  ``options``: the band's options, the planner they describe, ``DEFAULT_MODEL``;
* ``band``: the live worker and dispatcher threads; ``offline``: the same, from a file;
* ``data``, ``train``, ``metrics``, ``evaluate``: POP909 training and evaluation.
"""
