"""Python's synth calls wait in the inbox and are played by the audio thread, in order,
before it renders; the audio callback sounds as FluidSynth's own rendering does."""

from __future__ import annotations

import ctypes
import threading

import numpy as np
import pytest

from instrument.ensemble import load_ensemble
from instrument.synth import Synth, find_soundfont
from instrument.synth import inbox as Q
from instrument.synth.library import fluidsynth
from tests.conftest import wait_for

PERIOD = 64


@pytest.fixture
def synth():
    s = Synth(find_soundfont(), sample_rate=48000)
    s.set_ensemble(load_ensemble("choir"))
    yield s
    s.close()


def _run_callback(synth: Synth, periods: int) -> np.ndarray:
    """``periods`` periods from the compiled audio callback, called as FluidSynth's
    non-multi JACK driver calls it (one zeroed stereo pair, no effect buffers)."""
    left, right = np.zeros(PERIOD, np.float32), np.zeros(PERIOD, np.float32)
    out = (ctypes.c_void_p * 2)(left.ctypes.data, right.ctypes.data)
    audio = np.zeros((periods * PERIOD, 2), np.float32)
    run = Q.callback().ctypes
    for k in range(periods):
        left[:], right[:] = 0, 0
        run(synth.inbox.user_data, PERIOD, 0, None, 2, out)
        audio[k * PERIOD : (k + 1) * PERIOD] = np.stack([left, right], axis=1)
    return audio


def test_callback_plays_the_queued_calls_and_sounds_as_fluidsynths_own_rendering(synth):
    twin = Synth(find_soundfont(), sample_rate=48000)
    try:
        twin.set_ensemble(load_ensemble("choir"))
        twin.noteon(0, 60, 100)  # not started: straight to FluidSynth
        expected = np.zeros((200 * PERIOD, 2), np.float32)
        for k in range(200):
            twin.render_into(expected[k * PERIOD : (k + 1) * PERIOD])
    finally:
        twin.close()
    synth.inbox.open()  # as a started driver has it
    synth.noteon(0, 60, 100)
    assert synth.active_voices() == 0  # queued, not played
    audio = _run_callback(synth, 200)
    assert np.abs(expected).max() > 0.05
    # reverb and chorus included: the same samples as FluidSynth's write_float
    np.testing.assert_allclose(audio, expected, atol=1e-6)


def test_calls_are_played_in_the_order_queued_so_a_panic_leaves_no_note(synth):
    synth.inbox.open()
    for pitch in (60, 64, 67):
        synth.noteon(0, pitch, 100)
    synth.cc(0, 64, 127)  # sustain down: only the panic can end these notes
    for pitch in (60, 64, 67):
        synth.noteoff(0, pitch)
    synth.panic()
    synth.noteon(1, 55, 90)  # after the panic: sounds
    audio = _run_callback(synth, 300)
    assert synth.inbox.counts[Q.HEAD] == synth.inbox.counts[Q.TAIL]  # all played
    assert np.abs(audio[-PERIOD * 50 :]).max() > 0.01  # the alto's note sounds
    # the panic's all-sounds-off cut the sustained chord: silence the alto, and no voice
    # is left
    synth.inbox.close()
    fluidsynth.fluid_synth_all_sounds_off(synth._fs.synth, 1)
    synth.render(PERIOD)
    assert synth.active_voices() == 0


def test_closing_the_driver_plays_what_was_left_then_calls_go_direct(synth):
    synth.inbox.open()
    synth.noteon(0, 60, 100)
    assert synth.active_voices() == 0
    synth.inbox.close()  # what ``stop_driver`` does once the driver is gone
    voices = synth.active_voices()  # a note's voices: one per layer of its preset
    assert voices > 0
    synth.noteon(0, 64, 100)  # closed: straight to FluidSynth
    assert synth.active_voices() == 2 * voices
    assert synth.inbox.counts[Q.HEAD] == synth.inbox.counts[Q.TAIL] == 1  # one call queued


def test_a_full_inbox_waits_for_the_audio_thread_instead_of_losing_calls(synth):
    synth.inbox.open()
    for _ in range(Q.SIZE):
        synth.cc(0, 1, 0)
    done = threading.Event()

    def one_more() -> None:
        synth.noteon(0, 60, 100)
        done.set()

    producer = threading.Thread(target=one_more)
    producer.start()
    assert not done.wait(0.05)  # the ring is full: the call waits
    Q.play_pending(synth.inbox.conf)  # the audio thread's period
    producer.join(2.0)
    assert done.is_set() and synth.inbox.dropped == 0
    Q.play_pending(synth.inbox.conf)
    assert synth.active_voices() > 0


def _hog(stop: threading.Event) -> None:
    """Pure Python, holding the GIL whenever the interpreter lets it, until ``stop``."""
    x = 0
    while not stop.is_set():
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF


@pytest.mark.jack
def test_notes_from_a_python_thread_sound_through_the_jack_driver_while_the_gil_is_hogged(
    jack_server,
):
    from tests.support.jackprobe import Probe

    synth = Synth(find_soundfont(), sample_rate=48000)
    synth.set_ensemble(load_ensemble("choir"))
    synth.start("jack", client_name="inboxtest", period=jack_server.period, autoconnect=False)
    probe = Probe("inbox-probe", n_inputs=2, seconds=30).activate()
    stop = threading.Event()
    hog = threading.Thread(target=_hog, args=(stop,), daemon=True)
    try:
        for side, port in zip(("left", "right"), probe.inputs, strict=True):
            probe.client.connect(f"inboxtest:{side}", port)
        assert wait_for(lambda: probe.start_frame is not None)
        hog.start()
        assert synth.inbox.is_open
        synth.noteon(0, 67, 110)
        assert wait_for(lambda: probe.level(4800) > 0.01, timeout=5)
        synth.noteoff(0, 67)
        assert wait_for(lambda: probe.level(4800) < 1e-4, timeout=10)
        synth.noteon(0, 60, 110)
        assert wait_for(lambda: probe.level(4800) > 0.01, timeout=5)
        synth.panic()
        assert wait_for(lambda: probe.level(jack_server.period * 4) < 1e-6, timeout=5)
        assert synth.inbox.dropped == 0
    finally:
        stop.set()
        hog.join()
        probe.close()
        synth.close()
    assert not synth.inbox.is_open
