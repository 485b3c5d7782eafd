"""Scoring the listener and the offline librosa baselines on annotated audio (mir_eval).

Beats: F-measure (±70 ms), CMLt and AMLt, mir_eval's defaults (beats in the first 5 s
are not scored, the same for every system). Downbeats: F-measure on bar starts. Tempo:
share of excerpts whose final tempo is within 4% of the annotation (Acc1) or of it
x2, x1/2, x3, x1/3 (Acc2). Chords: weighted chord symbol recall (WCSR) for majmin, root
and thirds over the whole excerpt, pooled over excerpts by duration.
"""

from __future__ import annotations

import collections
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np

from instrument.datasets import pop909
from instrument.datasets.splits import split_ids
from instrument.errors import InstrumentError
from instrument.listen.audio import blocks, read_audio
from instrument.listen.baselines import (
    BEATNET_MODEL,
    beatnet_available,
    beatnet_online_beats,
    librosa_baseline,
    librosa_beats,
    madmom_available,
    madmom_online_beats,
)
from instrument.listen.estimate import Estimate, Reference, chord_spans
from instrument.listen.renders import CACHE, Condition, Variation, cached_excerpt, variation_for
from instrument.listen.tracker import BeatEvent, ChordEvent, Listener
from instrument.paths import data_dir
from instrument.report import markdown_table

CHORD_METRICS = ("majmin", "root", "thirds")
BEAT_METRICS = ("beat_f", "cmlt", "amlt", "downbeat_f", "tempo_acc1", "tempo_acc2")


def pop909_reference(song, start: float, duration: float) -> Reference:
    """The annotations of ``song`` (a Pop909Song) within [start, start + duration).

    Bar starts: POP909 marks measures of 2 (or 3) beats in column 2 and every second
    measure in column 3; songs with 2-beat measures are in 4/4 as heard, so their bars
    are column 3, the 3-beat ones are column 2.
    """
    end = start + duration
    bars = song.hyper_downbeats if song.beats_per_measure in (None, 2) else song.downbeats
    gaps = np.diff(np.flatnonzero(song.downbeats))
    if song.beats_per_measure is None and len(gaps) and np.median(gaps) == 3:
        bars = song.downbeats
    keep = (song.beats >= start) & (song.beats < end)
    beats = song.beats[keep] - start
    downbeats = song.beats[keep & bars] - start
    iv, labels = [], []
    for s, e, lab in song.chords:
        s, e = max(s, start), min(e, end)
        if e > s:
            iv.append((s - start, e - start))
            labels.append(lab)
    bpm = 60.0 / float(np.median(np.diff(beats))) if len(beats) > 1 else 0.0
    return Reference(beats, downbeats, np.array(iv).reshape(-1, 2), labels, duration, bpm)


def run_listener(audio: np.ndarray, sr: int, block: int = 1024, **options) -> Estimate:
    """The causal tracker over a whole recording, block by block, as live."""
    listener = Listener(sr, **options)
    beats, downs, bpms, changes = [], [], [], []
    for b in blocks(audio, block):
        for e in listener.process(b):
            if isinstance(e, BeatEvent):
                beats.append(e.t)
                bpms.append(e.bpm)
                if e.beat == 1:
                    downs.append(e.t)
            elif isinstance(e, ChordEvent):
                changes.append((e.t, e.chord))
    duration = len(audio) / sr
    iv, labels = chord_spans(changes, duration)
    bpm = float(np.median(bpms[len(bpms) // 2 :])) if bpms else 0.0
    return Estimate(np.array(beats), np.array(downs), bpm, iv, labels, {"key": listener.key_label})


def score_beats(ref_beats: np.ndarray, ref_bpm: float, est: Estimate) -> dict[str, float]:
    """Beat F, CMLt, AMLt and tempo Acc1/Acc2 of one excerpt."""
    import mir_eval

    out: dict[str, float] = {}
    eb = mir_eval.beat.trim_beats(np.sort(est.beats))
    rb = mir_eval.beat.trim_beats(ref_beats)
    out["beat_f"] = mir_eval.beat.f_measure(rb, eb)
    _, cmlt, _, amlt = mir_eval.beat.continuity(rb, eb)
    out["cmlt"], out["amlt"] = cmlt, amlt
    ratio = est.bpm / ref_bpm if ref_bpm > 0 and est.bpm > 0 else 0.0
    out["tempo_acc1"] = float(abs(ratio - 1) <= 0.04)
    out["tempo_acc2"] = float(any(abs(ratio / m - 1) <= 0.04 for m in (1, 2, 0.5, 3, 1 / 3)))
    return out


def chord_steadiness(est: Estimate, duration: float) -> dict[str, float]:
    """How readable the chord output is: changes per minute and the share of chords
    held under 0.25 s (a display that changes four times a second cannot be read)."""
    spans = np.diff(est.chord_intervals, axis=1)[:, 0] if len(est.chord_intervals) else []
    return {
        "changes_per_min": (len(est.chord_labels) - 1) / (duration / 60.0),
        "short_chords": float(np.mean(np.asarray(spans) < 0.25)) if len(spans) else 0.0,
    }


def change_delays(ref: Reference, est: Estimate, window: tuple[float, float] = (-0.25, 1.0)):
    """Seconds from each annotated chord change to the listener naming the new chord.

    A change counts when the label moves to a different major/minor chord (not N); it is
    named at the first estimated change to a chord equal under majmin within ``window``
    of it. Returns (delays of the changes named, number of changes).
    """
    import mir_eval

    delays, n = [], 0
    est_t = np.array([s for s, _ in est.chord_intervals])
    for i in range(1, len(ref.chord_labels)):
        new, old = ref.chord_labels[i], ref.chord_labels[i - 1]
        t = float(ref.chord_intervals[i, 0])
        if new == "N" or mir_eval.chord.majmin([old], [new])[0] == 1:
            continue
        if mir_eval.chord.majmin([new], [new])[0] < 0:  # not a maj/min chord
            continue
        n += 1
        for k in np.flatnonzero((est_t >= t + window[0]) & (est_t <= t + window[1])):
            if mir_eval.chord.majmin([new], [est.chord_labels[k]])[0] == 1:
                delays.append(float(est_t[k] - t))
                break
    return delays, n


def score(ref: Reference, est: Estimate) -> dict[str, float]:
    """All metrics of one excerpt, plus the chord durations for pooling (``_dur_*``)."""
    import mir_eval

    out: dict[str, float] = score_beats(ref.beats, ref.bpm, est)
    minutes = ref.duration / 60.0
    out |= chord_steadiness(est, ref.duration)
    out["ref_changes_per_min"] = (len(ref.chord_labels) - 1) / minutes
    delays, n_changes = change_delays(ref, est)
    out["_delays"] = delays  # type: ignore[assignment]
    out["_n_changes"] = n_changes
    out["downbeat_f"] = mir_eval.beat.f_measure(
        mir_eval.beat.trim_beats(ref.downbeats), mir_eval.beat.trim_beats(np.sort(est.downbeats))
    )
    ei, el = mir_eval.util.adjust_intervals(
        est.chord_intervals, est.chord_labels, 0.0, ref.duration, "N", "N"
    )
    ri, rl = mir_eval.util.adjust_intervals(
        ref.chord_intervals, ref.chord_labels, 0.0, ref.duration, "N", "N"
    )
    mi, r, e = mir_eval.util.merge_labeled_intervals(ri, rl, ei, el)
    dur = mir_eval.util.intervals_to_durations(mi)
    compare = {
        "majmin": mir_eval.chord.majmin,
        "root": mir_eval.chord.root,
        "thirds": mir_eval.chord.thirds,
    }  # CHORD_METRICS, each a mir_eval comparison
    for m in CHORD_METRICS:
        comp = compare[m](r, e)
        valid = comp >= 0
        out[f"_hit_{m}"] = float((comp[valid] * dur[valid]).sum())
        out[f"_dur_{m}"] = float(dur[valid].sum())
        out[m] = out[f"_hit_{m}"] / out[f"_dur_{m}"] if out[f"_dur_{m}"] > 0 else 0.0
    return out


def pool(rows: list[dict[str, float]]) -> dict[str, float]:
    """Mean of the beat metrics over excerpts; chord WCSR pooled by duration."""
    out = {}
    for k in (
        "beat_f",
        "cmlt",
        "amlt",
        "downbeat_f",
        "tempo_acc1",
        "tempo_acc2",
        "changes_per_min",
        "ref_changes_per_min",
        "short_chords",
    ):
        out[k] = float(np.mean([r[k] for r in rows]))
    # Chord naming delay: median over every annotated change that was named, and the
    # share of changes named (within the window of ``change_delays``).
    delays = [d for r in rows for d in r.get("_delays", [])]
    n_changes = sum(r.get("_n_changes", 0) for r in rows)
    out["change_delay_median"] = float(np.median(delays)) if delays else float("nan")
    out["changes_named"] = len(delays) / n_changes if n_changes else float("nan")
    # Per excerpt: is the changes-per-minute within 1.5x of the annotation's?
    out["changes_within_1.5x"] = float(
        np.mean(
            [
                1 / 1.5 <= r["changes_per_min"] / max(r["ref_changes_per_min"], 1e-9) <= 1.5
                for r in rows
            ]
        )
    )
    for m in CHORD_METRICS:
        out[m] = sum(r[f"_hit_{m}"] for r in rows) / max(sum(r[f"_dur_{m}"] for r in rows), 1e-9)
    return out


def evaluate_pop909(
    split: str = "test",
    start: float = 30.0,
    duration: float = 60.0,
    limit: int | None = None,
    baseline: bool = True,
    progress=None,
    ids: list[str] | None = None,
    unseen: Path | None = None,
    **options,
) -> dict:
    """Render (cached) and score every song of a POP909 split, listener and baseline.

    unseen: a SoundFont kept out of all tuning; given, every song is rendered with it, with
    other programs and an echo (``variation_for``) on top of its condition.
    Returns {"songs": [per-song rows], "listener": pooled, "baseline": pooled, ...}.
    options: passed to the Listener (for tuning on the valid split).
    """
    from instrument.synth import list_soundfonts

    soundfonts = [p for p in list_soundfonts() if p.name in ("FluidR3_GM.sf2", "TimGM6mb.sf2")]
    if not soundfonts:
        soundfonts = list_soundfonts()[:1]
    if unseen is not None:
        soundfonts = [Path(unseen)]
    if not soundfonts:
        raise InstrumentError("no GM SoundFont found: install fluid-soundfont-gm (./setup.sh)")
    ids = (ids or split_ids("pop909", split))[:limit]
    rows, base_rows, anchor_rows = [], [], []
    anchor = beatnet_available()  # a learned causal tracker beside ours, when importable
    for n, sid in enumerate(ids):
        song = pop909.load_song(pop909.song_dir(sid))
        last = float(song.beats[-1]) if len(song.beats) else 0.0
        s = max(0.0, min(start, last - duration))  # short songs: the last minute
        variation = variation_for(sid) if unseen is not None else None
        audio, sr, cond = cached_excerpt(sid, song.midi_path, s, duration, soundfonts, variation)
        ref = pop909_reference(song, s, len(audio) / sr)
        est = run_listener(audio, sr, **options)
        described = cond.describe() + (f", {variation.describe()}" if variation else "")
        row = {
            "id": sid,
            "start": s,
            "condition": described,
            "ref_bpm": ref.bpm,
            "bpm": est.bpm,
            "key": est.extra.get("key"),
            **score(ref, est),
        }
        rows.append(row)
        if baseline:
            b = cached_baseline(sid, s, duration, cond, variation, audio, sr, librosa_baseline)
            base_rows.append({"id": sid, "bpm": b.bpm, **score(ref, b)})
        if anchor:
            a = cached_baseline(sid, s, duration, cond, variation, audio, sr,
                                beatnet_online_beats, f"beatnet-model{BEATNET_MODEL}")  # fmt: skip
            anchor_rows.append({"id": sid, "bpm": a.bpm, **score(ref, a)})
        if progress:
            progress(n + 1, len(ids), row)
    out = {
        "split": split,
        "start": start,
        "duration": duration,
        "songs": rows,
        "listener": pool(rows),
    }
    if baseline:
        out["baseline"] = pool(base_rows)
        out["baseline_songs"] = base_rows
    if anchor_rows:  # beats and downbeats only: BeatNet names no chords
        out["beatnet"] = {k: v for k, v in pool(anchor_rows).items() if k in BEAT_METRICS}
    return out


def cached_baseline(
    song_id: str,
    start: float,
    duration: float,
    cond: Condition,
    variation: Variation | None,
    audio: np.ndarray,
    sr: int,
    run: Callable[[np.ndarray, int], Estimate],
    folder: str = "baseline",
) -> Estimate:
    """A deterministic system's estimate of one render, from the cache (it never changes).

    The render is named by song, excerpt (start, duration s), its condition and variation
    (None: a seen-SoundFont render); ``run(audio, sr)`` computes it when not cached, into
    the cache's ``folder`` (one per system: "baseline" is librosa's).
    """
    what = [song_id, start, duration, asdict(cond)]
    if variation is not None:
        what.append(asdict(variation))
    key = hashlib.sha256(json.dumps(what).encode())
    path = CACHE.parent / folder / f"{song_id}-{key.hexdigest()[:10]}.json"
    if path.exists():
        d = json.loads(path.read_text())
        return Estimate(
            np.array(d["beats"]),
            np.array(d["downbeats"]),
            d["bpm"],
            np.array(d["iv"]).reshape(-1, 2),
            d["labels"],
        )
    est = run(audio, sr)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "beats": est.beats.tolist(),
                "downbeats": est.downbeats.tolist(),
                "bpm": est.bpm,
                "iv": est.chord_intervals.tolist(),
                "labels": est.chord_labels,
            }
        )
    )
    return est


def read_beats(path) -> np.ndarray:
    """A ``.beats`` file: one beat time (s) per line, optionally followed by other columns."""

    try:
        rows = [line.split() for line in Path(path).read_text().splitlines() if line.strip()]
        beats = np.array([float(r[0]) for r in rows])
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise InstrumentError(f"not a beat annotation file: {path} ({e})") from None
    if len(beats) < 2 or not np.all(np.isfinite(beats)) or np.any(np.diff(beats) <= 0):
        raise InstrumentError(f"not a beat annotation file: {path} (needs rising times)")
    return beats


# The systems scored on the real recordings: (column name, runner). librosa twice, with
# the listener's tempo prior and with its own default, so neither side is handicapped.
def _real_beat_systems(block: int) -> list[tuple[str, object]]:
    systems: list[tuple[str, object]] = [
        ("listener (causal)", lambda a, sr: run_listener(a, sr, block=block)),
        ("librosa, prior 79 BPM (offline)", lambda a, sr: librosa_beats(a, sr, 79.0)),
        ("librosa, prior 120 BPM (offline)", lambda a, sr: librosa_beats(a, sr, 120.0)),
    ]
    if madmom_available():
        systems.append(("madmom online RNN+DBN (causal)", madmom_online_beats))
    if beatnet_available():
        systems.append(("BeatNet CRNN+PF, Ballroom held out (causal)", beatnet_online_beats))
    return systems


def evaluate_real_beats(folder=None, block: int = 1024, progress=None) -> dict:
    """Beat scores on ``real-audio-beats/`` (real recordings, hand-annotated beats).

    Returns {"clips": [{"file", "ref_bpm", system: scores}], "systems": [names],
    "pooled": {system: mean scores}, "madmom": bool}.
    """

    folder = Path(folder) if folder else data_dir() / "real-audio-beats"
    files = (
        sorted(f for f in folder.glob("*.wav") if f.with_suffix(".beats").is_file())
        if folder.is_dir()
        else []
    )
    if not files:
        raise InstrumentError(f"no recordings with .beats annotations found in {folder}")
    systems = _real_beat_systems(block)
    clips = []
    for f in files:
        audio, sr = read_audio(f)
        ref = read_beats(f.with_suffix(".beats"))
        ref_bpm = 60.0 / float(np.median(np.diff(ref)))
        clip: dict = {"file": f.stem, "seconds": len(audio) / sr, "ref_bpm": ref_bpm}
        for name, run in systems:
            est = run(audio, sr)
            clip[name] = score_beats(ref, ref_bpm, est) | {"bpm": est.bpm}
        clips.append(clip)
        if progress:
            progress(clip)
    names = [n for n, _ in systems]
    pooled = {n: {k: float(np.mean([c[n][k] for c in clips])) for k in clips[0][n]} for n in names}
    return {
        "clips": clips,
        "systems": names,
        "pooled": pooled,
        "madmom": any("madmom" in n for n in names),
    }


def real_audio_report(folder=None) -> tuple[str, list[dict]]:
    """Tempo, key and main chords the listener finds in ``real-audio/`` (no labels).

    The trumpet recording is a loop, so it is also run looped four times, as it is meant
    to be played.
    """

    folder = folder or data_dir() / "real-audio"
    files = sorted(folder.glob("*.ogg")) if folder.is_dir() else []
    if not files:
        raise InstrumentError(f"no recordings found in {folder}")
    rows = []
    for f in files:
        audio, sr = read_audio(f)
        runs = [("", audio)]
        if "trumpet" in f.name:
            runs.append((" (looped ×4)", np.tile(audio, (4, 1))))
        for suffix, a in runs:
            est = run_listener(a, sr)
            dur = collections.Counter()
            for (s, e), lab in zip(est.chord_intervals, est.chord_labels, strict=True):
                dur[lab] += e - s
            total = sum(dur.values())
            top = ", ".join(f"{lab} {v / total:.0%}" for lab, v in dur.most_common(4))
            steady = chord_steadiness(est, len(a) / sr)
            rows.append(
                {
                    "file": f.stem + suffix,
                    "seconds": round(len(a) / sr, 1),
                    "bpm": round(est.bpm, 1),
                    "key": est.extra["key"],
                    "chords": top,
                    "changes_per_min": round(steady["changes_per_min"], 1),
                    "short_chords": round(steady["short_chords"], 2),
                }
            )
    table = markdown_table(
        [
            "recording",
            "s",
            "tempo found (BPM)",
            "key found",
            "main chords (share of time)",
            "chord changes / min",
            "share of chords < 0.25 s",
        ],
        [
            [
                r["file"],
                r["seconds"],
                r["bpm"],
                r["key"],
                r["chords"],
                r["changes_per_min"],
                r["short_chords"],
            ]
            for r in rows
        ],
    )
    return table, rows
