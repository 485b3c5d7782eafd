"""The screen for a player: C labels on the keys, the status a player needs in large text,
developer figures behind F10, screenshots in the user's data folder, a status printed on
change without a window, no carriage returns from ``listen`` into a pipe."""

from __future__ import annotations

import io
import subprocess
import sys
from types import SimpleNamespace

import pygame
import pytest

from instrument.display.draw import (
    Layout,
    _key_label_font,
    developer_text,
    draw_stage,
    fonts_for,
    key_label,
    status_text,
)
from instrument.display.model import StageModel
from instrument.display.plain import StatusReport
from instrument.ensemble import load_ensemble

pytestmark = pytest.mark.usefixtures("pygame_offscreen")


def _light_pixels(surface, rect) -> int:
    return sum(1 for x in range(rect.left, rect.right) for y in range(rect.top, rect.bottom)
               if sum(surface.get_at((x, y))[:3]) > 450)


def test_each_c_key_carries_its_octave_name():
    assert [key_label(p) for p in (24, 60, 108)] == ["C1", "C4", "C8"]
    surface = pygame.Surface((1280, 720))
    model = StageModel(load_ensemble("quartet"))
    draw_stage(surface, model, 0.0)
    layout = Layout(1280, 720)
    r = layout.keyboard
    row = pygame.Rect(0, r.top + layout.key_height, r.width, r.height - layout.key_height)
    assert row.height >= 10 and _key_label_font(layout).get_height() <= row.height + 2

    def under(pitch: int, semitones: int) -> pygame.Rect:  # the label row below some keys
        x, _ = layout.key_x(pitch)
        x1, w1 = layout.key_x(pitch + semitones - 1)
        return pygame.Rect(x + 2, row.top + 1, x1 + w1 - x - 2, row.height - 2)

    assert _light_pixels(surface, under(60, 2)) > 10  # "C4" under middle C
    assert _light_pixels(surface, under(65, 4)) == 0  # nothing under F4 to G#4


def test_status_shows_the_players_things_large_and_developer_figures_on_f10():
    surface = pygame.Surface((1280, 720))
    model = StageModel(load_ensemble("quartet"))
    s = model.status
    s.midi_state, s.midi_port, s.audio, s.xruns = "connected", "Keystation", "jack", 3
    s.latency_ms, s.cpu_load, s.decide_p99_ms = 5.3, 12.0, 0.4
    text = status_text(model)
    assert "MIDI connected: Keystation" in text and "audio jack" in text and "xruns 3" in text
    assert "CPU" not in text and "decide" not in text and "latency" not in text
    assert "decide p99 0.40 ms" in developer_text(model)
    layout = Layout(1280, 720)
    assert layout.status.height >= fonts_for(layout).normal.get_height()  # the large font
    draw_stage(surface, model, 0.0)
    strip = pygame.Rect(0, layout.status.top - 14, 200, 10)
    plain = [surface.get_at((x, strip.centery))[:3] for x in range(strip.left, strip.right)]
    model.show_developer = True
    draw_stage(surface, model, 0.0)
    shown = [surface.get_at((x, strip.centery))[:3] for x in range(strip.left, strip.right)]
    assert plain != shown  # the developer line appears above the status bar


def test_f12_saves_into_the_screenshots_folder_and_says_where(tmp_path, monkeypatch):
    from instrument.display import stage

    monkeypatch.setenv("INSTRUMENT_HOME", str(tmp_path))
    screen = pygame.Surface((320, 200))
    model = StageModel(load_ensemble("quartet"))
    stage._control_key(pygame.K_F12, None, model, screen, None, [], [])
    saved = list((tmp_path / "screenshots").glob("instrument-*.png"))
    assert len(saved) == 1
    assert model.status.message == f"saved {saved[0].resolve()}"
    stage._control_key(pygame.K_F12, None, model, screen, None, [], [])
    assert len(list((tmp_path / "screenshots").glob("*.png"))) == 2  # never overwritten
    stage._control_key(pygame.K_F10, None, model, screen, None, [], [])
    assert model.show_developer


def _health(xruns=0, state="connected", audio="jack"):
    return SimpleNamespace(audio=audio, xruns=xruns,
                           midi=SimpleNamespace(state=state, port="Keys"))


def test_plain_status_is_printed_on_change_not_on_every_xrun():
    report = StatusReport(xrun_every=30.0)
    lines = [report.line(_health(), 0.0)]
    lines += [report.line(_health(xruns=k), 1.0 + k) for k in range(1, 10)]  # 9 xruns in 10 s
    lines.append(report.line(_health(xruns=9, state="lost"), 11.0))  # a change: at once
    lines += [report.line(_health(xruns=12, state="lost"), t) for t in (20.0, 45.0, 46.0)]
    said = [x for x in lines if x]
    assert said == ["instrument: audio jack, MIDI connected Keys",
                    "instrument: 1 xruns since the last report (1 in all)",  # the first: at once
                    "instrument: audio jack, MIDI lost Keys, xruns 9",
                    "instrument: 3 xruns since the last report (12 in all)"]
    out = io.StringIO()
    report.out = out
    report.finish(_health(xruns=12, state="lost"))
    assert out.getvalue() == "", "nothing left unreported"
    report.finish(_health(xruns=15, state="lost"))
    assert out.getvalue() == "instrument: 3 xruns since the last report (15 in all)\n"


def test_listen_into_a_pipe_writes_lines_not_carriage_returns(tmp_path):
    import soundfile as sf

    from tests.support.testsignal import make_song

    song = make_song(bpm=120, bars=4)
    path = tmp_path / "song.wav"
    sf.write(path, song.audio, song.sample_rate)
    r = subprocess.run([sys.executable, "-m", "instrument", "listen", str(path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "\r" not in r.stdout and "bar" in r.stdout
    assert len(r.stdout.splitlines()) >= 3
