"""The listener on a synthetic band track with known beats and chords, and on bad input."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from instrument.errors import InstrumentError
from instrument.listen import BeatEvent, ChordEvent, Listener
from instrument.listen.audio import read_audio
from instrument.listen.evaluate import Reference, run_listener, score
from instrument.timing import BeatState
from tests.support.testsignal import make_song


@pytest.fixture(scope="module")
def song():
    return make_song(bpm=100.0, bars=12, sample_rate=44100)


def _reference(s) -> Reference:
    iv = np.array([[a, b] for a, b, _ in s.chords])
    return Reference(s.beats, s.downbeats, iv, [c for *_, c in s.chords],
                     len(s.audio) / s.sample_rate, s.bpm)  # fmt: skip


def _run(audio: np.ndarray, sr: int, block: int = 1024) -> list:
    lis = Listener(sr)
    return [e for i in range(0, len(audio), block) for e in lis.process(audio[i : i + block])]


def test_follows_tempo_bars_and_chords(song):
    est = run_listener(song.audio, song.sample_rate)
    assert est.bpm == pytest.approx(100.0, rel=0.02)
    s = score(_reference(song), est)
    assert s["beat_f"] > 0.9
    assert s["downbeat_f"] > 0.8
    assert s["majmin"] > 0.85


@pytest.mark.parametrize("sr", [22050, 96000])
def test_any_sample_rate(sr):
    s = make_song(bpm=100.0, bars=10, sample_rate=sr)
    est = run_listener(s.audio, sr)
    assert est.bpm == pytest.approx(100.0, rel=0.02)
    assert score(_reference(s), est)["majmin"] > 0.8


def test_causal_the_future_does_not_change_the_past(song):
    """Events decided in the first 8 s are the same whatever comes after."""
    sr = song.sample_rate
    cut = 8 * sr
    other_future = np.concatenate([song.audio[:cut], np.random.default_rng(1).normal(
        0, 0.3, len(song.audio) - cut).astype(np.float32)])  # fmt: skip
    a = _run(song.audio, sr)
    b = _run(other_future, sr)
    early = [e for e in a if e.t < 7.9]
    assert early and early == [e for e in b if e.t < 7.9]


def test_block_size_does_not_change_decisions(song):
    """Blocks up to one hop long give the very same decisions (longer blocks may announce
    beats earlier, from their prediction, since the next block is further away)."""
    a = _run(song.audio, song.sample_rate, 100)
    b = _run(song.audio, song.sample_rate, 400)
    beats_a = [(round(e.t, 6), e.beat) for e in a if isinstance(e, BeatEvent)]
    beats_b = [(round(e.t, 6), e.beat) for e in b if isinstance(e, BeatEvent)]
    assert beats_a == beats_b
    assert [e.chord for e in a if isinstance(e, ChordEvent)] == [
        e.chord for e in b if isinstance(e, ChordEvent)]  # fmt: skip


def test_mono_and_stereo_agree(song):
    mono = _run(song.audio, song.sample_rate)
    stereo = _run(np.stack([song.audio, song.audio], axis=1), song.sample_rate)
    assert mono == stereo


def test_dc_offset_and_clipping(song):
    ref = _reference(song)
    dc = run_listener(song.audio + 0.4, song.sample_rate)
    clipped = run_listener(np.clip(song.audio * 30.0, -1, 1), song.sample_rate)
    for est in (dc, clipped):
        assert est.bpm == pytest.approx(100.0, rel=0.02)
        assert score(ref, est)["majmin"] > 0.7


def test_silence_gives_no_chords_and_no_beats():
    sr = 44100
    lis = Listener(sr)
    events = [e for i in range(0, 10 * sr, 1024) for e in lis.process(np.zeros(1024, np.float32))]
    assert events == []
    assert lis.chord == "N"
    st = lis.state(lis.time)
    assert st.confidence == 0.0 and math.isfinite(st.tempo)


def test_nan_and_inf_input_give_finite_output(song):
    x = song.audio.copy()
    x[::997] = np.nan
    x[5::1999] = np.inf
    x[7::2999] = -np.inf
    lis = Listener(song.sample_rate)
    events = [e for i in range(0, len(x), 1024) for e in lis.process(x[i : i + 1024])]
    assert events
    for e in events:
        assert math.isfinite(e.t)
        if isinstance(e, BeatEvent):
            assert math.isfinite(e.bpm) and e.bpm > 0
    st = lis.state(lis.time)
    assert all(math.isfinite(v) for v in (st.tempo, st.beat, st.next_beat_time, st.confidence))


def test_beat_clock(song):
    """The listener is a BeatClock: position, tempo and the next beat, on its own clock."""
    lis = Listener(song.sample_rate, time_origin=1000.0)
    last = None
    for i in range(0, len(song.audio), 1024):
        for e in lis.process(song.audio[i : i + 1024]):
            if isinstance(e, BeatEvent):
                last = e
    now = lis.time
    st = lis.state(now)
    assert isinstance(st, BeatState)
    assert st.tempo == pytest.approx(100.0, rel=0.02)
    assert now < st.next_beat_time <= now + 60.0 / st.tempo + 1e-6
    assert last is not None and last.t > 1000.0
    # The bar position agrees with the last beat event (beats are 1-based in events).
    assert int(st.beat_in_bar) == (last.beat - 1 + int(now - last.t > 60 / st.tempo)) % 4
    assert lis.chord in {"N", "C:maj", "A:min", "F:maj", "G:maj"}


def test_state_is_bounded(song):
    """Memory does not grow with time: the state after 20 s and 60 s is the same size."""
    import pickle

    lis = Listener(song.sample_rate)
    sizes = []
    x = np.tile(song.audio, 3)
    for i in range(0, len(x), 4096):
        lis.process(x[i : i + 4096])
        if i in (20 * 4096 * 10, 60 * 4096 * 10):
            sizes.append(len(pickle.dumps(lis.__dict__)))
    assert len(sizes) == 2 and abs(sizes[1] - sizes[0]) < 2048


@pytest.mark.parametrize("content", [b"", b"this is not audio at all" * 100])
def test_unreadable_audio_file(tmp_path, content):
    p = tmp_path / "bad.wav"
    p.write_bytes(content)
    with pytest.raises(InstrumentError, match="bad.wav"):
        read_audio(p)


def test_cli_unreadable_file_one_line_error(tmp_path):
    p = tmp_path / "song.ogg"
    p.write_bytes(b"OggS garbage")
    for arg in (str(p), str(tmp_path / "missing.wav")):
        r = subprocess.run([sys.executable, "-m", "instrument", "listen", arg, "--json"],
                           capture_output=True, text=True, timeout=60)  # fmt: skip
        assert r.returncode == 2
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("instrument: error:"), r.stderr
        assert "Traceback" not in r.stderr


def test_cli_file_json_lines(tmp_path, song):
    from instrument.synth import write_wav

    path = write_wav(tmp_path / "song.wav", song.audio[:, None], song.sample_rate)
    r = subprocess.run([sys.executable, "-m", "instrument", "listen", str(path), "--json"],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    import json

    rows = [json.loads(line) for line in r.stdout.splitlines()]
    beats = [x for x in rows if "beat" in x]
    chords = [x for x in rows if "chord" in x]
    assert set(beats[0]) == {"t", "beat", "bar", "bpm"} and set(chords[0]) == {"t", "chord"}
    assert np.median([b["bpm"] for b in beats[len(beats) // 2 :]]) == pytest.approx(100, rel=0.02)
    assert [b["t"] for b in beats] == sorted(b["t"] for b in beats)


@pytest.mark.parametrize(("meter", "bpm"), [("3/4", 110.0), ("6/8", 70.0)])
def test_meter_three_four_and_six_eight(meter, bpm):
    s = make_song(bpm=bpm, bars=14, meter=meter)
    lis = Listener(s.sample_rate)
    beats = [e for i in range(0, len(s.audio), 1024) for e in lis.process(s.audio[i : i + 1024])
             if isinstance(e, BeatEvent)]  # fmt: skip
    assert lis.meter_label == meter
    assert beats[-1].bpm == pytest.approx(bpm, rel=0.02)
    est = run_listener(s.audio, s.sample_rate)
    assert score(_reference(s), est)["downbeat_f"] > 0.6
