"""`instrument play --record`: a take killed with SIGKILL is still on disk, bar the last second."""

from __future__ import annotations

import signal
import subprocess
import time

import mido
import pytest

from instrument.live.record import read_journal, recover
from tests.support.jackclients import WireTap, ports_appear, start_app

pytestmark = pytest.mark.jack


def _notes_in(path) -> list[int]:
    return [m.note for m in mido.MidiFile(path) if m.type == "note_on" and m.velocity > 0]


def test_sigkill_mid_take_loses_at_most_the_last_second(jack_server, tmp_path):
    from tests.support.jackprobe import Probe

    flags = "play --audio jack --no-display --ensemble quartet --arranger zone --record"
    proc = start_app(*flags.split(), str(tmp_path), stdout=subprocess.DEVNULL)
    try:
        assert ports_appear(["instrument:midi_00"], 30, proc), "app did not start"
        time.sleep(0.5)  # the recorder starts after the ports appear
        keys = Probe("rec-keys", n_inputs=0).activate()
        keys.connect_to("instrument:midi_00", [])
        tap = WireTap("rec-keys:out")
        played = list(range(48, 72))
        for pitch in played:
            keys.send([0x90, pitch, 90])
            time.sleep(0.05)
            keys.send([0x80, pitch, 0])
            time.sleep(0.05)
        keys.send([0x90, 80, 90])  # held when the power goes
        time.sleep(1.3)  # more than one MIDI rewrite and several journal syncs
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        heard = WireTap.note_ons(tap.stop())
        keys.close()
    finally:
        if proc.poll() is None:
            proc.kill()
    takes = list(tmp_path.glob("take-*"))
    assert len(takes) == 1
    take = takes[0]
    # Every note-on reached the app's port, as jackd's own monitor heard it: the probe's
    # process callback is compiled, so a loaded machine cannot make it drop one.
    assert heard == [*played, 80], f"the wire lost notes: {heard}"
    assert sorted(_notes_in(take / "arranged.mid")) == sorted(heard)
    assert sorted(_notes_in(take / "input.mid")) == sorted(heard)
    name, raw, notes = read_journal(take)
    assert name == "quartet" and len(notes) == len(heard)
    (take / "arranged.mid").unlink()
    assert recover(take) == (len(raw), len(notes))
    assert sorted(_notes_in(take / "arranged.mid")) == sorted(heard)


def test_torn_journal_lines_are_skipped(tmp_path):
    take = tmp_path / "take-x"
    take.mkdir()
    (take / "journal.txt").write_text(
        "# ensemble choir\nin 0.1 903c64\non 0.1 60 100 0 0\noff 0.5 60 0 0 0\non 0.6 6"
    )
    name, raw, notes = read_journal(take)
    assert name == "choir" and raw == [(0.1, [0x90, 60, 100])]
    assert notes == [(0.1, 0.5, 60, 100, 0)]
