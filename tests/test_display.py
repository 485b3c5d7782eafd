"""The stage display, drawn offscreen (SDL dummy driver) and checked pixel by pixel."""

from __future__ import annotations

import pygame
import pytest

from instrument.display.draw import Layout, draw_stage, part_colour
from instrument.display.model import Feedback, StageModel
from instrument.ensemble import load_ensemble
from instrument.live.performer import NoteEvent
from instrument.timing import BeatState

pytestmark = pytest.mark.usefixtures("pygame_offscreen")


def stage(size=(1280, 720)) -> tuple[pygame.Surface, StageModel]:
    return pygame.Surface(size), StageModel(load_ensemble("quartet"))


def test_a_note_of_part_k_appears_in_k_colour_where_it_belongs():
    surface, model = stage()
    now = 100.0
    for part, pitch in enumerate((84, 72, 60, 43)):
        model.on_note(NoteEvent(True, pitch, 100, part, part, now - 3.0))
        model.on_note(NoteEvent(False, pitch, 0, part, part, now - 1.0))
    model.update(now)
    draw_stage(surface, model, now)
    layout = Layout(*surface.get_size())
    for part, pitch in enumerate((84, 72, 60, 43)):
        y, h = layout.pitch_y(pitch)
        x = layout.time_x(now - 2.0, now, model.roll_seconds)  # in the middle of the note
        assert surface.get_at((x, y + h // 2))[:3] == part_colour(part)
        x_after = layout.time_x(now - 0.5, now, model.roll_seconds)  # after its end
        assert surface.get_at((x_after, y + h // 2))[:3] != part_colour(part)


def test_held_keys_light_in_their_part_colour():
    surface, model = stage()
    model.on_note(NoteEvent(True, 64, 100, 2, 2, 1.0))  # E4, a white key
    model.update(1.0)
    draw_stage(surface, model, 1.0)
    layout = Layout(*surface.get_size())
    x, w = layout.key_x(64)
    foot = layout.keyboard.top + layout.key_height - 3  # the white key's lower end
    assert surface.get_at((x + w // 2, foot))[:3] == part_colour(2)
    model.on_note(NoteEvent(False, 64, 0, 2, 2, 1.5))
    model.update(1.5)
    draw_stage(surface, model, 1.5)
    assert surface.get_at((x + w // 2, foot))[:3] == (235, 235, 235)


def _has_text(surface: pygame.Surface, rect: pygame.Rect, colour: tuple[int, int, int]) -> bool:
    """Whether any pixel of ``colour`` lies inside ``rect`` (anti-aliased text has some)."""
    for x in range(rect.left, rect.right, 1):
        for y in range(rect.top, rect.bottom, 2):
            if surface.get_at((x, y))[:3] == colour:
                return True
    return False


def test_chord_and_feedback_appear_in_the_panel():
    surface, model = stage()
    draw_stage(surface, model, 0.0)
    layout = Layout(*surface.get_size())
    panel = layout.panel
    empty = pygame.Surface.copy(surface)
    model.chord = "Cmaj7"
    model.beat = BeatState(120.0, 5.2, 4, 0.4)
    model.feedback = Feedback("G7", "G7/B", True, -40.0, "all notes right", "3/4 right")
    draw_stage(surface, model, 0.0)
    changed = sum(surface.get_at((x, y)) != empty.get_at((x, y))
                  for x in range(panel.left, panel.right, 3)
                  for y in range(panel.top, panel.top + layout.unit * 4, 3))
    assert changed > 50, "the chord name is drawn"
    assert _has_text(surface, panel, (70, 200, 110)), "correct feedback is green"
    model.feedback = Feedback("G7", "C", False, 80.0, "missing B D F", "3/5 right")
    draw_stage(surface, model, 0.0)
    assert _has_text(surface, panel, (230, 70, 70)), "wrong feedback is red"


def test_a_lost_midi_device_shows_in_the_status_line():
    surface, model = stage()
    model.status.midi_state, model.status.midi_port = "connected", "USB Keys"
    draw_stage(surface, model, 0.0)
    status = Layout(*surface.get_size()).status
    ok_colour = surface.get_at((status.right - 2, status.centery))[:3]
    model.status.midi_state = "lost"
    draw_stage(surface, model, 0.0)
    assert surface.get_at((status.right - 2, status.centery))[:3] == (90, 20, 20)
    assert ok_colour != (90, 20, 20)


@pytest.mark.parametrize("size", [(640, 360), (1280, 720), (1920, 1080), (800, 1000)])
def test_layout_stays_sane_when_resized(size):
    layout = Layout(*size)
    areas = [layout.header, layout.roll, layout.panel, layout.keyboard, layout.status]
    screen = pygame.Rect(0, 0, *size)
    for a in areas:
        assert screen.contains(a) and a.width > 0 and a.height > 0
    for i, a in enumerate(areas):
        for b in areas[i + 1:]:
            assert not a.colliderect(b), (a, b)
    assert layout.roll.height > size[1] / 3
    assert layout.pitch_y(108)[0] >= layout.roll.top and layout.pitch_y(21)[0] < layout.roll.bottom
    surface, model = stage(size)
    draw_stage(surface, model, 0.0)  # draws without error at every size
