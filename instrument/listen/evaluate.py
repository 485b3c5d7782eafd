"""Scoring the listener and the offline librosa baselines on annotated audio (mir_eval).

Beats: F-measure (±70 ms), CMLt and AMLt, mir_eval's defaults (beats in the first 5 s
are not scored, the same for every system). Downbeats: F-measure on bar starts. Tempo:
share of excerpts whose final tempo is within 4% of the annotation (Acc1) or of it
x2, x1/2, x3, x1/3 (Acc2). Chords: weighted chord symbol recall (WCSR) for majmin, root
and thirds over the whole excerpt, pooled over excerpts by duration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from instrument.listen.audio import blocks
from instrument.listen.tracker import BeatEvent, ChordEvent, Listener

CHORD_METRICS = ("majmin", "root", "thirds")


@dataclass
class Reference:
    """Annotations of one excerpt, times from its start. chords: (n, 2) intervals, labels."""

    beats: np.ndarray
    downbeats: np.ndarray
    chord_intervals: np.ndarray
    chord_labels: list[str]
    duration: float
    bpm: float


@dataclass
class Estimate:
    """What a system found: beat times, downbeat times, final tempo, chord spans."""

    beats: np.ndarray
    downbeats: np.ndarray
    bpm: float
    chord_intervals: np.ndarray
    chord_labels: list[str]
    extra: dict = field(default_factory=dict)


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
    iv, labels = _spans(changes, duration)
    bpm = float(np.median(bpms[len(bpms) // 2 :])) if bpms else 0.0
    return Estimate(np.array(beats), np.array(downs), bpm, iv, labels,
                    {"key": listener.key_label})  # fmt: skip


def _spans(changes: list[tuple[float, str]], duration: float):
    """Chord changes -> (intervals, labels) covering [0, duration); N before the first."""
    times = [0.0] + [t for t, _ in changes] + [duration]
    labels = ["N"] + [c for _, c in changes]
    iv = np.array([[times[i], times[i + 1]] for i in range(len(labels))])
    ok = iv[:, 1] > iv[:, 0]
    return iv[ok], [lab for lab, k in zip(labels, ok, strict=True) if k]


def score(ref: Reference, est: Estimate) -> dict[str, float]:
    """All metrics of one excerpt, plus the chord durations for pooling (``_dur_*``)."""
    import mir_eval

    out: dict[str, float] = {}
    minutes = ref.duration / 60.0
    out["changes_per_min"] = (len(est.chord_labels) - 1) / minutes
    out["ref_changes_per_min"] = (len(ref.chord_labels) - 1) / minutes
    eb = mir_eval.beat.trim_beats(np.sort(est.beats))
    rb = mir_eval.beat.trim_beats(ref.beats)
    out["beat_f"] = mir_eval.beat.f_measure(rb, eb)
    _, cmlt, _, amlt = mir_eval.beat.continuity(rb, eb)
    out["cmlt"], out["amlt"] = cmlt, amlt
    out["downbeat_f"] = mir_eval.beat.f_measure(
        mir_eval.beat.trim_beats(ref.downbeats), mir_eval.beat.trim_beats(np.sort(est.downbeats))
    )
    ratio = est.bpm / ref.bpm if ref.bpm > 0 and est.bpm > 0 else 0.0
    out["tempo_acc1"] = float(abs(ratio - 1) <= 0.04)
    out["tempo_acc2"] = float(any(abs(ratio / m - 1) <= 0.04 for m in (1, 2, 0.5, 3, 1 / 3)))
    ei, el = mir_eval.util.adjust_intervals(est.chord_intervals, est.chord_labels, 0.0,
                                            ref.duration, "N", "N")  # fmt: skip
    ri, rl = mir_eval.util.adjust_intervals(ref.chord_intervals, ref.chord_labels, 0.0,
                                            ref.duration, "N", "N")  # fmt: skip
    mi, r, e = mir_eval.util.merge_labeled_intervals(ri, rl, ei, el)
    dur = mir_eval.util.intervals_to_durations(mi)
    for m in CHORD_METRICS:
        comp = getattr(mir_eval.chord, m)(r, e)
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
    ):
        out[k] = float(np.mean([r[k] for r in rows]))
    for m in CHORD_METRICS:
        out[m] = sum(r[f"_hit_{m}"] for r in rows) / max(sum(r[f"_dur_{m}"] for r in rows), 1e-9)
    return out


def evaluate_pop909(split: str = "test", start: float = 30.0, duration: float = 60.0,
                    limit: int | None = None, baseline: bool = True, progress=None,
                    ids: list[str] | None = None, **options) -> dict:  # fmt: skip
    """Render (cached) and score every song of a POP909 split, listener and baseline.

    Returns {"songs": [per-song rows], "listener": pooled, "baseline": pooled, ...}.
    options: passed to the Listener (for tuning on the valid split).
    """
    from instrument.datasets import pop909
    from instrument.datasets.splits import split_ids
    from instrument.errors import InstrumentError
    from instrument.listen.baselines import librosa_baseline
    from instrument.listen.renders import cached_excerpt
    from instrument.synth import list_soundfonts

    soundfonts = [p for p in list_soundfonts() if p.name in ("FluidR3_GM.sf2", "TimGM6mb.sf2")]
    if not soundfonts:
        soundfonts = list_soundfonts()[:1]
    if not soundfonts:
        raise InstrumentError("no GM SoundFont found: install fluid-soundfont-gm (./setup.sh)")
    ids = (ids or split_ids("pop909", split))[:limit]
    rows, base_rows = [], []
    for n, sid in enumerate(ids):
        song = pop909.load_song(pop909.song_dir(sid))
        last = float(song.beats[-1]) if len(song.beats) else 0.0
        s = max(0.0, min(start, last - duration))  # short songs: the last minute
        audio, sr, cond = cached_excerpt(sid, song.midi_path, s, duration, soundfonts)
        ref = pop909_reference(song, s, len(audio) / sr)
        est = run_listener(audio, sr, **options)
        row = {"id": sid, "start": s, "condition": cond.describe(), "ref_bpm": ref.bpm,
               "bpm": est.bpm, "key": est.extra.get("key"), **score(ref, est)}  # fmt: skip
        rows.append(row)
        if baseline:
            b = cached_baseline(sid, s, duration, cond, audio, sr, librosa_baseline)
            base_rows.append({"id": sid, "bpm": b.bpm, **score(ref, b)})
        if progress:
            progress(n + 1, len(ids), row)
    out = {"split": split, "start": start, "duration": duration, "songs": rows,
           "listener": pool(rows)}  # fmt: skip
    if baseline:
        out["baseline"] = pool(base_rows)
        out["baseline_songs"] = base_rows
    return out


def cached_baseline(song_id: str, start: float, duration: float, cond, audio, sr, run):
    """The baseline's estimate of one render, from the cache (it never changes)."""
    import hashlib
    import json
    from dataclasses import asdict

    from instrument.listen.renders import CACHE

    key = hashlib.sha256(json.dumps([song_id, start, duration, asdict(cond)]).encode())
    path = CACHE.parent / "baseline" / f"{song_id}-{key.hexdigest()[:10]}.json"
    if path.exists():
        d = json.loads(path.read_text())
        return Estimate(np.array(d["beats"]), np.array(d["downbeats"]), d["bpm"],
                        np.array(d["iv"]).reshape(-1, 2), d["labels"])  # fmt: skip
    est = run(audio, sr)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"beats": est.beats.tolist(), "downbeats": est.downbeats.tolist(),
                                "bpm": est.bpm, "iv": est.chord_intervals.tolist(),
                                "labels": est.chord_labels}))  # fmt: skip
    return est


def real_audio_report(folder=None) -> tuple[str, list[dict]]:
    """Tempo, key and main chords the listener finds in ``real-audio/`` (no labels).

    The trumpet recording is a loop, so it is also run looped four times, as it is meant
    to be played.
    """
    import collections

    from instrument.errors import InstrumentError
    from instrument.listen.audio import read_audio
    from instrument.paths import data_dir
    from instrument.report import markdown_table

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
            rows.append({"file": f.stem + suffix, "seconds": round(len(a) / sr, 1),
                         "bpm": round(est.bpm, 1), "key": est.extra["key"],
                         "chords": top, "changes_per_min": round(
                             60 * (len(est.chord_labels) - 1) / (len(a) / sr), 1)})  # fmt: skip
    table = markdown_table(
        ["recording", "s", "tempo found (BPM)", "key found", "main chords (share of time)",
         "chord changes / min"],
        [[r["file"], r["seconds"], r["bpm"], r["key"], r["chords"], r["changes_per_min"]]
         for r in rows],
    )  # fmt: skip
    return table, rows
