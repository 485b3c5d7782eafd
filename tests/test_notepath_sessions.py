"""Which note path the front ends play on: ``play`` with and without the stage window
report the compiled one (``live.notepath``), and a set-up it cannot play names the
Python fallback."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest


def _play(*extra: str, env: dict | None = None) -> tuple[str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "instrument", "play", "--audio", "none", "--midi-in", "none",
         "--ensemble", "choir", "--duration", "1", *extra],
        capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, proc.stderr


def test_play_without_the_window_uses_the_compiled_path():
    assert "note path compiled" in _play("--no-display")[0]


def test_play_with_the_stage_window_uses_the_compiled_path():
    out, err = _play(env={"SDL_VIDEODRIVER": "dummy"})  # the stage, offscreen
    assert "note path compiled" in out
    assert "no display found" not in err


def test_mpe_keeps_the_python_path_and_says_so():
    assert "note path python (MPE)" in _play("--no-display", "--mpe")[0]


def test_the_python_path_when_asked_or_for_an_arranger_it_cannot_play():
    assert "note path python (asked)" in _play("--no-display", "--note-path", "python")[0]
    out = _play("--no-display", "--arranger", "closest")[0]
    assert "note path python (closest arranger)" in out


@pytest.mark.parametrize("arranger", ["lstm", "zone"])
def test_a_session_plays_its_notes_through_the_compiled_path(arranger):
    from instrument.arrange import make_arranger
    from instrument.ensemble import load_ensemble
    from instrument.live.compiled import CompiledPerformer
    from instrument.live.session import LiveSession
    from instrument.synth import find_soundfont

    choir = load_ensemble("choir")
    live = LiveSession(choir, make_arranger(arranger, choir), find_soundfont(), audio="none",
                       midi_in="none")  # fmt: skip
    heard = []
    live.performer.add_listener(heard.append)
    live.start()
    try:
        assert isinstance(live.performer, CompiledPerformer)
        live.handle([0x90, 60, 100])
        live.handle([0x80, 60, 0])
        assert [e.on for e in heard] == [True, False]  # told at once, in this thread
        assert live.health().note_path == "compiled"
        assert live.performer.counters.notes == 1
        assert live.performer.counters.decision_percentiles()[1] > 0.0
    finally:
        live.close()


RENDER_PATHS = [("lstm", "compiled"), ("zone", "compiled"), ("bilstm", "python (bilstm arranger)")]


@pytest.mark.parametrize(("arranger", "path"), RENDER_PATHS)
def test_render_plays_through_the_compiled_path(tmp_path, arranger, path):
    from instrument.arrange import make_arranger
    from instrument.ensemble import load_ensemble
    from instrument.live.render import render_file
    from instrument.synth import find_soundfont
    from tests.test_render import make_piece

    src = tmp_path / "piece.mid"
    played = make_piece(src)
    choir = load_ensemble("choir")
    rendering = render_file(src, choir, make_arranger(arranger, choir), find_soundfont())
    assert rendering.note_path == path
    assert len(rendering.notes) == len(played)
    assert np.abs(rendering.audio).max() > 0.01


def test_render_says_which_note_path_it_took(tmp_path):
    from tests.test_render import make_piece

    make_piece(tmp_path / "piece.mid")
    proc = subprocess.run(
        [sys.executable, "-m", "instrument", "render", str(tmp_path / "piece.mid"), "-o",
         str(tmp_path / "out.wav"), "--ensemble", "choir"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "note path compiled" in proc.stdout
