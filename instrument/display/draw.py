"""Drawing the stage: a pure function of the model and the window size.

Layout, top to bottom: header (ensemble and its parts' colours), piano roll (time flows
right to left, now at the right edge) beside a side panel (chord, next chords, bar and
beat, tempo, beat pulse, practice feedback), keyboard strip, status line.
"""

from __future__ import annotations

from dataclasses import dataclass

import pygame

from instrument.display.model import StageModel

LOW, HIGH = 21, 108  # the piano's range
BACKGROUND = (18, 18, 24)
PANEL = (30, 30, 40)
TEXT = (230, 230, 235)
DIM = (140, 140, 155)
GOOD, BAD, WARN = (70, 200, 110), (230, 70, 70), (240, 180, 60)
# One colour per part, distinct at a glance and on a projector.
PART_COLOURS = [
    (66, 135, 245), (245, 130, 48), (60, 180, 75), (230, 25, 75), (145, 30, 180),
    (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128),
    (220, 190, 255), (170, 110, 40), (255, 250, 200), (128, 0, 0), (170, 255, 195),
]
BLACK_KEYS = {1, 3, 6, 8, 10}


def part_colour(part: int) -> tuple[int, int, int]:
    return PART_COLOURS[part % len(PART_COLOURS)]


@dataclass(frozen=True)
class Layout:
    """Rectangles of each area for a window of ``width`` x ``height`` pixels."""

    width: int
    height: int

    @property
    def unit(self) -> int:  # text size scales with the window, readable from a metre
        return max(12, min(self.width // 40, self.height // 24))

    @property
    def header(self) -> pygame.Rect:
        return pygame.Rect(0, 0, self.width, int(self.unit * 2.2))

    @property
    def status(self) -> pygame.Rect:
        h = int(self.unit * 1.6)
        return pygame.Rect(0, self.height - h, self.width, h)

    @property
    def keyboard(self) -> pygame.Rect:
        h = max(24, self.height // 9)
        return pygame.Rect(0, self.status.top - h, self.roll.width, h)

    @property
    def panel(self) -> pygame.Rect:
        w = max(160, self.width // 4)
        top = self.header.bottom
        return pygame.Rect(self.width - w, top, w, self.status.top - top)

    @property
    def roll(self) -> pygame.Rect:
        top = self.header.bottom
        bottom = self.status.top - max(24, self.height // 9)
        return pygame.Rect(0, top, self.width - self.panel.width, bottom - top)

    def pitch_y(self, pitch: int) -> tuple[int, int]:
        """Top and height in the roll of a pitch's lane."""
        r = self.roll
        lane = r.height / (HIGH - LOW + 1)
        top = r.bottom - (pitch - LOW + 1) * lane
        return round(top), max(1, int(lane))

    def time_x(self, t: float, now: float, seconds: float) -> int:
        r = self.roll
        return int(r.right - (now - t) / seconds * r.width)

    def key_x(self, pitch: int) -> tuple[int, int]:
        """Left and width of a key in the keyboard strip (equal width per semitone)."""
        r = self.keyboard
        w = r.width / (HIGH - LOW + 1)
        return int(r.left + (pitch - LOW) * w), max(1, int(w))


class Fonts:
    def __init__(self, unit: int):
        self.unit = unit
        self.small = pygame.font.Font(None, int(unit * 1.1))
        self.normal = pygame.font.Font(None, int(unit * 1.5))
        self.large = pygame.font.Font(None, int(unit * 3.2))


_fonts: dict[int, Fonts] = {}


def fonts_for(layout: Layout) -> Fonts:
    if layout.unit not in _fonts:
        _fonts[layout.unit] = Fonts(layout.unit)
    return _fonts[layout.unit]


def draw_stage(surface: pygame.Surface, model: StageModel, now: float) -> None:
    layout = Layout(*surface.get_size())
    fonts = fonts_for(layout)
    surface.fill(BACKGROUND)
    _draw_header(surface, layout, fonts, model)
    _draw_roll(surface, layout, model, now)
    _draw_keyboard(surface, layout, model)
    _draw_panel(surface, layout, fonts, model, now)
    _draw_status(surface, layout, fonts, model)
    if model.show_help:
        _draw_help(surface, layout, fonts)


_rendered: dict[tuple, pygame.Surface] = {}


def _text(surface, font, text, colour, pos, anchor="topleft") -> pygame.Rect:
    # Rendering text is the costliest drawing call; the same strings recur every frame.
    key = (id(font), text, colour)
    img = _rendered.get(key)
    if img is None:
        if len(_rendered) > 512:
            _rendered.clear()
        img = _rendered[key] = font.render(text, True, colour)
    rect = img.get_rect(**{anchor: pos})
    surface.blit(img, rect)
    return rect


def _draw_header(surface, layout, fonts, model) -> None:
    r = layout.header
    pygame.draw.rect(surface, PANEL, r)
    x = r.left + layout.unit // 2
    title = f"{model.ensemble.title}  [{model.mode}]"
    x = _text(surface, fonts.normal, title, TEXT, (x, r.centery), "midleft").right + layout.unit
    for k, part in enumerate(model.ensemble.parts):
        sw = pygame.Rect(x, r.centery - layout.unit // 2, layout.unit, layout.unit)
        pygame.draw.rect(surface, part_colour(k), sw)
        label = part.name
        x = _text(surface, fonts.small, label, TEXT, (sw.right + 4, r.centery), "midleft").right
        x += layout.unit
        if x > r.right - layout.unit * 4:
            break


def _draw_roll(surface, layout, model, now) -> None:
    r = layout.roll
    for octave_c in range(24, HIGH + 1, 12):  # faint lines at every C
        y, h = layout.pitch_y(octave_c)
        pygame.draw.line(surface, (40, 40, 52), (r.left, y + h), (r.right, y + h))
    clip = surface.get_clip()
    surface.set_clip(r)
    for n in model.notes:
        x0 = max(r.left, layout.time_x(n.start, now, model.roll_seconds))
        x1 = layout.time_x(n.end if n.end is not None else now, now, model.roll_seconds)
        y, h = layout.pitch_y(n.pitch)
        pygame.draw.rect(surface, part_colour(n.part), (x0, y, max(2, x1 - x0), h))
    surface.set_clip(clip)


_keyboards: dict[tuple[int, int], pygame.Surface] = {}


def _draw_key(surface, layout, pitch: int, colour, top: int) -> None:
    x, w = layout.key_x(pitch)
    h = layout.keyboard.height * (0.6 if pitch % 12 in BLACK_KEYS else 1.0)
    pygame.draw.rect(surface, colour, (x, top, max(1, w - 1), int(h)))


def _draw_keyboard(surface, layout, model) -> None:
    r = layout.keyboard
    idle = _keyboards.get(r.size)
    if idle is None:  # the unlit keyboard is drawn once per window size
        idle = pygame.Surface(r.size)
        idle.fill((10, 10, 12))
        shifted = Layout(layout.width, layout.height)
        for pitch in range(LOW, HIGH + 1):
            black = pitch % 12 in BLACK_KEYS
            _draw_key(idle, shifted, pitch, (60, 60, 64) if black else (235, 235, 235), 0)
        _keyboards.clear()
        _keyboards[r.size] = idle
    surface.blit(idle, r)
    for pitch, part in list(model.held.items()):
        if LOW <= pitch <= HIGH:
            _draw_key(surface, layout, pitch, part_colour(part), r.top)


def _draw_panel(surface, layout, fonts, model, now) -> None:
    r = layout.panel
    pygame.draw.rect(surface, PANEL, r)
    u = layout.unit
    x, y = r.left + u // 2, r.top + u // 2
    _text(surface, fonts.small, "chord", DIM, (x, y))
    y += u
    _text(surface, fonts.large, model.chord or "-", TEXT, (x, y))
    y += int(u * 3.4)
    if model.next_chords:
        _text(surface, fonts.small, "next", DIM, (x, y))
        y += u
        _text(surface, fonts.normal, "  ".join(model.next_chords[:4]), TEXT, (x, y))
        y += int(u * 1.8)
    beat = model.beat
    if beat is not None:
        _text(surface, fonts.normal, f"bar {beat.bar + 1}  beat {int(beat.beat_in_bar) + 1}"
              f"/{beat.beats_per_bar}", TEXT, (x, y))
        y += int(u * 1.6)
        _text(surface, fonts.normal, f"{beat.tempo:.0f} BPM", TEXT, (x, y))
        # The pulse is brightest on the beat and fades until the next one.
        phase = beat.beat % 1.0
        level = int(255 * max(0.0, 1.0 - phase * 2))
        on_one = int(beat.beat_in_bar) == 0
        colour = (level, level // 3, level // 3) if on_one else (level // 3, level, level // 3)
        pygame.draw.circle(surface, colour, (r.right - u * 2, y + u // 2), u)
        y += int(u * 2.2)
    fb = model.feedback
    if fb is not None:
        box = pygame.Rect(r.left + u // 4, y, r.width - u // 2, int(u * 7.5))
        pygame.draw.rect(surface, GOOD if fb.correct else BAD, box, border_radius=u // 3)
        ty = box.top + u // 3
        _text(surface, fonts.normal, f"target {fb.target}", BACKGROUND, (box.left + 8, ty))
        ty += int(u * 1.5)
        _text(surface, fonts.normal, f"played {fb.played}", BACKGROUND, (box.left + 8, ty))
        ty += int(u * 1.5)
        if fb.detail:
            _text(surface, fonts.small, fb.detail, BACKGROUND, (box.left + 8, ty))
        ty += int(u * 1.2)
        if fb.timing_ms is not None:
            _draw_timing_meter(surface, pygame.Rect(box.left + 8, ty, box.width - 16, u),
                               fb.timing_ms, fonts)
        if fb.score:
            _text(surface, fonts.small, fb.score, TEXT, (box.left, box.bottom + 4))


def _draw_timing_meter(surface, rect, timing_ms, fonts, span_ms: float = 200.0) -> None:
    """A horizontal meter: centre = on time, left = early, right = late."""
    pygame.draw.rect(surface, (235, 235, 235), rect)
    pygame.draw.line(surface, (0, 0, 0), (rect.centerx, rect.top), (rect.centerx, rect.bottom))
    frac = max(-1.0, min(1.0, timing_ms / span_ms))
    mx = int(rect.centerx + frac * rect.width / 2)
    colour = GOOD if abs(timing_ms) < 50 else WARN
    pygame.draw.rect(surface, colour, (mx - 3, rect.top, 6, rect.height))
    word = "early" if timing_ms < 0 else "late"
    _text(surface, fonts.small, f"{abs(timing_ms):.0f} ms {word}", (0, 0, 0),
          (rect.centerx, rect.bottom + 2), "midtop")


def _draw_status(surface, layout, fonts, model) -> None:
    r = layout.status
    s = model.status
    bad = s.midi_state in ("lost", "reconnecting")
    pygame.draw.rect(surface, (90, 20, 20) if bad else PANEL, r)
    midi = f"MIDI {s.midi_state.upper() if bad else s.midi_state}: {s.midi_port}"
    parts = [midi, f"audio {s.audio}", f"latency {s.latency_ms:.1f} ms", f"xruns {s.xruns}",
             f"CPU {s.cpu_load:.0f}%", f"arranger {s.arranger}",
             f"over budget {s.over_budget}", s.message]
    text = "   ".join(p for p in parts if p)
    _text(surface, fonts.small, text, BAD if bad else TEXT, (r.left + 8, r.centery), "midleft")


HELP = [
    "keys  Z-row / Q-row: two octaves of piano",
    "Left/Right: octave   Up/Down: velocity",
    "F2: next ensemble   F3: next arranger   F4: mode",
    "F5: tap tempo   F6: start/stop band",
    "Esc: panic (all notes off)   F12: screenshot",
    "F1: this help   Ctrl+Q: quit",
]


def _draw_help(surface, layout, fonts) -> None:
    u = layout.unit
    box = pygame.Rect(0, 0, layout.width * 2 // 3, int(u * 1.7 * (len(HELP) + 1)))
    box.center = (layout.width // 2, layout.height // 2)
    pygame.draw.rect(surface, (0, 0, 0), box)
    pygame.draw.rect(surface, TEXT, box, 2)
    for i, line in enumerate(HELP):
        y = box.top + u // 2 + i * int(u * 1.7)
        _text(surface, fonts.normal, line, TEXT, (box.left + u, y))
