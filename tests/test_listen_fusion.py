"""The listener told what the app plays and what the player's keys do: the band's own
onsets heard through the room are discounted, the player's exact MIDI onsets fused in."""

from __future__ import annotations

import numpy as np
import pytest

from instrument.listen.audio import blocks
from instrument.listen.tracker import BeatEvent, Listener
from tests.support.testsignal import make_song

SR = 44100
BAND_BPM, PLAYER_BPM = 150.0, 100.0


def _heard_tempo(tell: bool, seconds: float = 30.0) -> float:
    """The room hears only the band (at 150 BPM); the player plays chords at 100 BPM on
    MIDI. ``tell``: the listener is told both; returns the tempo it settles on."""
    band = make_song(bpm=BAND_BPM, bars=int(seconds * BAND_BPM / 240), sample_rate=SR, seed=4)
    own = np.sort(np.concatenate([band.beats, band.beats + 30.0 / BAND_BPM]))
    keys = np.arange(0.8, seconds, 60.0 / PLAYER_BPM)
    lis = Listener(SR)
    tempi = []
    for k, b in enumerate(blocks(band.audio, 1024)):
        now = k * 1024 / SR
        if tell:  # told a little ahead, as MIDI and the band's plan arrive before the sound
            for t in own[(own >= now) & (own < now + 1024 / SR)]:
                lis.own_note(float(t))
            for t in keys[(keys >= now) & (keys < now + 1024 / SR)]:
                for _ in range(3):  # a triad
                    lis.player_note(float(t), 100)
        events = lis.process(b)
        tempi += [e.bpm for e in events if isinstance(e, BeatEvent) and e.t > seconds / 2]
    return float(np.median(tempi))


def test_told_listener_follows_the_player_not_the_band():
    assert _heard_tempo(True) == pytest.approx(PLAYER_BPM, rel=0.02)


def test_untold_listener_follows_the_band_it_hears():
    """The same audio without being told: the band's own tempo (or an octave of it) wins,
    which is what makes a band audible in the room run away with itself."""
    bpm = _heard_tempo(False)
    assert min(abs(bpm / (BAND_BPM * m) - 1) for m in (0.5, 1.0, 2.0)) < 0.03, bpm


def test_own_window_masks_only_the_frames_after_an_own_note():
    lis = Listener(SR)
    t = lis.time + np.arange(1, 101) / lis.fps  # one second of frame ends
    lis.own_note(float(t[50]))
    # No key played: the band may be what the room locks to, nothing is discounted.
    assert lis._own_keep(t) is None
    lis.player_note(float(t[10]), 90)
    keep = lis._own_keep(t)
    lo, hi = lis.own_window
    masked = np.flatnonzero(keep < 1.0)
    assert len(masked) and t[masked[0]] >= t[50] + lo - 1e-9
    assert t[masked[-1]] <= t[50] + hi + 1e-9
    assert keep[:49].min() == 1.0 and keep[masked].max() == pytest.approx(1 - lis.own_discount)


def test_player_notes_are_placed_where_their_sound_would_peak():
    lis = Listener(SR)
    t = np.arange(1, 101) / lis.fps
    lis.player_note(0.5, 127)
    lis.player_note(0.5, 127)
    lis.player_note(0.5, 127)  # a loud triad: full activation
    lis.player_note(0.7, 40)  # a soft single note: a little
    act = lis._played_activation(t)
    k = int(np.argmax(act))
    assert act[k] == 1.0 and abs(t[k] - lis.beats.onset_delay - 0.5) <= 0.5 / lis.fps + 1e-9
    soft = act[np.abs(t - lis.beats.onset_delay - 0.7) < 0.6 / lis.fps]
    assert soft.max() == pytest.approx(40 / 127 / 2)
    assert np.count_nonzero(act) == 2
