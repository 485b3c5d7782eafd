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


@pytest.mark.jack
@pytest.mark.data
def test_live_listen_follows_song_through_jack(jack_server, pop909_excerpt):
    audio, ref = pop909_excerpt
    offline = run_listener(audio, SR)
    off_score = score(ref, offline)

    out, start = run_hearing(
        ["listen", "--json", "--duration", str(SECONDS + 8)], audio, SECONDS + 10, timeout=30
    )
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert "origin_frame" in rows[0], out[:200]
    # The song starts d s into the app's stream: both are placed by JACK frame stamps, a
    # cycle that either missed included, so d is exact.
    d = (start - rows[0]["origin_frame"]) / SR
    beats = np.array([r["t"] for r in rows if "beat" in r])
    bpms = [r["bpm"] for r in rows if "beat" in r]
    assert len(beats) > 10, out
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
