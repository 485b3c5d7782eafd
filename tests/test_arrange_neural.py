"""The neural arrangers: fast numba step against torch, the live path against the batch
path, the budget guard, a one-step training smoke test, and the shipped models' floor."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from instrument.arrange import features as F
from instrument.arrange import make_arranger
from instrument.arrange import model as M
from instrument.arrange import train as T
from instrument.arrange.base import Note
from instrument.arrange.fast import FastLSTM
from instrument.arrange.neural import LSTMArranger
from instrument.datasets.corpus import Piece
from instrument.ensemble import load_ensemble
from instrument.errors import InstrumentError
from instrument.paths import MODELS


def toy_piece(n_groups: int = 60, seed: int = 0) -> Piece:
    """Four voices moving by small steps, struck together: S > A > T > B."""
    rng = np.random.default_rng(seed)
    voices = np.array([72, 64, 57, 48])
    rows, part = [], []
    for g in range(n_groups):
        voices = voices + rng.integers(-2, 3, 4)
        for k in range(4):
            rows.append((g * 0.5, g * 0.5 + 0.5, voices[k], 64))
            part.append(k)
    return Piece.from_notes("toy", ("S", "A", "T", "B"), np.array(rows, float), np.array(part))


def test_fast_step_equals_torch_within_1e5():
    torch.manual_seed(0)
    model = M.OnlineLSTM(4, hidden=32, layers=3, embed=8).eval()
    piece = toy_piece()
    feats = F.teacher_forced_features(
        piece.pitch, piece.time, piece.end, piece.velocity, piece.part, 4, False
    )
    with torch.no_grad():
        ref, _ = model(torch.from_numpy(piece.pitch)[None], torch.from_numpy(feats)[None])
    fast = FastLSTM(M.numpy_weights(model), 4, model.n_features)
    for i in range(len(piece)):
        fast.x[:] = feats[i]
        out = fast.step(int(piece.pitch[i]))
        np.testing.assert_allclose(out, ref[0, i].numpy(), atol=1e-5, rtol=0)


def trained_toy_model(tmp_path, steps: int = 1):
    """A tiny LSTM trained for ``steps`` steps on toy pieces, saved as a choir model."""
    pieces = [toy_piece(seed=s) for s in range(4)]
    config = dict(
        hidden=16,
        layers=1,
        embed=4,
        lr=1e-2,
        batch=4,
        window=64,
        variants=2,
        steps=steps,
        dagger_epochs=0,
    )
    model, history = T.train(
        "lstm", pieces[:3], pieces[3:], 4, config, epochs=1, progress=False, log=lambda *_: None
    )
    path = tmp_path / "choir-lstm.pt"
    M.save(path, "lstm", model, config, {"parts": ["S", "A", "T", "B"]})
    return model, history, path


def test_one_training_step_changes_weights_and_saves_a_card(tmp_path):
    torch.manual_seed(0)
    before = M.OnlineLSTM(4, hidden=16, layers=1, embed=4).state_dict()
    model, history, path = trained_toy_model(tmp_path)
    after = model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert len(history) == 1 and np.isfinite(history[0]["loss"])
    assert 0.0 <= history[0]["valid"] <= 1.0
    assert json.loads(path.with_suffix(".json").read_text())["parts"] == ["S", "A", "T", "B"]
    loaded, config, _ = M.load(path, "lstm", 4)
    assert config["hidden"] == 16


def toy_notes(piece, order: str = "random", seed: int = 0):
    from instrument.arrange.performance import perform

    perf = perform(piece, np.random.default_rng(seed), order)
    return perf, perf.notes()


def test_live_arranger_matches_the_batch_kernel(tmp_path):
    from instrument.arrange.base import Arranger

    _, _, path = trained_toy_model(tmp_path, steps=30)
    arranger = LSTMArranger(load_ensemble("choir"), path=path, budget_s=10.0)
    _, notes = toy_notes(toy_piece(seed=9))
    # note by note through assign + revisions (the performer's calls) ...
    first, final = Arranger.perform_all(arranger, notes)
    # ... and the whole list in one numba call give the same first and final parts
    first_b, final_b = arranger.perform_all(notes)
    assert first.tolist() == first_b.tolist() and final.tolist() == final_b.tolist()
    assert arranger.stats().fallbacks == 0
    assert (first != final).any()  # the revisions did something on this untrained model


def _finals_in_every_order(arranger) -> set[tuple[int, ...]]:
    """The final parts of one four-note chord (after two chords of context), by pitch,
    for each of its 24 arrival orders."""
    import itertools

    context = [
        Note(p, 64, 0.5 * g + 0.003 * k, None, 0.5 * g + 0.45)
        for g, chord in enumerate([(48, 57, 64, 72), (50, 57, 65, 74)])
        for k, p in enumerate(chord)
    ]
    chord = (47, 55, 62, 74)
    times = [1.0, 1.008, 1.015, 1.03]  # spread over 30 ms, within one onset group
    finals = set()
    for perm in itertools.permutations(chord):
        notes = context + [Note(p, 64, t, None, 1.45) for p, t in zip(perm, times, strict=True)]
        _, final = arranger.perform_all(notes)
        by_pitch = dict(zip(perm, final[-4:].tolist(), strict=True))
        finals.add(tuple(by_pitch[p] for p in chord))
    return finals


def test_the_revision_alone_gives_the_same_final_parts_in_any_arrival_order(tmp_path):
    """Without the arrival view (weight 0) the revision decides each chord low to high from
    the state before it: the order the fingers landed in cannot change the final parts."""
    _, _, path = trained_toy_model(tmp_path, steps=30)
    arranger = LSTMArranger(load_ensemble("choir"), path=path, budget_s=10.0, arrival_weight=0.0)
    finals = _finals_in_every_order(arranger)
    assert len(finals) == 1
    assert sorted(finals.pop()) == [0, 1, 2, 3]  # one voice per note: the polyphony rule


def test_with_the_arrival_view_every_order_still_gives_one_voice_per_note(tmp_path):
    _, _, path = trained_toy_model(tmp_path, steps=30)
    arranger = LSTMArranger(load_ensemble("choir"), path=path, budget_s=10.0)
    assert arranger.rules.lean[0] == 2.0
    for final in _finals_in_every_order(arranger):
        assert sorted(final) == [0, 1, 2, 3]


def test_the_arrival_view_makes_the_shipped_choir_right_more_often_at_the_note_on(data_dir):
    """The newest note's revision weighs in its arrival view (``fast.live_revise``): on
    valid chorales played with chord notes in random order, more notes sound on their
    part at once than from the revision alone, and the final parts do not get worse."""
    from instrument.arrange.performance import perform
    from instrument.datasets.corpus import load_pieces

    ens = load_ensemble("choir")
    pieces = load_pieces("bach", "valid", limit=8)
    right = {}
    for weight in (0.0, 2.0):
        lstm = LSTMArranger(ens, arrival_weight=weight)
        lstm.use_time_guard(False)
        first = final = total = 0
        for i, p in enumerate(pieces):
            perf = perform(p, np.random.default_rng([7, i]), "random")
            onset, last = lstm.perform_all(perf.notes())
            first += int(perf.right(onset).sum())
            final += int(perf.right(last).sum())
            total += len(perf)
        right[weight] = (first / total, final / total)
    assert right[2.0][0] >= right[0.0][0] + 0.02, right
    assert right[2.0][1] >= right[0.0][1] - 0.005, right


def test_ranges_are_soft_and_counted(tmp_path):
    from instrument.arrange.neural import range_penalty

    choir = load_ensemble("choir")
    pen = range_penalty(choir)
    assert pen[70, 0] == 0.0 and pen[59, 0] < 0.0 and pen[58, 0] < pen[59, 0]
    assert pen[36, 3] == 0.0 and pen[30, 0] < -5.0
    _, _, path = trained_toy_model(tmp_path, steps=30)
    arranger = LSTMArranger(choir, path=path, budget_s=10.0)
    _, notes = toy_notes(toy_piece(seed=4))
    arranger.perform_all(notes)
    assert arranger.binds[0] > 0 and arranger.binds[1] > 0


def test_budget_guard_falls_back_to_zone_and_counts(tmp_path):
    _, _, path = trained_toy_model(tmp_path)
    arranger = LSTMArranger(load_ensemble("choir"), path=path, budget_s=0.0)
    parts = [arranger.assign(Note(60 + i, 64, 0.5 * i)) for i in range(10)]
    # every step overruns a zero budget, so every other note takes the zone decision
    stats = arranger.stats()
    assert stats.fallbacks == 5 and stats.steps == 5
    zone = make_arranger("zone", load_ensemble("choir"))
    assert all(parts[i] == zone.assign(Note(60 + i, 64, 0.0)) for i in range(1, 10, 2))


def test_missing_or_corrupt_model_is_a_clear_error(tmp_path):
    from instrument.errors import InstrumentError

    with pytest.raises(InstrumentError, match="no trained model"):
        LSTMArranger(load_ensemble("choir"), path=tmp_path / "none.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    with pytest.raises(InstrumentError, match="not a readable lstm arranger model"):
        LSTMArranger(load_ensemble("choir"), path=bad)


# (data set, ensemble, final accuracy floor, floor at the note-on, margin over zone) on
# 4 test pieces, performance timing with random order: a little under docs/results.md
# (pop's 4 pieces: 88.5 final, 87.5 first, zone 81.2)
SHIPPED = [
    ("bach", "choir", 0.90, 0.78, 0.12),
    ("quartet", "quartet", 0.64, 0.58, 0.04),
    ("pop", "pop", 0.85, 0.84, 0.05),
]


@pytest.mark.parametrize("dataset,ensemble,floor,first_floor,margin", SHIPPED)
def test_shipped_lstm_beats_zone_as_a_keyboardist_plays(
    data_dir, dataset, ensemble, floor, first_floor, margin
):
    from instrument.arrange.performance import perform
    from instrument.datasets.corpus import load_pieces

    pieces = load_pieces(dataset, "test", limit=4)
    ens = load_ensemble(ensemble)
    lstm, zone = make_arranger("lstm", ens), make_arranger("zone", ens)
    lstm.use_time_guard(False)
    right = {"first": 0, "final": 0, "zone": 0}
    total = 0
    for i, p in enumerate(pieces):
        perf = perform(p, np.random.default_rng([0, i]), "random")
        first, final = lstm.perform_all(perf.notes())
        right["first"] += int(perf.right(first).sum())
        right["final"] += int(perf.right(final).sum())
        right["zone"] += int(perf.right(zone.perform_all(perf.notes())[1]).sum())
        total += len(perf)
    acc = {k: v / total for k, v in right.items()}
    assert acc["final"] >= floor, acc
    assert acc["first"] >= first_floor, acc
    assert acc["final"] >= acc["zone"] + margin, acc


def test_shipped_bilstm_reaches_its_floor_on_test_pieces(data_dir):
    from instrument.arrange.performance import score_performance
    from instrument.datasets.corpus import load_pieces

    bilstm = make_arranger("bilstm", load_ensemble("choir"))
    assert bilstm.model.decode == "groups"
    right = total = 0
    for p in load_pieces("bach", "test", limit=4):
        right += int((np.array(bilstm.assign_all(score_performance(p).notes())) == p.part).sum())
        total += len(p)
    assert right / total >= 0.97, right / total


def test_default_arranger_is_lstm_when_shipped(tmp_path, monkeypatch):
    from instrument import paths
    from instrument.arrange import default_arranger_name

    for name in ("choir", "quartet", "pop909", "pop"):
        ens = load_ensemble(name)
        expected = "lstm" if (MODELS / f"{name}-lstm.pt").exists() else "zone"
        assert default_arranger_name(ens) == expected
    monkeypatch.setattr(paths, "MODELS", tmp_path)  # no model shipped: the zone split
    assert default_arranger_name(load_ensemble("pop")) == "zone"


def test_every_shipped_ensemble_is_arranged_by_a_trained_model():
    from instrument.arrange import default_arranger_name
    from instrument.paths import ROOT

    shipped = sorted((ROOT / "configs" / "ensembles").glob("*.toml"))
    assert {p.stem for p in shipped} >= {"choir", "quartet", "pop909", "pop"}
    for path in shipped:
        ens = load_ensemble(path.stem)
        assert default_arranger_name(ens) == "lstm", path.name
        model = M.load(MODELS / f"{ens.name}-lstm.pt", "lstm", len(ens))[0]
        assert model.n_parts == len(ens)


def test_bilstm_plan_is_replayed_note_by_note(tmp_path):
    from instrument.arrange.neural import BiLSTMArranger

    pieces = [toy_piece(seed=s) for s in range(3)]
    config = dict(
        hidden=8,
        layers=1,
        embed=4,
        lr=1e-2,
        batch=2,
        window=64,
        variants=1,
        steps=5,
        dagger_epochs=0,
    )
    model, _ = T.train(
        "bilstm", pieces[:2], pieces[2:], 4, config, epochs=1, progress=False, log=lambda *_: None
    )
    path = tmp_path / "choir-bilstm.pt"
    M.save(path, "bilstm", model, config, {"parts": ["S", "A", "T", "B"]})
    arranger = BiLSTMArranger(load_ensemble("choir"), path=path)
    piece = toy_piece(seed=5)
    notes = [
        Note(int(p), 64, float(t), None, float(e))
        for p, t, e in zip(piece.pitch, piece.time, piece.end, strict=True)
    ]
    arranger.plan(notes)
    planned = arranger.assign_all(notes)
    from instrument.arrange.performance import score_performance

    assert planned == T.offline_predict(model, score_performance(piece)).tolist()
    # the replay hands out the planned parts even when notes of a chord arrive reordered
    replay = [arranger.assign(n) for n in notes[:4][::-1]] + [arranger.assign(n) for n in notes[4:]]
    assert replay == planned[:4][::-1] + planned[4:]


def test_zone_part_of_is_its_table_and_its_decision():
    from instrument.arrange.zone import ZoneArranger

    zone = ZoneArranger(load_ensemble("choir"), boundaries=[67, 60, 52])
    assert zone.table.shape == (128,) and zone.table.dtype == np.int64
    assert [zone.part_of(p) for p in (80, 67, 66, 60, 59, 52, 51, 30)] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert all(zone.part_of(p) == zone.assign(Note(p, 64, 0.0)) for p in range(128))


def test_schedule_stops_early_and_then_trains_on_own_histories():
    said = []
    schedule = T.Schedule.of("lstm", {"dagger_epochs": 2}, 10, 2, 60.0)
    steps = []
    while schedule.next_epoch():
        # the score improves only in the first epoch of each phase
        improved = schedule.epoch in (1, 4)
        steps.append(schedule.after(improved, 0.1 * schedule.epoch, 0.1, said.append))
        if steps[-1] == "stop":
            break
    # two epochs without progress end teacher forcing; two more on the model's own
    # histories, then the phase's limit
    assert steps == ["go", "go", "own history", "go", "go"]
    assert schedule.own_history and schedule.epoch == 5
    assert any("early stop" in s for s in said)


def test_schedule_stops_before_an_epoch_past_the_budget():
    said = []
    schedule = T.Schedule.of("lstm", {"dagger_epochs": 2}, 10, 5, 1.0)
    assert schedule.next_epoch()
    # 0.6 min in, an epoch of 0.6 min would end past the 1-minute budget: no second phase
    assert schedule.after(True, 0.6, 0.6, said.append) == "stop"
    assert said == ["stopping: time budget of 1.0 min reached"]
    bilstm = T.Schedule.of("bilstm", {"dagger_epochs": 2}, 3, 5, 60.0)
    assert bilstm.dagger_left == 0 and bilstm.limit == 3


def test_remap_parts_starts_a_new_part_as_a_copy_of_an_old_one():
    """pop from pop909 (--init-parts 0,1,2,2): the old parts' logits are unchanged, the
    new part starts as the old one it copies, one logit lower, and ignores its history."""
    torch.manual_seed(0)
    old = M.OnlineLSTM(3, hidden=16, layers=2, embed=4).eval()
    new = M.OnlineLSTM(4, hidden=16, layers=2, embed=4).eval()
    new.load_state_dict(M.remap_parts(old.state_dict(), [0, 1, 2, 2], embed=4))
    rng = np.random.default_rng(0)
    pitch = torch.from_numpy(rng.integers(30, 90, (1, 40)))
    feats = torch.from_numpy(rng.normal(size=(1, 40, old.n_features)).astype(np.float32))
    bass = torch.from_numpy(rng.normal(size=(1, 40, F.N_PER_PART)).astype(np.float32))
    with torch.no_grad():
        want, _ = old(pitch, feats)
        got, _ = new(pitch, torch.cat([feats, bass], dim=-1))
    torch.testing.assert_close(got[..., :3], want, atol=1e-5, rtol=0)
    torch.testing.assert_close(got[..., 3], want[..., 2] - 1.0, atol=1e-5, rtol=0)
    with pytest.raises(InstrumentError, match="cannot map"):
        M.remap_parts(old.state_dict(), [0, 3], embed=4)


def test_train_from_another_ensemble_with_init_parts(tmp_path):
    path = tmp_path / "trio-lstm.pt"
    torch.manual_seed(0)
    trio = M.OnlineLSTM(3, hidden=8, layers=1, embed=4)
    config = dict(hidden=8, layers=1, embed=4, lr=1e-2, batch=2, window=32, variants=1)
    M.save(path, "lstm", trio, config, {"parts": ["Melody", "Bridge", "Piano"]})
    assert M.parts_of_checkpoint(path) == 3
    job = T.Job(init=str(path), init_parts=[0, 1, 2, 2])
    state, card = T.initial_weights(job, 4, dict(T.DEFAULTS["lstm"]))
    assert state["out.weight"].shape == (4, 8) and card["parts"][2] == "Piano"
    with pytest.raises(InstrumentError, match="init-parts"):
        T.initial_weights(T.Job(init=str(path), init_parts=[0, 1]), 4, {})
