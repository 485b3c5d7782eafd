"""The practice engine: a chart, a clock and the notes played in; feedback per chord out.

A pure processor (madmom style): it never reads a clock or a device. The caller feeds
note events with their times (seconds on any monotonic clock) and calls ``process(now)``
regularly; every call returns the events that became due: metronome ``Click``s to sound
and ``ChordResult``s to show and store. The live command and the tests drive the same
object, the first from a MIDI port and ``time.monotonic()``, the second from a script.

Timeline. After ``count_in_bars`` bars of clicks, the chart (or the looped section, played
``loops`` times) follows at ``chart.tempo * tempo_scale``. Each chord of the chart is a
*target*. A *strike* is the group of notes whose onsets fall within ``strike_window``
seconds of its first note; what was played is those notes plus any still held when the
strike settles. A strike counts for the target whose window contains its onset: from
``early_beats`` (at most half the previous chord) before the chord is due up to the same
point before the next chord. Only the first strike is judged; a target with no strike is
``missed`` when its window closes. Timing error = onset - due time (negative = early).

Correct means every required tone of the chord sounds (the plain fifth may be left out),
nothing else does, and for a slash chord the bass is the lowest note. Inversions of a
plain chord are accepted (``strict_bass`` makes them wrong).

Wait mode: when a chord falls due and has not been played right, the chart stops there
(no clicks) until it is; every wrong strike gives a result, the right one moves on, the
chart resuming from that moment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from instrument.harmony.chart import Chart
from instrument.harmony.chords import NO_CHORD, PITCH_NAMES, Chord
from instrument.harmony.naming import name_chord


@dataclass(frozen=True)
class Target:
    """One chord to play. ``index`` counts targets in the session; ``span`` indexes
    ``chart.spans``; ``start``/``end`` are timeline beats (count-in included)."""

    index: int
    span: int
    loop: int
    chord: Chord
    start: float
    end: float
    bar: int


@dataclass(frozen=True)
class Click:
    """A metronome click to sound at ``time`` (seconds); ``accent`` on a bar's first beat."""

    time: float
    beat: int
    accent: bool
    count_in: bool


@dataclass(frozen=True)
class ChordResult:
    """The verdict on one target (or, in wait mode, on one attempt at it).

    played: MIDI pitches heard, low to high (empty when missed). missing / extra: pitch
    classes. timing_ms: onset minus due time (None when missed). final: the last result
    for this target (always True outside wait mode). time: when it was decided.
    """

    target: Target
    played: tuple[int, ...]
    played_chord: Chord | None
    correct: bool
    missing: frozenset[int]
    extra: frozenset[int]
    timing_ms: float | None
    attempt: int
    final: bool
    time: float
    close: bool = False  # not right, but nearly: only colour tones missing (``close_call``)

    @property
    def missed(self) -> bool:
        return not self.played

    @property
    def credit(self) -> float:
        """Points for the score: 1 right, half for a close call, else 0."""
        return 1.0 if self.correct else (CLOSE_CREDIT if self.close else 0.0)


CLOSE_CREDIT = 0.5


def close_call(chord: Chord, pitches: tuple[int, ...]) -> bool:
    """Whether a wrong chord is nearly right: nothing extra sounds, the root and the third
    (when the chord has one) do, and only colour tones are missing (a Dm triad for Dm7:
    "close: add C"). A missing third or root changes what the chord is: not close."""
    pcs = frozenset(p % 12 for p in pitches)
    if not pcs or chord.root is None or pcs - chord.pitch_classes:
        return False
    missing = chord.required_pitch_classes - pcs
    core = {chord.root} | {
        (chord.root + i) % 12 for i in (3, 4) if (chord.root + i) % 12 in chord.pitch_classes
    }
    return bool(missing) and core <= pcs


def mistakes(r: ChordResult) -> str:
    """What was wrong with a chord that is not right: missing and extra notes, or the bass;
    a close call says what to add."""
    if r.close:
        return "close: add " + " ".join(PITCH_NAMES[p] for p in sorted(r.missing))
    parts = []
    if r.missing:
        parts.append("missing " + " ".join(PITCH_NAMES[p] for p in sorted(r.missing)))
    if r.extra:
        parts.append("extra " + " ".join(PITCH_NAMES[p] for p in sorted(r.extra)))
    if not parts:
        parts.append(f"bass should be {PITCH_NAMES[r.target.chord.bass_pc]}")
    return ", ".join(parts)


@dataclass(frozen=True)
class Position:
    """Where the session is: for a display. ``beat`` on the timeline (negative never);
    ``current`` / ``following`` targets (None outside the chart); ``waiting`` in wait mode."""

    beat: float
    counting_in: bool
    current: Target | None
    following: Target | None
    waiting: bool


@dataclass
class _Strike:
    onset: float
    target: Target | None
    pitches: set[int] = field(default_factory=set)


def judge(chord: Chord, pitches: tuple[int, ...], strict_bass: bool = False):
    """(correct, missing pitch classes, extra pitch classes) of ``pitches`` for ``chord``."""
    pcs = frozenset(p % 12 for p in pitches)
    missing = chord.required_pitch_classes - pcs
    extra = pcs - chord.pitch_classes
    bass_ok = True
    if pitches and (chord.bass is not None or strict_bass):
        bass_ok = min(pitches) % 12 == chord.bass_pc
    return (not missing and not extra and bass_ok and bool(pcs)), missing, extra


HEARD_LAG = 1.0  # s: how long after a chord's window a heard chord may still arrive
# s: a heard strike settles this long after the listener first names it: the listener may
# correct its first word (D, then Dm) while a chord's onset is still ringing in
HEARD_WINDOW = 0.3


def triad_of(chord: Chord) -> frozenset[int]:
    """The major or minor triad a listener's vocabulary reduces ``chord`` to (pitch classes).

    Minor if the chord has a minor third and no major third (m, m7, dim, m7b5, ...), else
    major (maj, 7, sus, aug, ...): the majmin reduction of chord-recognition evaluations.
    """
    pcs = {(pc - chord.root) % 12 for pc in chord.pitch_classes}
    third = 3 if 3 in pcs and 4 not in pcs else 4
    return frozenset({chord.root, (chord.root + third) % 12, (chord.root + 7) % 12})


def judge_heard(chord: Chord, pitches: tuple[int, ...]):
    """``judge`` for chords heard through the listener, which names only major and minor
    triads: right when the heard triad is the target's majmin reduction."""
    pcs = frozenset(p % 12 for p in pitches)
    want = triad_of(chord)
    return pcs == want, want - pcs, pcs - want


class PracticeEngine:
    def __init__(
        self,
        chart: Chart,
        *,
        tempo_scale: float = 1.0,
        section: tuple[int, int] | None = None,
        loops: int = 1,
        wait: bool = False,
        count_in_bars: int = 1,
        metronome: bool = True,
        strike_window: float = 0.1,
        early_beats: float = 0.5,
        strict_bass: bool = False,
        heard: bool = False,
    ):
        """``section``: bars (first, end exclusive) to practise, looped ``loops`` times.

        heard: chords come from the listener (triads), judged by ``judge_heard``; a chord
        is declared missed only ``HEARD_LAG`` s after its window closed, since the listener
        names a chord some time after it began to sound (and dates it back), and a strike
        settles ``HEARD_WINDOW`` s after it is first named (the listener's second word on
        a chord's onset counts).
        """
        self.heard = heard
        self.decision_lag = HEARD_LAG if heard else 0.0
        if heard:
            strike_window = max(strike_window, HEARD_WINDOW)
        if tempo_scale <= 0 or loops < 1 or count_in_bars < 0:
            raise ValueError("tempo_scale > 0, loops >= 1 and count_in_bars >= 0")
        self.chart = chart
        self.tempo = chart.tempo * tempo_scale
        self.seconds_per_beat = 60.0 / self.tempo
        self.wait = wait
        self.metronome = metronome
        self.strike_window = strike_window
        self.strict_bass = strict_bass
        first, end = section if section is not None else (0, len(chart.bars))
        if not 0 <= first < end <= len(chart.bars):
            raise ValueError(f"section bars {first}-{end} outside the chart")
        bpb = chart.beats_per_bar
        self.count_in_beats = count_in_bars * bpb
        length = (end - first) * bpb
        self.targets: list[Target] = []
        for loop in range(loops):
            offset = self.count_in_beats + loop * length - first * bpb
            for i, span in enumerate(chart.spans):
                # a chord held into the section from before it is struck at its start
                lo, hi = max(span.start, first * bpb), min(span.end, end * bpb)
                if lo < hi and span.chord != NO_CHORD:
                    self.targets.append(
                        Target(
                            len(self.targets),
                            i,
                            loop,
                            span.chord,
                            lo + offset,
                            hi + offset,
                            max(span.bar, first),
                        )
                    )
        self.end_beat = self.count_in_beats + loops * length
        # windows[k]: the timeline beat from which a strike counts for target k
        self.opens = []
        for k, t in enumerate(self.targets):
            prev = self.targets[k - 1].start if k else t.start - 2 * early_beats
            self.opens.append(t.start - min(early_beats, (t.start - prev) / 2))
        self.reset()

    # ---------------------------------------------------------------- state

    def reset(self) -> None:
        self.origin: float | None = None  # time of timeline beat 0
        self.frozen_at: float | None = None  # timeline beat where wait mode holds
        self.next_click = 0
        self.next_unjudged = 0  # targets before this one have a final result
        self.resolved: dict[int, bool] = {}  # target index -> decided (final result given)
        self.attempts: dict[int, int] = {}
        self.held: dict[int, float] = {}
        self.strike: _Strike | None = None
        self.results: list[ChordResult] = []
        self.finished = False

    def start(self, now: float) -> None:
        """Begin the count-in at ``now``."""
        self.reset()
        self.origin = now

    def beat(self, now: float) -> float:
        """Timeline beat at ``now`` (held still while wait mode waits)."""
        if self.origin is None:
            return 0.0
        if self.frozen_at is not None:
            return self.frozen_at
        return max(0.0, (now - self.origin) / self.seconds_per_beat)

    def time_of(self, beat: float) -> float:
        return self.origin + beat * self.seconds_per_beat

    def _target_for(self, beat: float) -> Target | None:
        k = None
        for i in range(self.next_unjudged, len(self.targets)):
            if self.opens[i] <= beat:
                k = i
            else:
                break
        if k is None or k in self.resolved:
            return None
        if not self.wait and k + 1 < len(self.targets) and beat >= self.opens[k + 1]:
            return None
        return self.targets[k]

    def position(self, now: float) -> Position:
        b = self.beat(now)
        cur = next((t for t in self.targets if t.start <= b < t.end), None)
        nxt = next((t for t in self.targets if t.start > b), None)
        return Position(b, b < self.count_in_beats, cur, nxt, self.frozen_at is not None)

    # ---------------------------------------------------------------- input

    def note_on(self, pitch: int, velocity: int, now: float) -> list:
        """A key went down at ``now``; velocity 0 is a note-off (running status)."""
        if velocity == 0:
            return self.note_off(pitch, now)
        out = self.process(now)
        self.held[pitch] = now
        if self.origin is None or self.finished:
            return out
        if self.strike is None:
            self.strike = _Strike(now, self._target_for(self.beat(now)))
        self.strike.pitches.add(pitch)
        return out

    def note_off(self, pitch: int, now: float) -> list:
        out = self.process(now)
        self.held.pop(pitch, None)
        return out

    # ---------------------------------------------------------------- clock

    def process(self, now: float) -> list:
        """Everything due by ``now``: Clicks, ChordResults, in time order."""
        out: list = []
        if self.origin is None or self.finished:
            return out
        if self.strike is not None and now >= self.strike.onset + self.strike_window:
            out += self._settle(self.strike.onset + self.strike_window)
        b = self.beat(now)
        # wait mode: hold the chart at a chord not yet played right
        if self.wait and self.frozen_at is None and self.next_unjudged < len(self.targets):
            t = self.targets[self.next_unjudged]
            if b >= t.start:
                self.frozen_at = t.start
                b = t.start
        # missed chords: their window has closed without a strike
        b_missed = min(b, self.beat(now - self.decision_lag))
        while self.next_unjudged < len(self.targets) and not self.wait:
            k = self.next_unjudged
            closes = self.opens[k + 1] if k + 1 < len(self.targets) else self.end_beat
            if k in self.resolved:
                self.next_unjudged += 1
            elif b_missed >= closes and (
                self.strike is None or self.strike.target is not self.targets[k]
            ):
                # _result marks it final and moves next_unjudged on
                out.append(self._result(self.targets[k], (), None, self.time_of(closes)))
            else:
                break
        while self.metronome and self.next_click < self.end_beat and self.next_click <= b:
            if self.frozen_at is not None and self.next_click > self.frozen_at:
                break
            n = self.next_click
            bpb = self.chart.beats_per_bar
            out.append(Click(self.time_of(n), n, n % bpb == 0, n < self.count_in_beats))
            self.next_click += 1
        if b >= self.end_beat and self.next_unjudged >= len(self.targets) and self.strike is None:
            self.finished = True
        out.sort(key=lambda e: e.time)
        return out

    def _settle(self, at: float) -> list:
        strike, self.strike = self.strike, None
        target = strike.target
        if target is None or target.index in self.resolved:
            return []
        if self.heard and self.held:  # the listener's last word within the window counts
            played = tuple(sorted(self.held))
        else:
            played = tuple(sorted(strike.pitches | set(self.held)))
        result = self._result(target, played, strike.onset, at)
        if self.wait and result.correct and self.frozen_at is not None:
            # resume the chart from the moment the right chord was struck
            self.origin = strike.onset - self.frozen_at * self.seconds_per_beat
            self.frozen_at = None
        return [result]

    def _result(self, target: Target, played: tuple[int, ...], onset, at: float) -> ChordResult:
        if self.heard:
            correct, missing, extra = judge_heard(target.chord, played)
        else:
            correct, missing, extra = judge(target.chord, played, self.strict_bass)
        if not played:
            missing = target.chord.required_pitch_classes
        timing = None if onset is None else (onset - self.time_of(target.start)) * 1000.0
        if self.wait and onset is not None and self.frozen_at is not None:
            timing = (onset - self.time_of(self.frozen_at)) * 1000.0
        self.attempts[target.index] = self.attempts.get(target.index, 0) + 1
        final = correct or not self.wait
        if final:
            self.resolved[target.index] = True
            while self.next_unjudged in self.resolved:
                self.next_unjudged += 1
        result = ChordResult(
            target=target,
            played=played,
            played_chord=name_chord(played) if played else None,
            correct=correct,
            missing=frozenset(missing),
            extra=frozenset(extra),
            timing_ms=None if timing is None else round(timing, 1),
            attempt=self.attempts[target.index],
            final=final,
            time=at,
            close=not correct and not self.heard and close_call(target.chord, played),
        )
        self.results.append(result)
        return result

    # ---------------------------------------------------------------- summary

    def summary(self) -> dict:
        """accuracy: share of chords right at the first attempt; score: the same with half
        credit for a close call; timing in ms over the chords struck (mean signed: + late;
        mean absolute)."""
        first = [r for r in self.results if r.attempt == 1]
        timed = [r.timing_ms for r in first if r.timing_ms is not None]
        n = len(first)
        return {
            "chords": n,
            "correct": sum(r.correct for r in first),
            "close": sum(r.close for r in first),
            "score": (sum(r.credit for r in first) / n) if n else 0.0,
            "missed": sum(r.missed for r in first),
            "accuracy": (sum(r.correct for r in first) / n) if n else 0.0,
            "mean_timing_ms": (sum(timed) / len(timed)) if timed else None,
            "mean_abs_timing_ms": (sum(abs(t) for t in timed) / len(timed)) if timed else None,
        }
