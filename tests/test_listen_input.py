"""A live input that loses audio (a full queue, a JACK period the input missed) keeps the
listener's clock and tempo true to the room: the lost time is heard as silence, counted."""

from __future__ import annotations

import numpy as np

from instrument.listen.stream import InputBlocks, ListenStream
from tests.test_listen_clock import click_track

SR = 22050
BLOCK = 512


def _lossy_blocks(audio: np.ndarray, seed: int) -> list[tuple[float, np.ndarray]]:
    """The room's audio in blocks stamped with their capture time (s, with a little
    jitter), a tenth of them lost in runs of 1 to 8 blocks."""
    rng = np.random.default_rng(seed)
    kept, k = [], 0
    while (k + 1) * BLOCK <= len(audio):
        if rng.random() < 0.02:
            k += int(rng.integers(1, 9))
            continue
        jitter = rng.uniform(-0.2, 0.2) * BLOCK / SR
        kept.append((100.0 + k * BLOCK / SR + jitter, audio[k * BLOCK : (k + 1) * BLOCK]))
        k += 1
    return kept


def test_lost_audio_comes_back_as_silence_of_its_length():
    heard = InputBlocks(SR, BLOCK)
    block = np.ones(BLOCK, np.float32)
    for k in (0, 1, 5, 6):  # blocks 2, 3 and 4 never arrived
        heard.put(block, 10.0 + k * BLOCK / SR)
    got = [heard.get(timeout=0.1) for _ in range(4)]
    assert [len(p) for p in got] == [1, 1, 4, 1]
    assert [len(x) for x in got[2]] == [BLOCK] * 4
    assert not np.concatenate(got[2][:3]).any() and got[2][3].all()
    assert heard.lost_frames == 3 * BLOCK
    assert "0.07 s of input lost" in heard.health()


def test_jitter_in_the_capture_times_is_not_a_gap():
    heard = InputBlocks(SR, BLOCK)
    rng = np.random.default_rng(3)
    for k in range(200):
        heard.put(np.ones(BLOCK, np.float32), k * BLOCK / SR + rng.uniform(0, 0.4) * BLOCK / SR)
    assert all(len(heard.get(timeout=0.1)) == 1 for _ in range(200))
    assert heard.lost_frames == 0 and heard.health() == ""


def test_a_full_queue_drops_blocks_and_their_time_is_kept():
    heard = InputBlocks(SR, BLOCK, maxsize=2)
    for k in range(4):
        heard.put(np.ones(BLOCK, np.float32), k * BLOCK / SR)
    assert heard.dropped == 2
    heard.get(timeout=0.1)
    heard.get(timeout=0.1)
    heard.put(np.ones(BLOCK, np.float32), 4 * BLOCK / SR)
    assert [len(x) for x in heard.get(timeout=0.1)] == [BLOCK, BLOCK, BLOCK]
    assert "2 blocks dropped" in heard.health()


def test_an_input_without_capture_times_is_taken_as_contiguous():
    heard = InputBlocks(SR, BLOCK)
    for _ in range(3):
        heard.put(np.ones(BLOCK, np.float32), 0.0)
    assert all(len(heard.get(timeout=0.1)) == 1 for _ in range(3))
    assert "no capture times" in heard.health()


def _beat_error(next_beats: list[float], clicks: np.ndarray) -> float:
    """Median distance (s) from each expected next beat to the nearest click."""
    t = np.array(next_beats)
    return float(np.median(np.abs(t[:, None] - clicks[None, :]).min(axis=1)))


def test_the_listener_keeps_the_rooms_tempo_and_time_through_lost_audio():
    """Fed through ``ListenStream``'s worker step, the listener's audio clock ends where the
    room is, its tempo is the click track's and the beat it expects next falls on a click;
    fed the same blocks end to end (the audio lost taken for none), the song jumps ahead
    at every gap: the tempo is lost and the expected beats fall off the clicks."""
    bpm = 100.0
    audio = click_track(bpm, [4], 40.0)
    clicks = 100.0 + np.arange(0, 50.0, 60.0 / bpm)  # the room's clock starts at 100 s
    blocks = _lossy_blocks(audio, seed=7)
    clock = [0.0]
    room = ListenStream(block=BLOCK, now=lambda: clock[0], sample_rate=SR)
    contiguous = ListenStream(block=BLOCK, now=lambda: clock[0], sample_rate=SR)
    expected: dict[str, list[float]] = {"room": [], "contiguous": []}
    for adc, block in blocks:
        clock[0] = adc + BLOCK / SR + 0.005  # each block reaches the worker 5 ms after its end
        room.input.put(block, adc)
        assert room.hear_next(timeout=0.1)
        contiguous.feed(block, clock[0])
        if adc > 120.0:
            for name, s in (("room", room), ("contiguous", contiguous)):
                expected[name].append(s.state(clock[0]).next_beat_time)
    lost = room.input.lost_seconds
    assert 2.0 < lost < 8.0, lost  # about a tenth of the song
    end = blocks[-1][0] - 100.0 + BLOCK / SR
    audio_time = room.listener.features.frames_done / room.listener.fps
    assert abs(audio_time - end) < 2 * BLOCK / SR
    assert abs(room.state(clock[0]).tempo - bpm) < 1.5
    assert _beat_error(expected["room"], clicks) < 0.03
    # what the fix is for: the same blocks end to end lose the tempo and the beat
    assert abs(contiguous.state(clock[0]).tempo - bpm) > 3.0
    assert _beat_error(expected["contiguous"], clicks) > 2 * _beat_error(expected["room"], clicks)
