"""`instrument play --record`: a take killed with SIGKILL is still on disk, bar the last second."""

from __future__ import annotations

import signal
import subprocess
import time

import mido
import pytest

from instrument.live.record import read_journal, recover
from tests.conftest import wait_for
from tests.support.jackclients import ports_appear, start_app

pytestmark = pytest.mark.jack


def _notes_in(path) -> list[int]:
    return [m.note for m in mido.MidiFile(path) if m.type == "note_on" and m.velocity > 0]


def test_sigkill_mid_take_loses_at_most_the_last_second(jack_server, tmp_path):
    from tests.support.jackprobe import MidiTap, Probe

    flags = "play --audio jack --no-display --ensemble quartet --arranger zone --record"
    proc = start_app(*flags.split(), str(tmp_path), stdout=subprocess.DEVNULL)
    try:
        assert ports_appear(["instrument:midi_00"], 30, proc), "app did not start"
        time.sleep(0.5)  # the recorder starts after the ports appear
        keys = Probe("rec-keys", n_inputs=0).activate()
        keys.connect_to("instrument:midi_00", [])
        tap = MidiTap("rec-tap").activate()
        keys.client.connect(keys.midi_out, "rec-tap:in")
        # JACK switches to a new graph between cycles, so a connection is live only once
        # an event crosses it: the tap hearing this one says both wires are (the app's
        # was made first). A note-off of a key never struck plays nothing.
        keys.send([0x80, 0, 0])
        assert wait_for(lambda: tap.seen()), "the tap never heard the keyboard"
        xruns = keys.xruns
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
        heard, late = tap.note_ons(), keys.xruns - xruns
        tap.close()
        keys.close()
    finally:
        if proc.poll() is None:
            proc.kill()
    takes = list(tmp_path.glob("take-*"))
    assert len(takes) == 1
    take = takes[0]
    arranged, raw_in = _notes_in(take / "arranged.mid"), _notes_in(take / "input.mid")
    if late == 0:
        # No cycle ran late, so every client heard every event the keyboard wrote, the app
        # included (the tap is compiled: a loaded machine cannot make it drop one): the
        # take holds every note.
        assert heard == [*played, 80], f"the wire lost notes: {heard}"
        assert sorted(arranged) == sorted(raw_in) == sorted(heard)
    else:
        # In a cycle the server reports late, a client downstream of the late one may miss
        # that cycle's events: the app may not have got a note the tap heard (or the other
        # way round), so what the app got is known only to within one note per late cycle.
        # Notes are 50 ms apart: a stall loses at most one unless it lasts longer.
        assert set(arranged) <= {*played, 80} and set(raw_in) <= {*played, 80}
        missing = {*played, 80} - set(arranged)
        assert len(missing) <= late, f"{late} late cycles, and the take lacks {missing}"
        assert sorted(arranged) == sorted(raw_in)
    name, raw, notes = read_journal(take)
    assert name == "quartet" and len(notes) == len(arranged)
    (take / "arranged.mid").unlink()
    assert recover(take) == (len(raw), len(notes))
    assert sorted(_notes_in(take / "arranged.mid")) == sorted(arranged)


def test_torn_journal_lines_are_skipped(tmp_path):
    take = tmp_path / "take-x"
    take.mkdir()
    (take / "journal.txt").write_text(
        "# ensemble choir\nin 0.1 903c64\non 0.1 60 100 0 0\noff 0.5 60 0 0 0\non 0.6 6"
    )
    name, raw, notes = read_journal(take)
    assert name == "choir" and raw == [(0.1, [0x90, 60, 100])]
    assert notes == [(0.1, 0.5, 60, 100, 0)]
