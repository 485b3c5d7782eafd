"""Recording every take as it is played, so that a crash or power cut loses at most a second.

A take is a folder ``DIR/take-YYYYmmdd-HHMMSS/`` with:

- ``journal.txt``: append-only, one line per event, flushed and fsynced every 0.25 s:
  ``in <t> <hex bytes>`` for raw input, ``on|off <t> <pitch> <velocity> <part> <channel>``
  for the arranged notes (t in seconds from the take's start);
- ``input.mid`` (the raw keyboard stream) and ``arranged.mid`` (a named track per part),
  rewritten atomically every second, and once more at a clean stop, under the tempo map
  the recorder is given (the played file's, a clock's; else 120 BPM);
- ``take.wav`` (with ``audio_from``): the take as audio at the live sample rate, 32-bit
  float, appended to and its header rewritten and fsynced every 0.25 s.

The audio is not captured from the audio thread: the recorder is one more output of the
performer (``live.outputs``), and its own FluidSynth renders exactly the calls the live
synth got, each at its sample, in the writer thread (``TakeAudio``). Nothing runs in JACK's
process callback, it works with ``--audio none`` (for a rig on ``--midi-out``) and it
cannot be torn by an xrun; it lags the live sound by ``AUDIO_LAG``.

The MIDI thread only appends to deques; a writer thread does all file work.
``read_journal`` and ``recover`` rebuild both MIDI files from the journal after a crash.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from pathlib import Path

import mido
import numpy as np

from instrument.ensemble import Ensemble
from instrument.errors import InstrumentError, untrusted
from instrument.input.midifile import Conductor, TickClock, conductor_track, write_parts
from instrument.live.outputs import PartOutputs
from instrument.live.performer import NoteEvent, Performer
from instrument.synth.base import SynthPort
from instrument.synth.fluid import Synth

SYNC_EVERY = 0.25  # seconds between journal fsyncs
MIDI_EVERY = 1.0  # seconds between MIDI file rewrites
AUDIO_LAG = 0.2  # the take's audio is rendered this far behind now: events still in flight
AUDIO_TAIL = 1.5  # seconds of release rendered after the take stops


class Recorder:
    """Writes a take (module doc). conductor: the tempo map of its MIDI files, times from
    the take's start. audio_from: the session's outputs, to write ``take.wav`` too (with
    ``soundfont``, ``sample_rate`` and ``gain`` as live)."""

    def __init__(
        self,
        directory: str | os.PathLike,
        performer: Performer,
        conductor: Conductor | None = None,
        audio_from: PartOutputs | None = None,
        soundfont: str | os.PathLike | None = None,
        sample_rate: int = 48000,
        gain: float = 0.6,
    ):
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
        self.conductor = conductor
        self._journaled = 0  # entries of the conductor already in the journal
        self._t0 = self.t0 = performer.clock()  # the take's time 0, on the performer's clock
        self._outputs = audio_from
        self.audio: TakeAudio | None = None
        if audio_from is not None:
            if soundfont is None:
                raise InstrumentError("recording audio needs the SoundFont it is played with")
            wav = self.take / "take.wav"
            self.audio = TakeAudio(
                wav, soundfont, sample_rate, gain, self.ensemble, self._t0, performer.clock
            )
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
        self._journal.write("".join(self._conductor_lines()))
        self.performer.raw_listeners.append(self._on_raw)
        self.performer.add_listener(self._on_note)
        if self.audio is not None:
            self._outputs.add(self.audio)
        self._thread.start()

    def _run(self) -> None:
        if self.audio is not None:
            # The take's audio is a second synth's work: on a busy machine the live audio
            # thread must win the CPU, the recording can lag (it never loses events).
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
            except (OSError, AttributeError):
                pass
        last_midi = 0.0
        while not self._stop.wait(SYNC_EVERY):
            self._drain()
            if self.audio is not None:
                self.audio.render_until(self.performer.clock() - AUDIO_LAG)
            now = time.monotonic()
            if now - last_midi >= MIDI_EVERY:
                self._write_midi()
                last_midi = now

    def _conductor_lines(self) -> list[str]:
        """Journal lines for the tempo map's entries not yet journaled: a clock that follows
        tap tempo or the room appends to the conductor while the take runs, and a recovery
        must keep those changes too."""
        lines = []
        for t, msg in (self.conductor or [])[self._journaled :]:
            if msg.type == "set_tempo":
                lines.append(f"# tempo {t:.6f} {msg.tempo}\n")
            elif msg.type == "time_signature":
                lines.append(f"# meter {t:.6f} {msg.numerator} {msg.denominator}\n")
            self._journaled += 1
        return lines

    def _drain(self) -> None:
        lines = self._conductor_lines()
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
                if ev.revision and not ev.on:  # moved to another part: it goes on there
                    self._open.pop((ev.channel, ev.pitch), None)
                else:
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
        write_take(
            self.take, self.ensemble, self._raw, self._notes + still_open, conductor=self.conductor
        )

    def stop(self) -> Path:
        """Flush everything and write the final MIDI files (and the audio's last part)."""
        self._stop.set()
        self._thread.join(5)
        if self.audio is not None:
            self._outputs.remove(self.audio)
        self._drain()
        self._write_midi()
        self._journal.close()
        if self.audio is not None:
            self.audio.finish(self.performer.clock())
        for lst, fn in (
            (self.performer.raw_listeners, self._on_raw),
            (self.performer.listeners, self._on_note),
        ):
            if fn in lst:
                lst.remove(fn)
        return self.take


class TakeAudio(SynthPort):
    """The take as audio: a ``SynthPort`` whose calls are logged in the MIDI thread and
    played on a FluidSynth of its own in the writer thread, each at its sample (``t`` on
    the performer's clock, from ``t0``), into ``path`` (``WavWriter``)."""

    def __init__(
        self,
        path: Path,
        soundfont: str | os.PathLike,
        sample_rate: int,
        gain: float,
        ensemble: Ensemble,
        t0: float,
        clock,
    ):
        self.synth = Synth(soundfont, sample_rate=sample_rate, gain=gain)
        self.synth.set_ensemble(ensemble)
        self.ensemble: Ensemble | None = ensemble
        self.sample_rate = sample_rate
        self._clock, self._t0 = clock, t0
        self._events: deque[tuple] = deque()
        self._frame = 0  # frames written so far
        try:
            self._wav = WavWriter(path, sample_rate)
        except OSError as e:
            self.synth.close()
            raise InstrumentError(f"cannot record audio into {path}: {e.strerror}") from None

    @property
    def path(self) -> Path:
        """The WAV file the take's audio goes into."""
        return Path(self._wav.path)

    # -- SynthPort (MIDI thread and main thread): one tuple into the log -------------------
    def set_ensemble(self, ensemble: Ensemble) -> None:
        self._events.append((self._clock(), "ensemble", ensemble))

    def noteon(self, channel: int, pitch: int, velocity: int) -> None:
        self._events.append((self._clock(), "noteon", channel, pitch, velocity))

    def noteoff(self, channel: int, pitch: int) -> None:
        self._events.append((self._clock(), "noteoff", channel, pitch))

    def cc(self, channel: int, control: int, value: int) -> None:
        self._events.append((self._clock(), "cc", channel, control, value))

    def pitch_bend(self, channel: int, value14: int) -> None:
        self._events.append((self._clock(), "pitch_bend", channel, value14))

    def program(self, channel: int, program: int) -> None:
        self._events.append((self._clock(), "program", channel, program))

    def panic(self) -> None:
        self._events.append((self._clock(), "panic"))

    def use_soundfont(self, soundfont: str | os.PathLike) -> None:
        self._events.append((self._clock(), "soundfont", soundfont))

    # -- writer thread -----------------------------------------------------------------------
    def render_until(self, t: float) -> None:
        """Play every logged call up to time ``t`` at its sample, write, and sync the file."""
        while self._events and self._events[0][0] <= t:
            event = self._events.popleft()
            self._advance(self._frame_at(event[0]))
            self._apply(event)
        self._advance(self._frame_at(t))
        self._wav.sync()

    def finish(self, t: float) -> None:
        """The rest of the log up to ``t``, then the release tail; closes the file."""
        self._events.append((t, "panic"))
        self.render_until(t)
        self._advance(self._frame + int(AUDIO_TAIL * self.sample_rate))
        self._wav.close()
        self.synth.close()

    def _frame_at(self, t: float) -> int:
        return int(round((t - self._t0) * self.sample_rate))

    def _advance(self, frame: int) -> None:
        while self._frame < frame:  # a late call plays at the current sample
            n = min(frame - self._frame, self.sample_rate)
            self._wav.write(self.synth.render(n))
            self._frame += n

    def _apply(self, event: tuple) -> None:
        kind, args = event[1], event[2:]
        if kind == "ensemble":
            self.synth.set_ensemble(*args)
        elif kind == "soundfont":
            self.synth.preload(*args)
            self.synth.use_soundfont(*args)
        elif kind == "panic":
            self.synth.panic()
        elif kind == "noteon":
            self.synth.noteon(*args)
        elif kind == "noteoff":
            self.synth.noteoff(*args)
        elif kind == "cc":
            self.synth.cc(*args)
        elif kind == "pitch_bend":
            self.synth.pitch_bend(*args)
        elif kind == "program":
            self.synth.program(*args)


class WavWriter:
    """A stereo 32-bit float WAV that grows: after each ``sync`` its header holds the
    frames written so far and the file is on disk, so a crash leaves a valid WAV of
    everything before the last sync."""

    def __init__(self, path: Path, sample_rate: int, channels: int = 2):
        self.path, self.sample_rate, self.channels = path, sample_rate, channels
        self._f = open(path, "w+b")  # noqa: SIM115 - kept open for the take
        self._bytes = 0
        self._f.write(self._header())

    def _header(self) -> bytes:
        import struct

        block = 4 * self.channels
        return b"".join((
            b"RIFF", struct.pack("<I", 36 + self._bytes), b"WAVE",
            b"fmt ", struct.pack("<IHHIIHH", 16, 3, self.channels, self.sample_rate,
                                 self.sample_rate * block, block, 32),
            b"data", struct.pack("<I", self._bytes),
        ))  # fmt: skip

    def write(self, audio: np.ndarray) -> None:
        data = np.ascontiguousarray(audio, dtype="<f4").tobytes()
        self._f.seek(0, os.SEEK_END)
        self._f.write(data)
        self._bytes += len(data)

    def sync(self) -> None:
        self._f.seek(0)
        self._f.write(self._header())
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        if not self._f.closed:
            self.sync()
            self._f.close()


def _atomic(path: Path, write) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    write(tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_take(
    take: Path,
    ensemble: Ensemble,
    raw: list[tuple[float, list[int]]],
    notes: list[tuple[float, float, int, int, int]],
    conductor: Conductor | None = None,
) -> None:
    """Write ``input.mid`` and ``arranged.mid`` of a take, each atomically, under the
    tempo map ``conductor`` (default 120 BPM)."""

    def write_input(path: Path) -> None:
        mid = mido.MidiFile(ticks_per_beat=480)
        clock = TickClock(conductor or [], 480)
        if conductor:
            mid.tracks.append(conductor_track(conductor, clock))
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
            tick = clock.ticks(t)
            msg.time = max(0, tick - last)
            last = max(last, tick)
            track.append(msg)
        mid.save(str(path))

    def write_arranged(path: Path) -> None:
        parts = ensemble.parts
        write_parts(
            path,
            [p.name for p in parts],
            [p.program for p in parts],
            [p.channel for p in parts],
            notes,
            conductor=conductor,
        )

    _atomic(take / "input.mid", write_input)
    _atomic(take / "arranged.mid", write_arranged)


def read_conductor(take: str | os.PathLike) -> Conductor:
    """The tempo map a take's journal names (``# tempo`` / ``# meter`` lines), for
    ``write_take``; lines that do not parse are skipped (the file is untrusted)."""
    path = Path(take) / "journal.txt"
    with untrusted(path, "take journal"):
        text = path.read_text(errors="replace")
    conductor: Conductor = []
    for line in text.splitlines():
        f = line.split()
        try:
            if f[:2] == ["#", "tempo"] and len(f) == 4:
                t, tempo = _journal_time(f[2]), int(f[3])
                if 1 <= tempo < 1 << 24:  # what a MIDI file can hold
                    conductor.append((t, mido.MetaMessage("set_tempo", tempo=tempo)))
            elif f[:2] == ["#", "meter"] and len(f) == 5:
                t, num, den = _journal_time(f[2]), int(f[3]), int(f[4])
                if 1 <= num <= 64 and den in (1, 2, 4, 8, 16, 32):
                    conductor.append(
                        (t, mido.MetaMessage("time_signature", numerator=num, denominator=den))
                    )
        except ValueError:
            continue
    return conductor


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
                t, pitch, vel, part, ch = (
                    _journal_time(f[1]),
                    int(f[2]),
                    int(f[3]),
                    int(f[4]),
                    int(f[5]),
                )
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
    """Rebuild a take's MIDI files from its journal, in the tempo map the journal names.
    Returns (raw messages, notes).

    InstrumentError (and nothing is written) when no line of the journal can be read:
    a damaged or foreign file holds nothing to recover.
    """
    from instrument.ensemble import available_ensembles, load_ensemble

    name, raw, notes = read_journal(take)
    if not raw and not notes:
        raise InstrumentError(
            f"{Path(take) / 'journal.txt'} holds nothing recoverable "
            "(no readable note or input line)"
        )
    # The journal names the ensemble; only a built-in one is loaded by that name (an
    # untrusted file may name anything), else the default's parts name the tracks.
    ensemble = load_ensemble(name if name in available_ensembles() else "quartet")
    write_take(Path(take), ensemble, raw, notes, conductor=read_conductor(take))
    return len(raw), len(notes)
