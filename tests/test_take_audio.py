"""Takes as audio, and tempo maps: `--record` writes take.wav at the live sample rate,
valid on disk after every sync; the MIDI files keep the source's or the clock's tempo
map; `render` does not clip, defaults to the live rate and keeps the source's tempo map."""

from __future__ import annotations

import subprocess
import sys

import mido
import numpy as np
import pytest
import soundfile

from instrument.arrange import make_arranger
from instrument.ensemble import load_ensemble
from instrument.errors import InstrumentError
from instrument.input.midifile import TickClock, conductor_of, steady_conductor
from instrument.live.outputs import PartOutputs
from instrument.live.performer import Performer
from instrument.live.record import AUDIO_TAIL, Recorder, TakeAudio, write_take
from instrument.live.render import limit_peak
from instrument.synth import Synth

RATE = 48000
QUIET = 1e-4


@pytest.fixture(scope="module")
def soundfont():
    from instrument.synth import find_soundfont

    try:
        return find_soundfont()
    except InstrumentError as e:
        pytest.skip(str(e))


RENDER = [sys.executable, "-m", "instrument", "render"]


def headless_play(soundfont, *args: str) -> list[str]:
    """The command line of ``play`` with no display, audio device or MIDI input."""
    flags = "play --no-display --audio none --midi-in none".split()
    return [sys.executable, "-m", "instrument", *flags, "--soundfont", str(soundfont), *args]


def play_recording(soundfont, src, takes, seconds: float) -> list[str]:
    """Headless ``play`` of the file ``src`` with the zone arranger, recorded under ``takes``."""
    args = ["--arranger", "zone", "--play-file", str(src), "--record", str(takes)]
    return headless_play(soundfont, *args, "--duration", str(seconds))


def run_until_done(command: list[str]) -> None:
    """Run a headless ``play`` to its end (no terminal to read); it must succeed."""
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, done.stderr


def tempos(mid: mido.MidiFile) -> list[int]:
    """The file's tempo events (microseconds a beat), in track order."""
    return [m.tempo for t in mid.tracks for m in t if m.type == "set_tempo"]


def meters(mid: mido.MidiFile) -> list[tuple[int, int]]:
    """The file's time signatures (numerator, denominator), in track order."""
    return [
        (m.numerator, m.denominator) for t in mid.tracks for m in t if m.type == "time_signature"
    ]


class Clock:
    """The performer's clock, moved by the test: every time is exact."""

    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _band(soundfont, clock):
    quartet = load_ensemble("quartet")
    synth = Synth(soundfont, sample_rate=RATE)
    outputs = PartOutputs(synth)
    return Performer(outputs, quartet, make_arranger("zone", quartet), clock=clock), outputs


def test_take_wav_holds_each_note_at_its_sample(tmp_path, soundfont):
    clock = Clock()
    performer, outputs = _band(soundfont, clock)
    recorder = Recorder(
        tmp_path, performer, audio_from=outputs, soundfont=soundfont, sample_rate=RATE
    )
    recorder.start()
    clock.now += 0.5  # half a second of silence, then a note of one second
    performer.handle([0x90, 67, 100], clock.now)
    clock.now += 1.0
    performer.handle([0x80, 67, 0], clock.now)
    clock.now += 0.25
    take = recorder.stop()
    audio, rate = soundfile.read(take / "take.wav", dtype="float32")
    assert rate == RATE and audio.shape[1] == 2
    assert len(audio) == round(1.75 * RATE) + round(AUDIO_TAIL * RATE)
    loud = np.flatnonzero(np.abs(audio).max(axis=1) > QUIET)
    # The note starts at its sample (FluidSynth's attack is immediate, within a block).
    assert round(0.5 * RATE) <= loud[0] < round(0.5 * RATE) + 64
    assert np.abs(audio[round(0.6 * RATE) : round(1.4 * RATE)]).max() > 0.01
    assert np.abs(audio[-RATE // 10 :]).max() < QUIET, "the release must have ended"


def test_take_wav_is_valid_after_each_sync(tmp_path, soundfont):
    """As if the power went: the file on disk, as it is between two syncs, is a WAV of
    everything played up to the last one."""
    clock = Clock()
    quartet = load_ensemble("quartet")
    audio = TakeAudio(tmp_path / "take.wav", soundfont, RATE, 0.6, quartet, clock.now, clock)
    try:
        audio.noteon(0, 72, 100)
        clock.now += 0.8
        audio.render_until(clock.now)
        audio.noteon(1, 60, 100)  # logged, not rendered yet: lost with the power
        on_disk, rate = soundfile.read(tmp_path / "take.wav", dtype="float32")
        assert rate == RATE and len(on_disk) == round(0.8 * RATE)
        assert np.abs(on_disk).max() > 0.01
    finally:
        audio.finish(clock.now)


def test_take_midi_keeps_the_clock_tempo_map(tmp_path):
    quartet = load_ensemble("quartet")
    conductor = steady_conductor(60.0, 3)  # a beat a second, 3/4
    notes = [(1.0, 2.0, 60, 90, 0), (3.0, 3.5, 64, 90, 1)]
    raw = [(1.0, [0x90, 60, 90]), (2.0, [0x80, 60, 0])]
    write_take(tmp_path, quartet, raw, notes, conductor=conductor)
    for name in ("input.mid", "arranged.mid"):
        mid = mido.MidiFile(tmp_path / name)
        assert tempos(mid) == [1_000_000] and meters(mid) == [(3, 4)], name
        ons = _onset_ticks(mid)
        assert ons[0] == mid.ticks_per_beat  # one second in = one beat at 60 BPM


def test_recover_keeps_the_journal_tempo_map(tmp_path):
    """A take cut off before its MIDI files were written: ``recover`` rebuilds them in the
    tempo map its journal names (here 60 BPM in 3/4), not at 120 BPM."""
    from instrument.live.record import recover

    (tmp_path / "journal.txt").write_text(
        "# ensemble quartet\n# tempo 0.000000 1000000\n# meter 0.000000 3 4\n"
        "in 1.000000 903c5a\non 1.000000 60 90 0 0\nin 2.000000 803c00\n"
        "off 2.000000 60 0 0 0\n"
    )
    assert recover(tmp_path) == (2, 1)
    for name in ("input.mid", "arranged.mid"):
        mid = mido.MidiFile(tmp_path / name)
        assert tempos(mid) == [1_000_000] and meters(mid) == [(3, 4)], name
        assert _onset_ticks(mid)[0] == mid.ticks_per_beat  # one second in = one beat


def test_jam_take_tempo_map_follows_the_clock(tmp_path):
    """Tap tempo mid-take: the take's tempo map gets the new tempo at the moment it changed,
    and the MIDI files place the later notes by it."""
    from instrument.accompany.clock import InternalClock
    from instrument.accompany.take import ClockTempoMap
    from instrument.input.midifile import steady_conductor

    now = [100.0]
    clock = InternalClock(60.0, 4)
    clock.start(now[0])
    conductor = steady_conductor(60.0, 4)
    tempo_map = ClockTempoMap(conductor, clock, t0=100.0, now=lambda: now[0])
    now[0] = 104.0
    tempo_map.look()  # unchanged: nothing added
    assert len(conductor) == 2
    clock.set_tempo(120.0, now[0])  # four beats in, the player taps 120
    now[0] = 104.25
    tempo_map.look()
    assert [(t, m.tempo) for t, m in conductor if m.type == "set_tempo"] == [
        (0.0, 1_000_000),
        (4.25, 500_000),
    ]
    notes = [(5.25, 5.5, 60, 90, 0)]  # one second after the change: two beats at 120
    write_take(tmp_path, load_ensemble("quartet"), [], notes, conductor=conductor)
    mid = mido.MidiFile(tmp_path / "arranged.mid")
    assert _onset_ticks(mid)[0] == round(6.25 * mid.ticks_per_beat)


def _onset_ticks(mid: mido.MidiFile) -> list[int]:
    ticks = []
    for track in mid.tracks:
        t = 0
        for m in track:
            t += m.time
            if m.type == "note_on" and m.velocity:
                ticks.append(t)
    return sorted(ticks)


def test_tick_clock_follows_tempo_changes():
    conductor = [
        (0.0, mido.MetaMessage("set_tempo", tempo=500000)),
        (2.0, mido.MetaMessage("set_tempo", tempo=1000000)),
    ]  # 120 then 60 BPM
    clock = TickClock(conductor, 480)
    assert clock.ticks(1.0) == 960
    assert clock.ticks(2.0) == 1920
    assert clock.ticks(3.0) == 1920 + 480


def test_render_does_not_clip_and_keeps_the_tempo_map(tmp_path, soundfont):
    src = tmp_path / "src.mid"
    mid = mido.MidiFile(ticks_per_beat=384)
    conductor = mido.MidiTrack(
        [
            mido.MetaMessage("time_signature", numerator=3, denominator=4, time=0),
            mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(90), time=0),
            mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(150), time=6 * 384),
        ]
    )
    chord = tuple(range(36, 66, 3))  # ten loud notes: about 0.96 peak unlimited
    notes = mido.MidiTrack()
    for beat in range(12):
        for i, p in enumerate(chord):
            notes.append(
                mido.Message(
                    "note_on", note=p, velocity=127, time=(384 - 300) if beat and not i else 0
                )
            )
        for i, p in enumerate(chord):
            notes.append(mido.Message("note_off", note=p, velocity=0, time=300 if not i else 0))
    mid.tracks += [conductor, notes]
    mid.save(src)
    wav, arranged = tmp_path / "out.wav", tmp_path / "out.mid"
    outputs = ["-o", str(wav), "--arranged", str(arranged)]
    band = ["--ensemble", "pop909", "--arranger", "zone", "--soundfont", str(soundfont)]
    done = subprocess.run(
        [*RENDER, str(src), *outputs, *band], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    audio, rate = soundfile.read(wav, dtype="float32")
    assert rate == 48000  # the live rate, configs/defaults.toml
    assert np.abs(audio).max() <= 10 ** (-1 / 20) + 1e-4
    assert "so that it does not clip" in done.stdout, done.stdout  # it would have clipped
    out = mido.MidiFile(arranged)
    assert out.ticks_per_beat == 384
    assert conductor_events(out) == conductor_events(mido.MidiFile(src))
    assert _onset_ticks(out)[:: len(chord)] == _onset_ticks(mido.MidiFile(src))[:: len(chord)]


def conductor_events(mid: mido.MidiFile) -> list[tuple[int, str, int]]:
    """(tick, type, value) of the tempo and meter events."""
    out = []
    for track in mid.tracks:
        t = 0
        for m in track:
            t += m.time
            if m.type == "set_tempo":
                out.append((t, m.type, m.tempo))
            elif m.type == "time_signature":
                out.append((t, m.type, m.numerator))
    return sorted(out)


def test_limit_peak_scales_only_what_would_clip():
    rng = np.random.default_rng(5)
    quiet = (rng.standard_normal((1000, 2)) * 0.1).astype(np.float32)
    same, gain = limit_peak(quiet)
    assert gain == 0.0 and same is quiet
    loud = quiet * 30
    limited, gain = limit_peak(loud)
    assert gain < 0
    assert np.abs(limited).max() == pytest.approx(10 ** (-1 / 20), rel=1e-5)
    assert np.allclose(limited / loud, limited[0, 0] / loud[0, 0])  # one gain throughout


def test_play_record_writes_wav_and_the_played_file_tempo_map(tmp_path, soundfont):
    src = tmp_path / "tune.mid"
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(75), time=0)])
    for p in (60, 64, 67):
        track.append(mido.Message("note_on", note=p, velocity=90, time=0))
        track.append(mido.Message("note_off", note=p, velocity=0, time=240))
    mid.tracks.append(track)
    mid.save(src)
    takes = tmp_path / "takes"
    run_until_done(play_recording(soundfont, src, takes, seconds=3))
    (take,) = takes.glob("take-*")
    audio, rate = soundfile.read(take / "take.wav", dtype="float32")
    assert rate == 48000 and np.abs(audio).max() > 0.01
    for name in ("input.mid", "arranged.mid"):
        assert tempos(mido.MidiFile(take / name)) == [mido.bpm2tempo(75)], name
    assert conductor_of(mido.MidiFile(take / "arranged.mid"))


def test_sigkill_mid_take_leaves_a_readable_wav(tmp_path, soundfont):
    import os
    import signal
    import time

    src = tmp_path / "long.mid"
    mid = mido.MidiFile(ticks_per_beat=480)  # 120 BPM: 40 notes of a quarter, 10 s
    track = mido.MidiTrack()
    for i in range(40):
        track.append(mido.Message("note_on", note=48 + i % 24, velocity=90, time=0))
        track.append(mido.Message("note_off", note=48 + i % 24, velocity=0, time=480))
    mid.tracks.append(track)
    mid.save(src)
    takes = tmp_path / "takes"
    proc = subprocess.Popen(
        play_recording(soundfont, src, takes, seconds=60),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    two_seconds = 44 + 2 * RATE * 8  # header + 2 s of stereo float32
    try:
        deadline = time.monotonic() + 90
        while not any(p.stat().st_size > two_seconds for p in takes.glob("take-*/take.wav")):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the take's audio did not grow"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    (wav,) = takes.glob("take-*/take.wav")
    audio, rate = soundfile.read(wav, dtype="float32")  # the header is valid: it was synced
    assert rate == RATE and len(audio) >= 2 * RATE - RATE // 4
    assert np.abs(audio).max() > 0.01


def test_the_journal_keeps_the_tempo_map_for_a_recovery(tmp_path, soundfont):
    from instrument.live.record import read_conductor

    clock = Clock()
    performer, _outputs = _band(soundfont, clock)
    conductor = steady_conductor(75.0, 3)
    recorder = Recorder(tmp_path, performer, conductor=conductor)
    recorder.start()
    performer.handle([0x90, 60, 90], clock.now + 0.5)
    recorder._drain()  # the writer thread's step, at once
    conductor.append((2.0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(90.0))))  # a tap
    take = recorder.stop()
    conductor = read_conductor(take)
    assert [(t, m.type) for t, m in conductor] == [
        (0.0, "set_tempo"),
        (0.0, "time_signature"),
        (2.0, "set_tempo"),
    ]
    assert conductor[2][1].tempo == mido.bpm2tempo(90.0), "a change mid-take is journaled"
    assert conductor[0][1].tempo == mido.bpm2tempo(75.0)
    assert (conductor[1][1].numerator, conductor[1][1].denominator) == (3, 4)
    journal = take / "journal.txt"
    journal.write_text(journal.read_text() + "# tempo nan 5\n# tempo 1.0 -3\n# meter 2.0 3 5\n")
    assert len(read_conductor(take)) == 3, "damaged tempo lines are skipped"


def test_play_record_with_a_registration_keeps_its_tempo(tmp_path, soundfont):
    takes = tmp_path / "takes"
    run_until_done(
        headless_play(soundfont, "-r", "pop-band", "--record", str(takes), "--duration", "1")
    )
    (take,) = takes.glob("take-*")
    mid = mido.MidiFile(take / "arranged.mid")
    assert tempos(mid) == [mido.bpm2tempo(100)]
