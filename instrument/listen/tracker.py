"""The listener: audio blocks in, beats, bars, tempo, chords and key out, causally.

``Listener.process(block)`` is the one entry point, the same for a live input stream and
for a file read block by block. It returns the events decided by the end of the block,
and keeps a snapshot that other threads read through the beat-clock interface
(``state(now)``) and ``chord``. All state is fixed in size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from instrument.listen.beat import BeatTracker
from instrument.listen.chord import ChordModel, ChordTracker, KeyTracker
from instrument.listen.features import FrameFeatures
from instrument.listen.meter import MeterTracker
from instrument.paths import MODELS
from instrument.timing import BeatState

CHORD_MODEL = MODELS / "listen_chords.json"


@dataclass(frozen=True, slots=True)
class BeatEvent:
    """A beat: time (s), position in the bar (1 = downbeat), bar number (from 1), tempo."""

    t: float
    beat: int
    bar: int
    bpm: float
    beats_per_bar: int
    confidence: float

    def to_json(self) -> dict:
        return {"t": round(self.t, 3), "beat": self.beat, "bar": self.bar,
                "bpm": round(self.bpm, 1)}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ChordEvent:
    """The chord from time ``t`` (s) on; ``key`` is the key believed at that moment."""

    t: float
    chord: str
    key: str

    def to_json(self) -> dict:
        return {"t": round(self.t, 3), "chord": self.chord}


@dataclass(frozen=True, slots=True)
class _Snapshot:
    last_beat_time: float
    beat: float  # beat number of the last beat, counted from the first downbeat
    period: float
    beats_per_bar: int
    confidence: float
    chord: str
    key: str


class Listener:
    """Causal beat, downbeat, tempo, meter, chord and key tracking for one input.

    sample_rate: Hz of the blocks passed to ``process``. time_origin: added to every
    time reported, so a live caller can put events on its own clock. chord_model: a
    path to fitted chord weights; the shipped ``models/listen_chords.json`` if present,
    else hand-made templates.
    """

    def __init__(self, sample_rate: float, fps: float = 100.0, time_origin: float = 0.0,
                 chord_model: str | Path | None = None, **beat_options: float):  # fmt: skip
        self.sample_rate = float(sample_rate)
        self.features = FrameFeatures(sample_rate, fps)
        self.fps = self.features.fps
        self.beats = BeatTracker(self.fps, onset_delay=self.features.n_onset / 2 / sample_rate,
                                 **beat_options)  # fmt: skip
        self.meter = MeterTracker()
        path = Path(chord_model) if chord_model else CHORD_MODEL
        model = ChordModel.load(path) if path.is_file() else ChordModel.templates()
        self.chords = ChordTracker(model)
        self.key = KeyTracker(self.fps)
        self.time_origin = float(time_origin)
        self.reset()

    def reset(self) -> None:
        for part in (self.features, self.beats, self.meter, self.chords, self.key):
            part.reset()
        self._bar = 0
        self._beat_count = -1.0  # beats since the first downbeat, at the last beat
        self._seen_downbeat = False
        self._snapshot = _Snapshot(-math.inf, 0.0, 0.5, 4, 0.0, "N", "N")

    @property
    def time(self) -> float:
        """Audio time consumed so far (s), on the listener's clock."""
        return self.features.frames_done / self.fps + self.time_origin

    def process(self, block: np.ndarray) -> list[BeatEvent | ChordEvent]:
        """Feed audio (frames,) or (frames, channels) at ``sample_rate``; events decided."""
        fr = self.features.process(block)
        n = len(fr.time)
        if n == 0:
            return []
        t = fr.time + self.time_origin
        beats = self.beats.process(fr.onset, t)
        events: list[BeatEvent | ChordEvent] = []
        # Frames are handed to the meter and chord trackers in runs between beats, so
        # each sees the beats announced by then and nothing later.
        cuts = [int(np.searchsorted(t, b.time + 1e-9)) for b in beats]
        start = 0
        last_beat = np.empty(n)
        for b, cut in zip([None, *beats], [*cuts, n], strict=True):
            if b is not None:
                pos = self.meter.on_beat(b.time)
                m = self.meter.beats_per_bar
                if pos == 0:
                    if self._seen_downbeat:
                        self._bar += 1
                    self._seen_downbeat = True
                self._beat_count = self._bar * m + pos if self._seen_downbeat else -1.0
                events.append(BeatEvent(b.time, pos + 1, self._bar + 1, b.bpm, m, b.confidence))
            seg = slice(start, max(cut, start))
            self.meter.add_frames(t[seg], fr.chroma[seg], fr.bass_chroma[seg], fr.bass_onset[seg])
            start = max(cut, start)
        # For chord gating, each frame sees the latest beat announced up to its time.
        beat_times = np.array([b.time for b in beats])
        prior_beat = self._snapshot.last_beat_time
        for k in range(n):
            j = np.searchsorted(beat_times, t[k], side="right") - 1
            last_beat[k] = beat_times[j] if j >= 0 else prior_beat
        self.key.process(fr.chroma, fr.bass_chroma)
        for tc, label in self.chords.process(fr.chroma, fr.bass_chroma, t, last_beat,
                                             self.key.chord_prior()):  # fmt: skip
            events.append(ChordEvent(tc, label, self.key.label))
        events.sort(key=lambda e: e.t)
        self._snapshot = _Snapshot(
            last_beat_time=self.beats.last_beat_time,
            beat=self._beat_count,
            period=self.beats.period,
            beats_per_bar=self.meter.beats_per_bar,
            confidence=self.beats.confidence,
            chord=self.chords.label,
            key=self.key.label,
        )
        return events

    # -- what the rest of the app reads (any thread) ---------------------------------------
    def state(self, now: float) -> BeatState:
        """The beat clock: musical position at ``now`` (seconds on the listener's clock)."""
        s = self._snapshot
        if not math.isfinite(s.last_beat_time):
            return BeatState(60.0 / s.period, 0.0, s.beats_per_bar, now + s.period, 0.0)
        since = max(now - s.last_beat_time, 0.0)
        n_ahead = math.floor(since / s.period)
        beat = max(s.beat, 0.0) + since / s.period
        next_beat = s.last_beat_time + (n_ahead + 1) * s.period
        return BeatState(60.0 / s.period, beat, s.beats_per_bar, next_beat, s.confidence)

    @property
    def chord(self) -> str:
        """The current chord label (``N``, ``C:maj``, ``A:min``, ...)."""
        return self._snapshot.chord

    @property
    def key_label(self) -> str:
        return self._snapshot.key
