"""Quality of the band on held-out POP909: ground truth, rule-based styles and the model.

Accompaniment: every system hears the song's melody as the player (replayed as live,
planning one beat ahead, no continuation) over the song's chord labels, for the first
``bars`` bars; its bass and comping are measured with ``metrics`` against the same
measures of the song's own piano part (bass + comping). Continuation: the melody stops
after ``cont_from`` bars and the system continues it; its melody notes are measured
against the song's melody over the same beats. The model's negative log-likelihood is
the teacher-forced mean per token over whole test songs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from instrument.accompany.data import GridSong
from instrument.accompany.generator import ModelGenerator
from instrument.accompany.metrics import all_metrics
from instrument.accompany.notes import BASS, COMP, MELODY, STEPS_PER_BEAT, BandNote
from instrument.accompany.offline import PlayerNote, accompany
from instrument.accompany.planner import BandPlanner
from instrument.accompany.styles import STYLES, make_style

METRICS = (
    "chord_tone_ratio",
    "pitch_class_entropy",
    "scale_consistency",
    "groove_consistency",
    "note_density",
)


def to_array(notes: list[BandNote], parts: tuple[int, ...]) -> np.ndarray:
    rows = [
        (
            round(n.onset * STEPS_PER_BEAT),
            max(1, round(n.duration * STEPS_PER_BEAT)),
            n.part,
            n.pitch,
        )
        for n in notes
        if n.part in parts
    ]
    return np.array(rows, dtype=np.int64).reshape(-1, 4)


def player_of(song: GridSong, until_beat: float = math.inf) -> list[PlayerNote]:
    mel = song.part_notes((MELODY,))
    return [
        PlayerNote(r[0] / STEPS_PER_BEAT, (r[0] + r[1]) / STEPS_PER_BEAT, int(r[3]), 90)
        for r in mel.tolist()
        if r[0] / STEPS_PER_BEAT < until_beat
    ]


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    out = {}
    for k in METRICS:
        v = [r[k] for r in rows if not math.isnan(r[k])]
        out[k] = float(np.mean(v)) if v else float("nan")
    return out


def evaluate(
    songs: list[GridSong],
    model=None,
    bars: int = 32,
    cont_from: int = 8,
    cont_beats: int = 16,
    seed: int = 0,
    sampling: dict | None = None,
    styles: tuple[str, ...] = tuple(STYLES),
    log: Callable[[str], None] = lambda s: None,
) -> dict:
    """Mean metrics per system for accompaniment and continuation (see module docstring).

    sampling: ModelGenerator options (temperature, top_k, top_p)."""
    systems: list[tuple[str, Callable[[], BandPlanner]]] = []
    for name in styles:
        systems.append((name, lambda bpb, ch, name=name: (make_style(name), None)))
    if model is not None:
        systems.append(
            (
                "model",
                lambda bpb, ch: (
                    make_style("block"),
                    ModelGenerator(model, seed=seed, **(sampling or {})),
                ),
            )
        )
    acc: dict[str, list] = {"ground truth": []}
    cont: dict[str, list] = {"ground truth": []}
    for s in systems:
        acc[s[0]], cont[s[0]] = [], []
    for i, song in enumerate(songs):
        n = min(bars * song.beats_per_bar, song.n_beats)
        gt = song.part_notes((BASS, COMP))
        acc["ground truth"].append(all_metrics(gt, song.chords, song.beats_per_bar, 0, n))
        c0 = cont_from * song.beats_per_bar
        has_cont = song.n_beats >= c0 + cont_beats + 4
        if has_cont:
            gt_mel = song.part_notes((MELODY,))
            cont["ground truth"].append(
                all_metrics(gt_mel, song.chords, song.beats_per_bar, c0 + 2, cont_beats)
            )
        for name, make in systems:
            style, gen = make(song.beats_per_bar, song.chords)
            planner = BandPlanner(
                song.chords, song.beats_per_bar, style, gen, continue_beats=0, drums=False
            )
            band = accompany(player_of(song), planner, n)
            acc[name].append(
                all_metrics(to_array(band, (BASS, COMP)), song.chords, song.beats_per_bar, 0, n)
            )
            if has_cont:
                style, gen = make(song.beats_per_bar, song.chords)
                planner = BandPlanner(
                    song.chords,
                    song.beats_per_bar,
                    style,
                    gen,
                    continue_after=1.0,
                    continue_beats=cont_beats + 8,
                    drums=False,
                )
                # the player stops two beats before bar cont_from; the band answers
                band = accompany(player_of(song, c0 - 2), planner, c0 + cont_beats + 2)
                cont[name].append(
                    all_metrics(
                        to_array(band, (MELODY,)),
                        song.chords,
                        song.beats_per_bar,
                        c0 + 2,
                        cont_beats,
                    )
                )
        log(f"{i + 1}/{len(songs)} songs")
    return {
        "accompaniment": {k: _mean(v) for k, v in acc.items()},
        "continuation": {k: _mean(v) for k, v in cont.items()},
        "songs": len(songs),
        "continuation_songs": len(cont["ground truth"]),
        "bars": bars,
    }
