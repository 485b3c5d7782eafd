"""The accompaniment model: its token language, the shipped weights, sampling, and the
model band on a POP909 test song with its chord chart."""

from __future__ import annotations

import json

import mido
import numpy as np
import pytest
import torch

from instrument.accompany.generator import ModelGenerator
from instrument.accompany.metrics import chord_tone_ratio
from instrument.accompany.model import Stepper, load_model, sample
from instrument.accompany.notes import BASS, COMP, MELODY, STEPS_PER_BEAT
from instrument.accompany.offline import chart_track
from instrument.accompany.options import DEFAULT_MODEL
from instrument.accompany.tokens import (
    BEAT,
    DURATIONS,
    RANGES,
    VOCAB,
    decode_note,
    event_tokens,
    events,
    fold,
)
from instrument.cli import main
from instrument.errors import InstrumentError
from instrument.harmony.chart import parse_chart


@pytest.fixture(scope="module")
def model():
    if not DEFAULT_MODEL.exists():
        pytest.skip(f"no trained model at {DEFAULT_MODEL} (instrument train accompany)")
    torch.set_num_threads(1)
    return load_model(DEFAULT_MODEL)


@pytest.fixture(scope="module")
def test_song(data_dir):
    from instrument.accompany.data import grid_song
    from instrument.datasets import pop909
    from instrument.datasets.splits import split_ids

    return grid_song(pop909.load_song(pop909.song_dir(split_ids("pop909", "test")[0], data_dir)))


def test_pop909_song_on_the_grid(test_song):
    n = test_song.notes
    assert {int(p) for p in np.unique(n[:, 2])} == {MELODY, BASS, COMP}
    assert n[n[:, 2] == BASS, 3].max() <= 52  # the bass is the left hand's low register
    assert (n[:, 1] >= 1).all() and (np.diff(n[:, 0]) >= 0).all()
    assert len(test_song.chords) > 10 and test_song.beats_per_bar in (3, 4)
    assert 40 < test_song.tempo < 200


def test_tokens_round_trip(test_song):
    ev = events(test_song.notes, 0, test_song.n_beats)
    tokens = event_tokens(ev)
    assert (tokens == BEAT).sum() == test_song.n_beats
    notes = ev[:, 0] < 0
    assert notes.sum() == len(test_song.notes)
    for (_kind, part, pitch, dur, _step), tok in zip(
        ev[notes][:300], tokens[notes][:300], strict=True
    ):
        p, q, d = decode_note(int(tok))
        assert p == part and q == fold(pitch, part)
        assert d == DURATIONS[np.abs(DURATIONS - dur).argmin()]
    shifted = event_tokens(ev, 3)  # transposing moves pitches, keeps the grammar
    assert (shifted[~notes] == tokens[~notes]).all()


def test_sampling_controls():
    logits = torch.tensor([0.0, 3.0, 2.9, -1.0, float("-inf")])
    gen = torch.Generator().manual_seed(0)
    assert sample(logits, temperature=0) == 1
    assert {sample(logits, 1.0, top_k=1, generator=gen) for _ in range(20)} == {1}
    assert {sample(logits, 1.0, top_p=0.01, generator=gen) for _ in range(20)} == {1}
    drawn = {sample(logits, 1.0, top_k=2, generator=gen) for _ in range(200)}
    assert drawn == {1, 2}  # never a masked (-inf) token, never outside the top k
    hot = {sample(logits, 5.0, generator=gen) for _ in range(300)}
    assert 4 not in hot and len(hot) == 4


def test_shipped_model_card_and_size(model):
    card = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())
    for key in ("data", "split", "metrics", "command", "training"):
        assert key in card
    assert card["split"]["file"] == "configs/splits/pop909.json"
    assert DEFAULT_MODEL.stat().st_size < 8_000_000
    assert model.config["vocab"] == VOCAB


def test_stepper_matches_the_module(model):
    torch.manual_seed(0)
    x = torch.randint(3, VOCAB, (1, 12))
    c = torch.rand(1, 12, model.config["cond_dim"])
    with torch.no_grad():
        ref, _ = model(x, c)
        st = Stepper(model)
        d = model.config["d_model"]
        layers = model.config["n_layers"]
        state = (torch.zeros(layers, 1, d), torch.zeros(layers, 1, d))
        for t in range(12):
            logits, state = st.step(int(x[0, t]), st.cond_gates(c[0, t : t + 1])[0], state)
    assert torch.allclose(logits, ref[0, -1], atol=1e-4)


def test_generator_plans_on_chords_and_grid(model):
    chart = parse_chart("| C | Am | F | G | C | Am | F | G |")
    chords = chart_track(chart)
    gen = ModelGenerator(model, seed=1)
    history = np.zeros((0, 4), dtype=np.int64)
    rows = []
    for b in range(32):
        planned = gen.plan(b, history, chords, 4, (BASS, COMP))
        for part, pitch, dur, step in planned:
            assert part in (BASS, COMP)  # accompaniment mode: never the player's part
            assert b * STEPS_PER_BEAT <= step < (b + 1) * STEPS_PER_BEAT
            assert RANGES[part][0] <= pitch <= RANGES[part][1] and dur in DURATIONS
        rows += [(step, dur, part, pitch) for part, pitch, dur, step in planned]
        history = np.array(rows, dtype=np.int64).reshape(-1, 4)
    assert len(rows) >= 32  # it plays
    assert chord_tone_ratio(history, chords) >= 0.7  # and follows the chords
    cont = gen.plan(32, history, chords, 4, (MELODY, BASS, COMP))
    assert all(p in (MELODY, BASS, COMP) for p, *_ in cont)


def test_model_band_on_pop909_test_song(model, test_song, tmp_path):
    from instrument.accompany.offline import pop909_example

    mel, chart_path = pop909_example(test_song, tmp_path, bars=12)
    out = tmp_path / "out.mid"
    assert (
        main(
            [
                "accompany",
                str(mel),
                "--chart",
                str(chart_path),
                "-o",
                str(out),
                "--style",
                "model",
                "--seed",
                "3",
            ]
        )
        == 0
    )
    midi = mido.MidiFile(str(out))
    names = [t.name for t in midi.tracks]
    assert {"Player", "Bass", "Comping", "Drums"} <= set(names)
    comp = midi.tracks[names.index("Comping")]
    chords = chart_track(parse_chart(chart_path.read_text()))
    tick, rows = 0, []
    for m in comp:
        tick += m.time
        if m.type == "note_on" and m.velocity:
            rows.append((round(tick / 480 * STEPS_PER_BEAT), 1, COMP, m.note))
    assert len(rows) > 20
    assert chord_tone_ratio(np.array(rows), chords) >= 0.7


def test_missing_model_is_one_line_error(tmp_path):
    with pytest.raises(InstrumentError, match="not found"):
        load_model(tmp_path / "none.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    with pytest.raises(InstrumentError, match="not a readable"):
        load_model(bad)
