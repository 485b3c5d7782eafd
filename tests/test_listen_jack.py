"""`instrument listen` following a song played into its input in real time, through JACK.

A real JACK server (dummy driver, 48 kHz, 128-frame periods) carries the audio: this
test's JACK client plays a rendered POP909 excerpt with annotated beats and chords into
the input ports that `instrument listen` opened on JACK (its compiled capture client), in real
time, while the app prints its JSON lines. Nothing is mocked.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from instrument.listen.estimate import Estimate, chord_spans
from instrument.listen.evaluate import run_listener, score
from tests.conftest import EXCERPT_SECONDS as SECONDS
from tests.support.hearing import run_hearing

SR = 48000


def _label_at(iv: np.ndarray, labels: list[str], times: np.ndarray) -> np.ndarray:
    idx = np.clip(np.searchsorted(iv[:, 0], times, side="right") - 1, 0, len(labels) - 1)
    return np.array(labels)[idx]


def _offset(live_beats: np.ndarray, changes: list, offline: Estimate) -> float:
    """Where the song starts on the app's clock (live = song + d).

    Beat times fix d up to whole beats; the chord sequence picks among those shifts.
    """
    cands = (live_beats[:, None] - offline.beats[None, :]).ravel()
    cands = cands[(cands > -0.5) & (cands < 10.0)]
    counts = np.array(
        [
            (np.abs((live_beats[:, None] - d) - offline.beats[None, :]).min(axis=1) < 0.03).sum()
            for d in cands
        ]
    )
    grid = np.arange(1.0, SECONDS - 1.0, 0.05)
    off_labels = _label_at(offline.chord_intervals, offline.chord_labels, grid)
    best, best_agree = 0.0, -1.0
    for d in np.unique(np.round(cands[counts >= 0.7 * counts.max()], 3)):
        iv, labels = chord_spans([(t - d, c) for t, c in changes if t - d > 0], SECONDS)
        agree = float(np.mean(_label_at(iv, labels, grid) == off_labels))
        if agree > best_agree:
            best, best_agree = float(d), agree
    return best


@pytest.mark.jack
@pytest.mark.data
def test_live_listen_follows_song_through_jack(jack_server, pop909_excerpt):
    audio, ref = pop909_excerpt
    offline = run_listener(audio, SR)
    off_score = score(ref, offline)

    out = run_hearing(
        ["listen", "--json", "--duration", str(SECONDS + 8)], audio, SECONDS + 10, timeout=30
    )
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    beats = np.array([r["t"] for r in rows if "beat" in r])
    bpms = [r["bpm"] for r in rows if "beat" in r]
    assert len(beats) > 10, out
    all_changes = [(r["t"], r["chord"]) for r in rows if "chord" in r]
    d = _offset(beats, all_changes, offline)
    # Tempo: what the app says over the second half of the song.
    live_bpm = float(np.median(bpms[len(bpms) // 2 :]))
    assert live_bpm == pytest.approx(ref.bpm, rel=0.02)
    # Chords: live spans moved onto the song's clock, scored like the offline run.
    changes = [(r["t"] - d, r["chord"]) for r in rows if "chord" in r and r["t"] - d > 0]
    iv, labels = chord_spans(changes, SECONDS)
    downs = np.array([r["t"] for r in rows if r.get("beat") == 1]) - d
    live = Estimate(beats - d, downs, live_bpm, iv, labels)
    live_score = score(ref, live)
    print(
        f"live: {live_bpm:.1f} BPM (annotated {ref.bpm:.1f}), majmin {live_score['majmin']:.3f}"
        f" beat F {live_score['beat_f']:.3f}; offline: majmin {off_score['majmin']:.3f} "
        f"beat F {off_score['beat_f']:.3f}; playback started {d:.2f} s into the stream"
    )
    assert off_score["majmin"] > 0.6
    assert live_score["majmin"] >= off_score["majmin"] - 0.08, (live_score, off_score)
    assert live_score["beat_f"] >= off_score["beat_f"] - 0.1
