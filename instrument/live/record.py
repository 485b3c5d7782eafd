"""Recording every take as it is played, so that a crash or power cut loses at most a second.

A take is a folder ``DIR/take-YYYYmmdd-HHMMSS/`` with:

- ``journal.txt``: append-only, one line per event, flushed and fsynced every 0.25 s:
  ``in <t> <hex bytes>`` for raw input, ``on|off <t> <pitch> <velocity> <part> <channel>``
  for the arranged notes (t in seconds from the take's start);
- ``input.mid`` (the raw keyboard stream) and ``arranged.mid`` (a named track per part),
  rewritten atomically every second, and once more at a clean stop.

The MIDI thread only appends to a deque; a writer thread does all file work.
``read_journal`` and ``recover`` rebuild both MIDI files from the journal after a crash.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from pathlib import Path

import mido

from instrument.ensemble import Ensemble
from instrument.errors import InstrumentError, untrusted
from instrument.live.performer import NoteEvent, Performer
from instrument.midifile import write_parts

SYNC_EVERY = 0.25  # seconds between journal fsyncs
MIDI_EVERY = 1.0  # seconds between MIDI file rewrites


class Recorder:
    def __init__(self, directory: str | os.PathLike, performer: Performer):
        base = Path(directory)
        try:
            base.mkdir(parents=True, exist_ok=True)
            self.take = base / f"take-{time.strftime('%Y%m%d-%H%M%S')}"
            n = 1
            while self.take.exists():
                n += 1
                self.take = base / f"take-{time.strftime('%Y%m%d-%H%M%S')}-{n}"
            self.take.mkdir()
            self._journal = open(self.take / "journal.txt", "a", buffering=1 << 16)  # noqa: SIM115
        except OSError as e:
            raise InstrumentError(f"cannot record into {base}: {e.strerror}") from None
        self.performer = performer
        self.ensemble: Ensemble = performer.setup.ensemble
        self._t0 = performer.clock()
        self._queue: deque[tuple] = deque()
        self._raw: list[tuple[float, list[int]]] = []
        self._notes: list[tuple[float, float, int, int, int]] = []  # closed notes
        self._open: dict[tuple[int, int], tuple[float, int, int]] = {}  # (ch, pitch) -> on
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._journal.write(f"# ensemble {self.ensemble.name}\n")

    # -- MIDI thread -------------------------------------------------------------------------
    def _on_raw(self, data: list[int], t: float) -> None:
        self._queue.append(("in", t, data))

    def _on_note(self, ev: NoteEvent) -> None:
        self._queue.append(("on" if ev.on else "off", ev.time, ev))

    # -- writer thread -----------------------------------------------------------------------
    def start(self) -> None:
        self.performer.raw_listeners.append(self._on_raw)
        self.performer.add_listener(self._on_note)
        self._thread.start()

    def _run(self) -> None:
        last_midi = 0.0
        while not self._stop.wait(SYNC_EVERY):
            self._drain()
            now = time.monotonic()
            if now - last_midi >= MIDI_EVERY:
                self._write_midi()
                last_midi = now

    def _drain(self) -> None:
        lines = []
        while self._queue:
            kind, t, payload = self._queue.popleft()
            rel = t - self._t0
            if kind == "in":
                try:
                    raw = [int(b) & 0xFF for b in payload]
                except (TypeError, ValueError):
                    continue
                self._raw.append((rel, raw))
                lines.append(f"in {rel:.6f} {bytes(raw).hex()}\n")
            else:
                ev: NoteEvent = payload
                lines.append(f"{kind} {rel:.6f} {ev.pitch} {ev.velocity} {ev.part} {ev.channel}\n")
                self._fold(kind == "on", rel, ev.pitch, ev.velocity, ev.part, ev.channel)
        if lines:
            self._journal.write("".join(lines))
            self._journal.flush()
            os.fsync(self._journal.fileno())

    def _fold(self, on: bool, t: float, pitch: int, vel: int, part: int, ch: int) -> None:
        if on:
            self._open[(ch, pitch)] = (t, vel, part)
        elif (ch, pitch) in self._open:
            start, v, p = self._open.pop((ch, pitch))
            self._notes.append((start, t, pitch, v, p))

    def _write_midi(self) -> None:
        end = max([n[1] for n in self._notes] + [r[0] for r in self._raw] + [0.0])
        still_open = [(s, end, pitch, v, p) for (_, pitch), (s, v, p) in self._open.items()]
        write_take(self.take, self.ensemble, self._raw, self._notes + still_open)

    def stop(self) -> Path:
        """Flush everything and write the final MIDI files."""
        self._stop.set()
        self._thread.join(5)
        self._drain()
        self._write_midi()
        self._journal.close()
        for lst, fn in ((self.performer.raw_listeners, self._on_raw),
                        (self.performer.listeners, self._on_note)):
            if fn in lst:
                lst.remove(fn)
        return self.take


def _atomic(path: Path, write) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    write(tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_take(take: Path, ensemble: Ensemble, raw: list[tuple[float, list[int]]],
               notes: list[tuple[float, float, int, int, int]]) -> None:
    """Write ``input.mid`` and ``arranged.mid`` of a take, each atomically."""

    def write_input(path: Path) -> None:
        mid = mido.MidiFile(ticks_per_beat=480)
        track = mido.MidiTrack([mido.MetaMessage("track_name", name="keyboard")])
        mid.tracks.append(track)
        last = 0
        for t, data in raw:
            try:
                msg = mido.Message.from_bytes(data)
            except (ValueError, TypeError, IndexError):
                continue  # garbage was received, and is kept in the journal only
            if msg.type == "sysex":
                continue
            tick = int(round(mido.second2tick(t, 480, 500000)))
            msg.time = max(0, tick - last)
            last = max(last, tick)
            track.append(msg)
        mid.save(str(path))

    def write_arranged(path: Path) -> None:
        parts = ensemble.parts
        write_parts(path, [p.name for p in parts], [p.program for p in parts],
                    [p.channel for p in parts], notes)

    _atomic(take / "input.mid", write_input)
    _atomic(take / "arranged.mid", write_arranged)


def read_journal(take: str | os.PathLike):
    """(ensemble name, raw input, notes) from a take's journal; torn last lines are skipped."""
    path = Path(take) / "journal.txt"
    with untrusted(path, "take journal"):
        text = path.read_text(errors="replace")
    name, raw, notes, open_ = "", [], [], {}
    end = 0.0
    for line in text.splitlines():
        f = line.split()
        try:
            if line.startswith("# ensemble"):
                name = f[2]
            elif f[0] == "in":
                t, data = _journal_time(f[1]), list(bytes.fromhex(f[2]))
                raw.append((t, data))
                end = max(end, t)
            elif f[0] in ("on", "off"):
                t, pitch, vel, part, ch = _journal_time(f[1]), int(f[2]), int(f[3]), int(f[4]), \
                    int(f[5])
                if not (0 <= pitch < 128 and 0 <= vel < 128 and 0 <= part < 16 and 0 <= ch < 16):
                    raise ValueError("a note out of the MIDI range")
                end = max(end, t)
                if f[0] == "on":
                    open_[(ch, pitch)] = (t, vel, part)
                elif (ch, pitch) in open_:
                    s, v, p = open_.pop((ch, pitch))
                    notes.append((s, t, pitch, v, p))
        except (IndexError, ValueError):
            continue  # the line being written when the power went
    notes += [(s, end, pitch, v, p) for (_, pitch), (s, v, p) in open_.items()]
    return name, raw, notes


def _journal_time(field: str) -> float:
    """Seconds from the take's start; a journal line with another time is damaged."""
    t = float(field)
    if not 0.0 <= t < 1e6:  # also NaN and inf
        raise ValueError(f"time {field} out of range")
    return t


def recover(take: str | os.PathLike) -> tuple[int, int]:
    """Rebuild a take's MIDI files from its journal. Returns (raw messages, notes).

    InstrumentError (and nothing is written) when no line of the journal can be read:
    a damaged or foreign file holds nothing to recover.
    """
    from instrument.ensemble import available_ensembles, load_ensemble

    name, raw, notes = read_journal(take)
    if not raw and not notes:
        raise InstrumentError(f"{Path(take) / 'journal.txt'} holds nothing recoverable "
                              "(no readable note or input line)")  # fmt: skip
    # The journal names the ensemble; only a built-in one is loaded by that name (an
    # untrusted file may name anything), else the default's parts name the tracks.
    ensemble = load_ensemble(name if name in available_ensembles() else "quartet")
    write_take(Path(take), ensemble, raw, notes)
    return len(raw), len(notes)
