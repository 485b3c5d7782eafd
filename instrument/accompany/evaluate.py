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

import datetime
import math
import time
from collections.abc import Callable

import numpy as np

from instrument.accompany.data import GridSong, load_grid_split
from instrument.accompany.generator import ModelGenerator
from instrument.accompany.metrics import all_metrics
from instrument.accompany.model import load_model
from instrument.accompany.notes import BASS, COMP, MELODY, STEPS_PER_BEAT, BandNote
from instrument.accompany.offline import PlayerNote, accompany
from instrument.accompany.options import DEFAULT_MODEL
from instrument.accompany.planner import BandPlanner
from instrument.accompany.styles import STYLES, make_style
from instrument.accompany.train import encode, evaluate_nll
from instrument.report import markdown_table

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


SystemMaker = Callable[[int, object], tuple]  # (beats per bar, chords) -> (style, generator)


def _systems(
    styles: tuple[str, ...], model, seed: int, sampling: dict | None
) -> list[tuple[str, SystemMaker]]:
    """(name, maker of a fresh style and generator) for every rule-based style and the model."""
    systems: list[tuple[str, SystemMaker]] = []
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
    return systems


def _accompaniment(song: GridSong, make: SystemMaker, n: int) -> dict[str, float]:
    """Metrics of one system's bass and comping over the song's first ``n`` beats."""
    style, gen = make(song.beats_per_bar, song.chords)
    planner = BandPlanner(
        song.chords, song.beats_per_bar, style, gen, continue_beats=0, drums=False
    )
    band = accompany(player_of(song), planner, n)
    return all_metrics(to_array(band, (BASS, COMP)), song.chords, song.beats_per_bar, 0, n)


def _continuation(song: GridSong, make: SystemMaker, c0: int, cont_beats: int) -> dict[str, float]:
    """Metrics of one system's melody when the player stops two beats before beat ``c0``."""
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
    return all_metrics(
        to_array(band, (MELODY,)),
        song.chords,
        song.beats_per_bar,
        c0 + 2,
        cont_beats,
    )


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
    systems = _systems(styles, model, seed, sampling)
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
            acc[name].append(_accompaniment(song, make, n))
            if has_cont:
                cont[name].append(_continuation(song, make, c0, cont_beats))
        log(f"{i + 1}/{len(songs)} songs")
    return {
        "accompaniment": {k: _mean(v) for k, v in acc.items()},
        "continuation": {k: _mean(v) for k, v in cont.items()},
        "songs": len(songs),
        "continuation_songs": len(cont["ground truth"]),
        "bars": bars,
    }


def evaluate_model(
    model_path: str,
    split: str = "test",
    data: str | None = None,
    limit: int | None = None,
    bars: int = 16,
    seed: int = 0,
    sampling: dict | None = None,
    log: Callable[[str], None] = lambda s: None,
) -> dict:
    """``evaluate`` on a POP909 split with the model at ``model_path``, plus its NLL.

    sampling: ModelGenerator options given on the command line (temperature, top_p).
    Returns evaluate's figures and "sampling", "model_nll" (nats/token), "split",
    "model" (as the report names it) and "seconds" (wall time, loading included).
    """
    t0 = time.monotonic()
    model = load_model(model_path)
    songs = load_grid_split(split, data, limit)
    sampling = sampling or {}
    result = evaluate(songs, model, bars=bars, seed=seed, sampling=sampling, log=log)
    result["sampling"] = sampling
    result["model_nll"] = evaluate_nll(model, [encode(s) for s in songs], max_windows=10**9)
    result["split"] = split
    shipped = model_path == str(DEFAULT_MODEL)
    result["model"] = "models/accompany-lstm.pt" if shipped else model_path
    result["seconds"] = round(time.monotonic() - t0, 1)
    return result


METRIC_NAMES = {
    "chord_tone_ratio": "chord-tone ratio",
    "pitch_class_entropy": "PC entropy (bits)",
    "scale_consistency": "scale consistency",
    "groove_consistency": "groove consistency",
    "note_density": "notes/beat",
}


def _table_rows(r: dict, table: dict, nll: bool) -> list[list[object]]:
    """One row per system of ``table`` (system -> metrics); NLL only for the model."""
    out = []
    for system, m in table.items():
        label = "rule: " + system if system not in ("ground truth", "model") else system
        out.append(
            [
                label,
                *[m[k] for k in METRICS],
                r["model_nll"] if nll and system == "model" else "-",
            ]
        )
    return out


def _target_checks(r: dict) -> list[str]:
    """The model against the 5% targets on chord-tone ratio and groove consistency."""
    acc, gt = r["accompaniment"], r["accompaniment"]["ground truth"]
    checks = []
    for k in ("chord_tone_ratio", "groove_consistency"):
        rel = abs(acc["model"][k] - gt[k]) / gt[k]
        rules_gap = min(
            abs(acc[s][k] - gt[k]) / gt[k] for s in acc if s not in ("ground truth", "model")
        )
        checks.append(
            f"- {METRIC_NAMES[k]}: model {acc['model'][k]:.4f} vs ground truth {gt[k]:.4f} "
            f"({100 * rel:.1f}% off; target within 5%: "
            f"{'met' if rel <= 0.05 else 'NOT met'}); closest rule-based style "
            f"{100 * rules_gap:.1f}% off"
        )
    return checks


def results_markdown(r: dict, bars: int) -> str:
    """The section ``accompany`` of docs/results.md from ``evaluate_model``'s result;
    bars: the command's --bars."""
    header = ["system", *[METRIC_NAMES[m] for m in METRICS], "NLL (nats/token)"]
    return "\n".join(
        [
            "## Jam mode: accompaniment and continuation (POP909)",
            "",
            f"Split: POP909 `{r['split']}` ({r['songs']} songs, configs/splits/pop909.json), "
            f"first {r['bars']} bars of each song. Every system hears the song's melody as the "
            "player, replayed as live (beat b planned at beat b-1), over the song's chord labels. "
            "Accompaniment = bass + comping (drums excluded); ground truth = the song's PIANO "
            "track split into bass and comping. Metrics as in MMT/MusPy, 16th-note grid.",
            "",
            "### Accompaniment",
            "",
            markdown_table(header, _table_rows(r, r["accompaniment"], True)),
            "",
            *_target_checks(r),
            "",
            f"### Continuation ({r['continuation_songs']} songs)",
            "",
            "The melody stops two beats before bar 8; the band continues the phrase. Measured on "
            "its melody over the 16 beats from bar 8 + 2 beats; ground truth = the song's melody "
            "there. Rule-based continuation: chord-tone eighth notes (the same for every style).",
            "",
            markdown_table(header, _table_rows(r, r["continuation"], False)),
            "",
            "NLL: the model's teacher-forced mean negative log-likelihood per token over the whole "
            "test songs (untransposed).",
            "",
            f"Model: `{r.get('model', 'models/accompany-lstm.pt')}`, sampling "
            f"{sampling_text(r.get('sampling') or {})}; the rule-based styles are deterministic.",
            "",
            f"Command: `instrument eval accompany --split {r['split']}`"
            f"{'' if bars == 16 else f' --bars {bars}'}; machine: 2-core CPU VM, no GPU "
            f"(shared); {r['seconds']:.0f} s; date {datetime.date.today().isoformat()}.",
        ]
    )


def sampling_text(sampling: dict) -> str:
    """The model's sampling settings in words; sampling: the ones given (else defaults)."""
    defaults = ModelGenerator.__init__.__defaults__  # temperature, top_k, top_p, ...
    t = sampling.get("temperature", defaults[0])
    p = sampling.get("top_p", defaults[2])
    note = "" if sampling else " (the defaults, chosen on 16 songs of the valid split)"
    return f"temperature {t:g}, top-k {defaults[1]}, top-p {p:g}{note}"
