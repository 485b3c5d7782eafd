"""The listener's results.md sections: every figure lands in its row, targets are judged."""

from __future__ import annotations

from instrument.listen.report import (
    POP909_METRICS,
    pop909_markdown,
    real_beats_markdown,
    target_rows,
)

POOLED = {k: 0.5 for k in POP909_METRICS} | {"ref_changes_per_min": 12.0}


def _pop909(unseen: str | None = None) -> dict:
    return {
        "split": "test",
        "start": 30.0,
        "duration": 60.0,
        "songs": [{}, {}],
        "listener": POOLED | {"beat_f": 0.95},
        "baseline": {"beat_f": 0.8},
        "seconds": 12.0,
        "unseen": unseen,
    }


def test_pop909_section_has_a_row_per_metric_and_the_command():
    text = pop909_markdown(_pop909(), 30.0, 60.0)
    assert "| beat F | 0.95 | 0.8 | ≥ 0.90 |" in text
    assert "| chord changes / min | 0.5 |  | (annotation: 12.0) |" in text
    assert all(f"| {name} |" in text for name in POP909_METRICS.values())
    assert "`instrument eval listen --dataset pop909 --split test`" in text
    unseen = pop909_markdown(_pop909("sf_GMbank.sf2"), 10.0, 60.0)
    assert "unseen SoundFont)" in unseen and "**sf_GMbank.sf2**" in unseen
    assert "--dataset pop909-unseen --split test --start 10`" in unseen


def _real(madmom: float | None) -> dict:
    names = ["listener (causal)", "librosa"] + (["madmom online"] if madmom is not None else [])
    scores = {"beat_f": 0.9, "cmlt": 0.8, "amlt": 0.85, "tempo_acc1": 1.0, "tempo_acc2": 1.0}
    pooled = {n: dict(scores) for n in names}
    if madmom is not None:
        pooled["madmom online"]["beat_f"] = madmom
    clip = {"file": "a", "seconds": 30.0, "ref_bpm": 90.0}
    clip |= {n: {"beat_f": pooled[n]["beat_f"], "bpm": 90.0} for n in names}
    return {"clips": [clip], "systems": names, "pooled": pooled, "madmom": madmom is not None}


def test_targets_hold_only_where_the_figures_reach_them():
    seen = {"listener": POOLED | {"beat_f": 0.95, "change_delay_median": 0.1}}
    unseen = {"listener": POOLED | {"beat_f": 0.90, "change_delay_median": 0.2}}
    rows = {label: ok for label, _, ok in target_rows(seen, unseen, _real(0.8))}
    assert rows["POP909 test beat F ≥ 0.90"]
    assert not rows["POP909 test downbeat F ≥ 0.70"]
    assert not rows["unseen SoundFont loses ≤ 0.03 beat F"]  # 0.05 lost
    assert rows["unseen SoundFont loses ≤ 0.03 majmin"]
    assert rows["real recordings beat F ≥ madmom online + 0.05"]  # 0.9 vs 0.8
    assert rows["chord change named ≤ 150 ms after it happens (seen, median)"]
    assert not rows["chord change named ≤ 150 ms after it happens (unseen, median)"]
    no_madmom = target_rows(seen, unseen, _real(None))
    madmom_target = "real recordings beat F ≥ madmom online + 0.05"
    assert (madmom_target, "0.900 (no madmom)", False) in no_madmom


def test_real_beats_section_says_when_madmom_is_missing():
    assert "madmom is not importable here" in real_beats_markdown(_real(None))
    text = real_beats_markdown(_real(0.7))
    assert "madmom is not importable" not in text
    assert "| a (30 s, 90 BPM) | 0.900 (90) | 0.900 (90) | 0.700 (90) |" in text
    assert "| **mean beat F** | 0.900 | 0.900 | 0.700 |" in text
