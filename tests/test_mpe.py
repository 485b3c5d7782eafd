"""MPE input: each note's bend, pressure and slide reach the part the arranger gave it,
and only that part; the master channel still reaches every part."""

from __future__ import annotations

from instrument.arrange import make_arranger
from instrument.ensemble import load_ensemble
from instrument.live.mpe import MpeRouter
from instrument.live.performer import Performer
from tests.support.fakes import SilentSynth


class RecordingSynth(SilentSynth):
    """Stands in for FluidSynth: the test must see which channel got which message."""

    def __init__(self):
        self.calls: list[tuple] = []

    def noteon(self, channel, pitch, velocity):
        self.calls.append(("on", channel, pitch))

    def noteoff(self, channel, pitch):
        self.calls.append(("off", channel, pitch))

    def pitch_bend(self, channel, value14):
        self.calls.append(("bend", channel, value14))

    def cc(self, channel, control, value):
        self.calls.append(("cc", channel, control, value))


def setup():
    quartet = load_ensemble("quartet")
    synth = RecordingSynth()
    perf = Performer(synth, quartet, make_arranger("zone", quartet))
    MpeRouter(perf).attach()
    return perf, synth


def channel_of(synth, pitch):
    return next(ch for kind, ch, *rest in synth.calls if kind == "on" and rest[0] == pitch)


def test_a_member_channels_bend_and_pressure_follow_its_note_only():
    perf, synth = setup()
    perf.handle([0x91, 40, 90], 0.0)  # member channel 2: a low note (cello)
    perf.handle([0x92, 88, 90], 0.01)  # member channel 3: a high note (violin I)
    low, high = channel_of(synth, 40), channel_of(synth, 88)
    assert low != high
    synth.calls.clear()
    perf.handle([0xE1, 0, 80], 0.1)  # bend the low note up
    perf.handle([0xD2, 100], 0.1)  # press the high note
    perf.handle([0xB2, 74, 30], 0.1)  # slide on the high note
    assert synth.calls == [("bend", low, 80 << 7), ("cc", high, 1, 100), ("cc", high, 74, 30)]


def test_expression_sent_before_the_note_on_starts_with_it():
    perf, synth = setup()
    perf.handle([0xE3, 0, 32], 0.0)  # MPE sends the note's bend first...
    perf.handle([0xD3, 20], 0.0)
    perf.handle([0x93, 50, 90], 0.01)  # ...then the note
    ch = channel_of(synth, 50)
    assert ("bend", ch, 32 << 7) in synth.calls and ("cc", ch, 1, 20) in synth.calls
    perf.handle([0x83, 50, 0], 0.5)
    synth.calls.clear()
    perf.handle([0xE3, 0, 64], 0.6)  # no note left on that channel: nothing to bend
    assert synth.calls == []


def test_the_master_channel_reaches_every_part():
    perf, synth = setup()
    perf.handle([0x91, 40, 90], 0.0)
    synth.calls.clear()
    perf.handle([0xE0, 0, 80], 0.1)  # channel 1: the zone's master
    bent = {ch for kind, ch, *_ in synth.calls if kind == "bend"}
    assert bent == set(perf.setup.channels)


def test_play_and_jam_take_mpe(tmp_path, capsys):
    """``--mpe`` on the commands: an MPE performance (bend before each note-on, member
    channels) plays through to the end."""
    import mido

    from instrument.cli import main

    mid = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    for k, (ch, pitch) in enumerate([(1, 48), (2, 64), (3, 79)]):
        tr.append(mido.Message("pitchwheel", channel=ch, pitch=1000 * k, time=0 if k else 10))
        tr.append(mido.Message("note_on", channel=ch, note=pitch, velocity=90, time=0))
        tr.append(mido.Message("aftertouch", channel=ch, value=60, time=100))
    for ch, pitch in [(1, 48), (2, 64), (3, 79)]:
        tr.append(mido.Message("note_off", channel=ch, note=pitch, velocity=0, time=200))
    path = tmp_path / "mpe.mid"
    mid.save(path)
    flags = "--mpe --midi-in none --audio none --no-display --duration 1.5".split()
    common = [*flags, "--play-file", str(path)]
    assert main(["play", *common]) == 0
    assert main(["jam", "--style", "block", *common]) == 0
    assert "Traceback" not in capsys.readouterr().err


def test_a_note_moved_to_another_part_takes_its_expression_along():
    """A chord revision moves a sounding note (its note-off on the old part, a note-on on
    the new, no key struck): the note's bend goes with it."""
    from instrument.live.performer import NoteEvent

    perf, synth = setup()
    perf.handle([0xE2, 0, 96], 0.0)
    perf.handle([0x92, 60, 90], 0.01)
    old = channel_of(synth, 60)
    new = next(ch for ch in perf.setup.channels if ch != old)
    router = perf.mpe
    router._on_note(NoteEvent(False, 60, 0, 0, old, 0.1))  # as the performer reports a move
    router._on_note(NoteEvent(True, 60, 90, 1, new, 0.1))
    assert synth.calls[-1] == ("bend", new, 96 << 7)
    synth.calls.clear()
    perf.handle([0xE2, 0, 70], 0.2)
    assert synth.calls == [("bend", new, 70 << 7)]
