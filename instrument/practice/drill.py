"""Drill mode: play the chart, then loop the chords you missed, the tempo following you.

After a round, every chord not right at the first attempt becomes a drill pair: the chord
before it, then the chord itself (the change into a chord is what goes wrong), a bar
each. The next round plays those pairs. The tempo follows the round's score (half credit
for a close call): at ``up_at`` or more it rises by ``step``, under ``down_at`` it falls
by ``step`` twice over, between the two it stays, always within ``min_scale`` and
``max_scale`` of the chart's tempo. The drill ends with a round with nothing missed, or
after ``rounds`` rounds. Pure: the caller runs each round's ``PracticeEngine``.
"""

from __future__ import annotations

from dataclasses import dataclass

from instrument.harmony.chart import Chart, chart_from_chords
from instrument.practice.engine import ChordResult, PracticeEngine


@dataclass(frozen=True)
class Round:
    number: int  # from 1
    chart: Chart
    tempo_scale: float


class Drill:
    def __init__(
        self,
        chart: Chart,
        tempo_scale: float = 1.0,
        rounds: int = 10,
        up_at: float = 0.9,
        down_at: float = 0.6,
        step: float = 0.1,
        min_scale: float = 0.3,
        max_scale: float = 1.5,
    ):
        if rounds < 1:
            raise ValueError("a drill has at least one round")
        self.chart, self.rounds = chart, rounds
        self.up_at, self.down_at, self.step = up_at, down_at, step
        self.min_scale, self.max_scale = min_scale, max(max_scale, tempo_scale)
        self.current = Round(1, chart, tempo_scale)

    @staticmethod
    def score(results: list[ChordResult]) -> float:
        first = [r for r in results if r.attempt == 1]
        return sum(r.credit for r in first) / len(first) if first else 0.0

    def next_scale(self, score: float, scale: float) -> float:
        if score >= self.up_at:
            scale *= 1 + self.step
        elif score < self.down_at:
            scale *= 1 - 2 * self.step
        return round(min(self.max_scale, max(self.min_scale, scale)), 3)

    def missed_pairs(self, engine: PracticeEngine) -> list:
        """(chord before, chord) of every chord not right at the first attempt, in order,
        each pair once."""
        pairs = []
        for r in engine.results:
            if r.attempt != 1 or r.correct:
                continue
            k = r.target.index
            before = engine.targets[k - 1].chord if k > 0 else None
            pair = (before, r.target.chord) if before is not None else (r.target.chord,)
            if pair not in pairs:
                pairs.append(pair)
        return pairs

    def next_round(self, engine: PracticeEngine) -> Round | None:
        """The round after the one ``engine`` played, or None when the drill is done."""
        pairs = self.missed_pairs(engine)
        if not pairs or self.current.number >= self.rounds:
            return None
        chords: list = []
        for pair in pairs:  # pairs that meet share their chord: C G, G Am -> C G Am
            chords += list(pair[1:] if chords and chords[-1] == pair[0] else pair)
        title = f"{self.chart.title or 'chart'}: drill"
        chart = chart_from_chords(
            chords, 1, self.chart.tempo, self.chart.meter, title, self.chart.key
        )
        scale = self.next_scale(self.score(engine.results), self.current.tempo_scale)
        self.current = Round(self.current.number + 1, chart, scale)
        return self.current
