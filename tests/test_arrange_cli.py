"""`instrument train arrange` and `instrument eval arrange` end to end on small inputs."""

from __future__ import annotations

import json

from instrument.cli import main
from tests.test_datasets_midi import write_midi


def test_train_on_a_midi_folder_writes_model_and_card(tmp_path, capsys):
    folder = tmp_path / "midi"
    folder.mkdir()
    for i in range(10):
        melody = [(480 * j, 480, 72 + (i + j) % 5, 80) for j in range(16)]
        bass = [(960 * j, 960, 40 + (i + j) % 4, 70) for j in range(8)]
        write_midi(
            folder / f"song{i}.mid",
            [("Melody", 0, melody), ("Bridge", 1, bass), ("Piano", 2, bass)],
        )
    out = tmp_path / "trio-lstm.pt"
    code = main(
        [
            "train",
            "arrange",
            "--midi-dir",
            str(folder),
            "--ensemble",
            "pop909",
            "--epochs",
            "1",
            "--steps",
            "2",
            "--hidden",
            "8",
            "--layers",
            "1",
            "--variants",
            "1",
            "--dagger-epochs",
            "0",
            "--no-progress",
            "--out",
            str(out),
            "--threads",
            "1",
        ]
    )
    assert code == 0
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["ensemble"] == "pop909" and card["model"] == "lstm"
    assert card["hyperparameters"]["hidden"] == 8 and card["use_velocity"] is True
    m = card["metrics"]
    assert all(0.0 <= m[k] <= 1.0 for k in ("valid_score", "valid_first", "valid_final"))
    assert "performance" in card["data"]["augmentation"] and "first-decision" in card["selection"]
    assert "--midi-dir" in card["command"]


def test_train_without_data_is_a_one_line_error(capsys):
    assert main(["train", "arrange", "--model", "lstm"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("instrument: error: give --dataset or --midi-dir")


def test_train_on_a_folder_of_part_less_files_is_a_clear_error(tmp_path, capsys):
    write_midi(tmp_path / "solo.mid", [("Piano", 0, [(0, 480, 60, 64)])])
    assert main(["train", "arrange", "--midi-dir", str(tmp_path), "--ensemble", "choir"]) == 2
    assert "no usable multitrack MIDI files" in capsys.readouterr().err


def test_eval_prints_one_json_object(data_dir, capsys):
    code = main(
        [
            "eval",
            "arrange",
            "--dataset",
            "bach",
            "--split",
            "test",
            "--limit",
            "2",
            "--json",
            "--no-write",
        ]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["dataset"] == "bach" and result["split"] == "test"
    head = result["headline"]
    assert {"majority", "zone", "closest", "lstm", "lstm-revision"} <= set(head)
    for row in head.values():  # performance timing beside score timing, first and final
        for key in ("random_final", "random_first", "score_final", "low-high_final"):
            assert 0.0 <= row[key] <= 100.0
        assert row["random_final_sd"] >= 0.0
    # the zone split is a fixed pitch table: no order or revision changes it
    assert head["zone"]["random_first"] == head["zone"]["random_final"]
    assert result["unshared_tunes"]["pieces"] <= 2
