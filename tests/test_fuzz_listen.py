"""Random audio into the listener: NaN, inf, clipping, DC, silence, odd block sizes.

Whatever arrives, ``Listener.process`` must not raise and everything it reports (beat and
chord events, the beat clock, the chord and key labels) must stay finite and sane. The
same holds for ``instrument listen FILE --json`` on a float WAV holding such samples.
"""

from __future__ import annotations

import functools
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from instrument.listen import BeatEvent, ChordEvent, Listener

# Samples beyond float32's range are part of the input on purpose ("huge"); numpy warns
# when the listener casts them (to inf, which it then clips).
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")

KINDS = ("silence", "noise", "loud", "tiny", "dc", "clipped", "clicks", "nan", "inf",
         "sprinkled", "huge")  # fmt: skip


def make_block(kind: str, frames: int, channels: int, sr: int, seed: int,
               dtype: type = np.float32) -> np.ndarray:  # fmt: skip
    """``frames`` x ``channels`` samples of one kind of trouble."""
    rng = np.random.default_rng(seed)
    shape = (frames, channels)
    t = np.arange(frames)[:, None] / sr
    if kind == "silence":
        x = np.zeros(shape)
    elif kind == "noise":
        x = rng.normal(0, 0.2, shape)
    elif kind == "loud":  # a sine driven far past full scale
        x = 50.0 * np.sin(2 * np.pi * rng.uniform(40, 4000) * t) * np.ones(shape)
    elif kind == "tiny":  # denormal-sized samples
        x = rng.normal(0, 1e-39, shape)
    elif kind == "dc":
        x = np.full(shape, rng.uniform(-2, 2))
    elif kind == "clipped":  # a square wave at full scale
        x = np.sign(np.sin(2 * np.pi * rng.uniform(50, 500) * t)) * np.ones(shape)
    elif kind == "clicks":  # a click track, so the beat tracker has something to lock to
        x = np.zeros(shape)
        x[:: max(1, int(sr * 60 / rng.uniform(60, 200)))] = 0.9
    elif kind == "nan":
        x = np.full(shape, np.nan)
    elif kind == "inf":
        x = rng.choice([np.inf, -np.inf], shape)
    elif kind == "sprinkled":  # music-like noise with NaN and inf in it
        x = rng.normal(0, 0.3, shape)
        x[rng.random(shape) < 0.05] = np.nan
        x[rng.random(shape) < 0.02] = np.inf
        x[rng.random(shape) < 0.02] = -np.inf
    else:  # "huge": finite in float64, inf once cast to float32
        x = rng.choice([1e300, -1e300, 3.4e38], shape)
    with np.errstate(over="ignore", invalid="ignore"):
        return x.astype(dtype)


def check_outputs(lis: Listener, events: list) -> None:
    """Every output finite: events, the beat clock, the labels."""
    for e in events:
        assert math.isfinite(e.t)
        if isinstance(e, BeatEvent):
            assert math.isfinite(e.bpm) and 20 <= e.bpm <= 400
            assert 1 <= e.beat <= e.beats_per_bar and e.bar >= 1
            assert math.isfinite(e.confidence)
        else:
            assert isinstance(e, ChordEvent) and e.chord and e.key
    st_ = lis.state(lis.time)
    for v in (st_.tempo, st_.beat, st_.next_beat_time, st_.confidence):
        assert math.isfinite(v)
    assert 20 <= st_.tempo <= 400 and 0 <= st_.confidence <= 1 and st_.beats_per_bar >= 1
    assert isinstance(lis.chord, str) and lis.chord
    assert isinstance(lis.key_label, str) and lis.key_label


# One piece of input: its kind, its length in frames (edge sizes included) and a seed.
piece = st.tuples(
    st.sampled_from(KINDS),
    st.one_of(st.sampled_from([0, 1, 2, 127, 128, 240, 479, 480, 481, 4096]),
              st.integers(0, 6000)),
    st.integers(0, 2**31),
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(pieces=st.lists(piece, min_size=1, max_size=20),
       sr=st.sampled_from([8000, 22050, 44100, 48000, 96000]),
       channels=st.integers(1, 6), as_float64=st.booleans())  # fmt: skip
def test_random_blocks_never_raise_and_outputs_stay_finite(pieces, sr, channels, as_float64):
    lis = Listener(sr)
    dtype = np.float64 if as_float64 else np.float32
    events = []
    for kind, frames, seed in pieces:
        block = make_block(kind, frames, channels, sr, seed, dtype)
        events += lis.process(block[:, 0] if channels == 1 and seed % 2 else block)
    check_outputs(lis, events)


@functools.lru_cache(maxsize=8)
def _song(bpm: float, sr: int) -> np.ndarray:
    from tests.support.testsignal import make_song

    return make_song(bpm=bpm, bars=5, sample_rate=sr).audio[:, None]


# Long enough for beats and chords to be announced, then trouble, then music again.
@settings(max_examples=25, deadline=None)
@given(trouble=st.lists(st.sampled_from(KINDS), min_size=1, max_size=4),
       bpm=st.sampled_from([72.0, 96.0, 120.0, 150.0, 180.0]), block=st.integers(256, 4096),
       seed=st.integers(0, 2**31))  # fmt: skip
def test_tracker_survives_trouble_mid_song_and_recovers(trouble, bpm, block, seed):
    sr = 22050
    song = _song(bpm, sr)
    bad = [make_block(k, sr, 1, sr, seed + i) for i, k in enumerate(trouble)]
    audio = np.concatenate([song, *bad, song])
    lis = Listener(sr)
    events = [e for i in range(0, len(audio), block) for e in lis.process(audio[i : i + block])]
    check_outputs(lis, events)
    after = len(song) + sum(len(b) for b in bad) + len(song) // 2
    late_beats = [e for e in events if isinstance(e, BeatEvent) and e.t > after / sr]
    assert late_beats, "no beat heard once the music came back"
    assert lis.state(lis.time).confidence > 0  # it is following the music again


@pytest.mark.parametrize("kinds", [("nan",), ("inf",), ("huge",), ("sprinkled",),
                                   ("silence",), ("dc",), ("clipped", "clicks", "nan")])
def test_listen_command_on_a_wav_of_trouble(tmp_path, kinds):
    """``instrument listen FILE --json`` as a user runs it: exit 0, finite JSON lines."""
    import subprocess
    import sys

    import soundfile

    sr = 44100
    audio = np.concatenate([make_block(k, 3 * sr, 2, sr, i) for i, k in enumerate(kinds)])
    path = tmp_path / "trouble.wav"
    soundfile.write(str(path), audio, sr, subtype="FLOAT")  # float WAV keeps NaN and inf
    assert np.isnan(soundfile.read(str(path))[0]).any() == any(
        k in ("nan", "sprinkled") for k in kinds)  # fmt: skip
    r = subprocess.run([sys.executable, "-m", "instrument", "listen", str(path), "--json"],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    for line in r.stdout.splitlines():
        row = json.loads(line)  # Python's json reads NaN too, hence the check below
        assert all(math.isfinite(v) for v in row.values() if isinstance(v, float))
        assert set(row) in ({"t", "beat", "bar", "bpm"}, {"t", "chord"})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=st.integers(1, 3000), channels=st.integers(1, 3),
       kind=st.sampled_from(KINDS), seed=st.integers(0, 2**31),
       subtype=st.sampled_from(["FLOAT", "DOUBLE", "PCM_16", "PCM_24"]),
       sr=st.sampled_from([8000, 44100, 48000]))  # fmt: skip
def test_listen_file_path_on_random_short_wavs(tmp_path_factory, frames, channels, kind, seed,
                                               subtype, sr):  # fmt: skip
    """What ``listen FILE --json`` runs (read_audio, run_file, json_sink), in process."""
    import io

    import soundfile

    from instrument.listen.live import json_sink, run_file

    path = tmp_path_factory.mktemp("wav") / "x.wav"
    soundfile.write(str(path), make_block(kind, frames, channels, sr, seed, np.float64), sr,
                    subtype=subtype)  # fmt: skip
    out = io.StringIO()
    lis = run_file(str(path), json_sink(out))
    check_outputs(lis, [])
    for line in out.getvalue().splitlines():
        row = json.loads(line)
        assert all(math.isfinite(v) for v in row.values() if isinstance(v, float))
