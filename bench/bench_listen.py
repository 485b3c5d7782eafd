"""Speed and decision latency of the causal listener, beside librosa's offline analysis.

    .venv/bin/python bench/bench_listen.py [--song 004] [--seconds 60] [--write]

Pinned to one core (BLAS and numba single-threaded, CPU affinity one core), on a POP909
excerpt rendered through FluidSynth at 44.1 kHz. Reports:

* real-time factor (audio seconds per CPU second) of the whole listener at several block
  sizes, and of librosa's offline beat tracker + chroma chord baseline on the same audio;
* per-block processing time (the part of the decision latency the CPU adds);
* how late decisions are against the audio: beats (announced time vs. the end of the
  block that announced them; negative = predicted ahead) and chord changes (when the
  listener names the new chord vs. the annotated change).

``--write`` puts the figures into docs/benchmarks.md (section "listen").
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

BLOCKS = (128, 256, 512, 1024, 2048)
TABLE_HEADER = [
    "block (samples)",
    "block (ms)",
    "listener × real time (1 core)",
    "per-block CPU median (ms)",
    "p99 (ms)",
    "max (ms)",
]


def time_blocks(audio: np.ndarray, sr: int) -> tuple[list[tuple], tuple[list, list[float]]]:
    """The listener over ``audio`` at every block size of BLOCKS, best of two runs.

    Returns one row per block size (samples, ms, real-time factor, per-block CPU median,
    p99, max in ms) and the 512-sample run's (events, end time of the block that gave each).
    """
    from instrument.listen.tracker import Listener

    dur = len(audio) / sr
    rows = []
    events_512 = None
    for block in BLOCKS:
        best = np.inf
        for _ in range(2):
            lis = Listener(sr)
            times, evs, ends = [], [], []
            c0 = time.process_time()
            for i in range(0, len(audio), block):
                b0 = time.thread_time()  # CPU time: other jobs on the machine do not count
                ev = lis.process(audio[i : i + block])
                times.append(time.thread_time() - b0)
                evs += ev
                ends += [(i + len(audio[i : i + block])) / sr] * len(ev)
            best = min(best, time.process_time() - c0)
        if block == 512:
            events_512 = (evs, ends)
        rows.append(
            (
                block,
                1000 * block / sr,
                dur / best,
                1000 * np.median(times),
                1000 * np.percentile(times, 99),
                1000 * np.max(times),
            )
        )
    return rows, events_512


def decision_lags(evs: list, ends: list[float], ref) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(beat lags: end of the announcing block minus the beat's time; chord lags: first
    change named within -0.1..1 s of each annotated change; the annotated changes), s."""
    from instrument.listen.tracker import BeatEvent, ChordEvent

    beat_lag = np.array(
        [end - e.t for e, end in zip(evs, ends, strict=True) if isinstance(e, BeatEvent)]
    )
    changes = np.array([e.t for e in evs if isinstance(e, ChordEvent)])
    ref_changes = np.array(
        [
            s
            for (s, _), lab, prev in zip(
                ref.chord_intervals[1:], ref.chord_labels[1:], ref.chord_labels[:-1], strict=True
            )
            if lab != prev
        ]
    )
    chord_lag = []
    for rc in ref_changes:
        after = changes[(changes >= rc - 0.1) & (changes < rc + 1.0)]
        if len(after):
            chord_lag.append(after[0] - rc)
    return beat_lag, np.array(chord_lag), ref_changes


def latency_lines(
    sr: int, beat_lag: np.ndarray, chord_lag: np.ndarray, ref_changes: np.ndarray, base_rtf: float
) -> list[str]:
    """The report's bullet points on the analysis hop, beat and chord lags, the baseline."""
    from instrument.listen.tracker import Listener

    feats = Listener(sr).features
    hop_ms = 1000 * feats.hop / feats.sample_rate  # the hop counts analysis-rate samples
    return [
        f"- Analysis hop: {hop_ms:.1f} ms (100 frames/s, input decimated to "
        f"{feats.sample_rate:.0f} Hz); features look back only (onset window 46 ms, chroma "
        "window 186 ms, both ending at the newest sample).",
        f"- Beats are predicted: at 512-sample blocks a beat is announced a median "
        f"{1000 * np.median(beat_lag):.1f} ms after its time "
        f"(p95 {1000 * np.percentile(beat_lag, 95):.1f} ms, "
        f"negative = before it), counting the wait for the block to fill; add the per-block "
        f"CPU time above.",
        f"- Chord changes: named a median {1000 * np.median(chord_lag):.0f} ms after the "
        f"annotated change (p75 {1000 * np.percentile(chord_lag, 75):.0f} ms; "
        f"{len(chord_lag)} of {len(ref_changes)} changes found within 1 s), i.e. when "
        "the new chord has sounded long enough to outweigh the old one.",
        f"- librosa offline baseline (beat_track + chroma_cqt chords + Viterbi) on the same "
        f"audio: {base_rtf:.1f} × real time on one core, and it needs the whole file first.",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--song", default="004", help="POP909 test song id")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    from instrument.datasets import pop909
    from instrument.listen.baselines import librosa_baseline
    from instrument.listen.evaluate import pop909_reference
    from instrument.listen.renders import cached_excerpt
    from instrument.listen.report import today
    from instrument.listen.tracker import Listener
    from instrument.report import markdown_table
    from instrument.synth import list_soundfonts

    song = pop909.load_song(pop909.song_dir(args.song))
    sfs = [p for p in list_soundfonts() if p.name in ("FluidR3_GM.sf2", "TimGM6mb.sf2")]
    audio, sr, cond = cached_excerpt(args.song, song.midi_path, 30.0, args.seconds, sfs)
    ref = pop909_reference(song, 30.0, len(audio) / sr)
    dur = len(audio) / sr
    Listener(sr).process(audio[: sr // 2])  # compile the numba kernels outside the timing

    machine = (
        f"POP909 song {args.song}, {dur:.0f} s excerpt at {sr} Hz ({cond.describe()}); "
        f"one core ({platform.processor() or platform.machine()}), "
        f"{os.cpu_count()} cores in the machine, others' jobs running beside."
    )
    rows, (evs, ends) = time_blocks(audio, sr)
    c0 = time.process_time()
    librosa_baseline(audio, sr)
    base_rtf = dur / (time.process_time() - c0)

    table = markdown_table(
        TABLE_HEADER,
        [
            [b, round(ms, 1), round(r, 1), round(med, 3), round(p99, 3), round(mx, 3)]
            for b, ms, r, med, p99, mx in rows
        ],
    )
    beat_lag, chord_lag, ref_changes = decision_lags(evs, ends, ref)
    lat = latency_lines(sr, beat_lag, chord_lag, ref_changes, base_rtf)
    text = "\n".join(
        [
            "## Listener speed and decision latency",
            "",
            machine,
            "",
            table,
            "",
            *lat,
            "",
            "Command: `.venv/bin/python bench/bench_listen.py --write`. "
            "Machine: 2-core CPU VM, no GPU. Date: " + today() + ".",
        ]
    )
    print(text)
    if args.write:
        from instrument.report import write_section

        write_section("benchmarks.md", "listen", text)


if __name__ == "__main__":
    main()
