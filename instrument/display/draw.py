"""Drawing the stage: a pure function of the model and the window size.

Layout, top to bottom: header (ensemble and its parts' colours, then the band's in jam),
piano roll (time flows right to left, now at the right edge) beside a side panel (chord,
next chords, bar and beat, tempo, beat pulse, a caption, practice feedback with its timing
meter and score), keyboard strip, status line.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import pygame

from instrument.display.model import BAND_PART0, StageModel
from instrument.timing import BeatState

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


# The band's parts (jam): melody (its continuations), bass, comping, drums; apart from the
# ensemble's first colours.
BAND_COLOURS = [(255, 255, 255), (170, 110, 40), (220, 190, 255), (128, 128, 128)]


def part_colour(part: int) -> tuple[int, int, int]:
    if part >= BAND_PART0:
        return BAND_COLOURS[(part - BAND_PART0) % len(BAND_COLOURS)]
    return PART_COLOURS[part % len(PART_COLOURS)]


@dataclass(frozen=True)
class Layout:
    """Rectangles of each area for a window of ``width`` x ``height`` pixels.

    Each is computed once per layout (cached): the roll asks for them for every note.
    """

    width: int
    height: int

    @cached_property
    def unit(self) -> int:  # text size scales with the window, readable from a metre
        return max(12, min(self.width // 40, self.height // 24))

    @cached_property
    def header(self) -> pygame.Rect:
        return pygame.Rect(0, 0, self.width, int(self.unit * 2.2))

    @cached_property
    def status(self) -> pygame.Rect:  # the player's status in the normal font: readable
        h = int(self.unit * 2.1)
        return pygame.Rect(0, self.height - h, self.width, h)

    @cached_property
    def keyboard(self) -> pygame.Rect:
        h = max(24, self.height // 9)
        return pygame.Rect(0, self.status.top - h, self.roll.width, h)

    @cached_property
    def key_label_px(self) -> int:  # the C labels' row under the keys
        return max(10, min(self.unit, self.keyboard.height // 4))

    @cached_property
    def key_height(self) -> int:
        return self.keyboard.height - self.key_label_px

    @cached_property
    def panel(self) -> pygame.Rect:
        w = max(160, self.width // 4)
        top = self.header.bottom
        return pygame.Rect(self.width - w, top, w, self.status.top - top)

    @cached_property
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
        self.small = font_of_size(int(unit * 1.1))
        self.normal = font_of_size(int(unit * 1.5))
        self.large = font_of_size(int(unit * 3.2))


_fonts: dict[int, Fonts] = {}
_sized: dict[int, pygame.font.Font] = {}
_size_of: dict[int, int] = {}  # id(font) -> the size it was made with


def fonts_for_unit(unit: int) -> Fonts:
    if unit not in _fonts:  # loading a font is slow: once per size
        _fonts[unit] = Fonts(unit)
    return _fonts[unit]


def fonts_for(layout: Layout) -> Fonts:
    return fonts_for_unit(layout.unit)


def font_of_size(px: int) -> pygame.font.Font:
    if px not in _sized:  # loading a font is slow: once per size
        _sized[px] = pygame.font.Font(None, px)
        _size_of[id(_sized[px])] = px
    return _sized[px]


def draw_stage(surface: pygame.Surface, model: StageModel, now: float) -> dict[str, pygame.Rect]:
    """Draw one frame; returns where the panel's widgets went (for tests and screenshots)."""
    layout = Layout(*surface.get_size())
    fonts = fonts_for(layout)
    surface.fill(BACKGROUND)
    _draw_header(surface, layout, fonts, model)
    _draw_roll(surface, layout, model, now)
    _draw_keyboard(surface, layout, model)
    placed = _draw_panel(surface, layout, model)
    _draw_status(surface, layout, fonts, model)
    if model.show_help:
        placed["help"] = _draw_help(surface, layout, fonts, model)
    return placed


_rendered: dict[tuple, pygame.Surface] = {}


def _text(surface, font, text, colour, pos, anchor="topleft", width: int | None = None
          ) -> pygame.Rect:
    """Draw ``text`` (in a smaller font when it would be wider than ``width``)."""
    if width is not None:
        font = _fitting(font, text, width)
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
    legend = [(k, p.name) for k, p in enumerate(model.ensemble.parts)]
    legend += [(BAND_PART0 + k, name) for k, name in enumerate(model.band_parts)]
    labels = [label for _, label in legend] + (["band:"] if model.band_parts else [])
    font = _legend_font(fonts.small, tuple(labels), r.right - x - layout.unit // 2)
    sw_size = max(6, min(layout.unit, font.get_height()))
    for part, label in legend:
        if part == BAND_PART0:  # the band's parts follow the player's, after a gap
            x = _text(surface, font, "band:", DIM, (x, r.centery), "midleft").right + 6
        sw = pygame.Rect(x, r.centery - sw_size // 2, sw_size, sw_size)
        pygame.draw.rect(surface, part_colour(part), sw)
        x = _text(surface, font, label, TEXT, (sw.right + 4, r.centery), "midleft").right
        x += sw_size


_legends: dict[tuple, pygame.font.Font] = {}


def _legend_font(font: pygame.font.Font, labels: tuple[str, ...], room: int) -> pygame.font.Font:
    """``font``, or a smaller one so that every part stays in the legend (swatches shrink
    with it). Measured once per set of labels and width."""
    key = (id(font), labels, room)
    if key not in _legends:
        px = _size_of.get(id(font), font.get_height())
        fit = font
        while px > 8:
            sw = fit.get_height()
            if sum(fit.size(label)[0] + 2 * sw + 6 for label in labels) <= room:
                break
            px -= 1
            fit = font_of_size(px)
        _legends[key] = fit
    return _legends[key]


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
    h = layout.key_height * (0.6 if pitch % 12 in BLACK_KEYS else 1.0)
    pygame.draw.rect(surface, colour, (x, top, max(1, w - 1), int(h)))


def key_label(pitch: int) -> str:
    """The name a C key carries on the strip: C4 is middle C (MIDI 60)."""
    return f"C{pitch // 12 - 1}"


def _key_label_font(layout: Layout) -> pygame.font.Font:
    return font_of_size(layout.key_label_px)


def _draw_key_labels(surface, layout, top: int) -> None:
    """The C of each octave named in the row under the keys, below its key (the keys are
    too narrow to carry it legibly), kept inside the strip."""
    font = _key_label_font(layout)
    row = top + layout.key_height
    right = layout.keyboard.width - 1
    for pitch in range(LOW, HIGH + 1):
        if pitch % 12 == 0:
            x, _ = layout.key_x(pitch)
            label = key_label(pitch)
            pygame.draw.line(surface, TEXT, (x, row), (x, row + 3))  # points at its key
            x = min(x + 2, right - font.size(label)[0])
            _text(surface, font, label, TEXT, (x, row + 1), "topleft")


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
        _draw_key_labels(idle, shifted, 0)
        _keyboards.clear()
        _keyboards[r.size] = idle
    surface.blit(idle, r)
    for pitch, part in list(model.held.items()):
        if LOW <= pitch <= HIGH:
            _draw_key(surface, layout, pitch, part_colour(part), r.top)


# The panel's rows, top to bottom, each with its height in layout units. When they do not
# fit (a short window) the whole column shrinks, so nothing is ever cut off or overlaps.
CHORD_LABEL = {"play": "chord", "jam": "band chord", "practice": "play now"}


def _panel_rows(model: StageModel) -> list[tuple[str, float]]:
    rows = [("chord", 4.4)]
    if model.next_chords:
        rows.append(("next", 2.6))
    if model.beat is not None:
        rows.append(("beat", 3.0))
    if model.caption:
        rows.append(("caption", 1.4))
    if model.feedback is not None:
        rows.append(("feedback", 7.6))
        if model.feedback.score:
            rows.append(("score", 1.4))
    return rows


def _draw_panel(surface, layout, model) -> dict[str, pygame.Rect]:
    r = layout.panel
    pygame.draw.rect(surface, PANEL, r)
    rows = _panel_rows(model)
    need = 0.5 + sum(units for _, units in rows)
    unit = min(float(layout.unit), r.height / need)
    fonts = fonts_for_unit(max(6, int(unit)))
    placed: dict[str, pygame.Rect] = {}
    clip = surface.get_clip()
    y = r.top + unit / 2
    for name, units in rows:
        row = pygame.Rect(r.left, int(y), r.width, int(units * unit))
        surface.set_clip(row.clip(r))  # a long chord name may not spill into the next row
        placed.update(_PAINTERS[name](surface, row, fonts, model))
        y += units * unit
    surface.set_clip(clip)
    return placed


def _paint_chord(surface, row, fonts, model) -> dict[str, pygame.Rect]:
    u = fonts.unit
    x = row.left + u // 2
    _text(surface, fonts.small, CHORD_LABEL.get(model.mode, "chord"), DIM, (x, row.top))
    text = _text(surface, fonts.large, model.chord or "-", TEXT, (x, row.top + u),
                 width=row.right - x - u // 4)
    return {"chord": text}


def _paint_next(surface, row, fonts, model) -> dict[str, pygame.Rect]:
    u = fonts.unit
    x = row.left + u // 2
    _text(surface, fonts.small, "next", DIM, (x, row.top))
    text = _text(surface, fonts.normal, "  ".join(model.next_chords[:4]), TEXT, (x, row.top + u),
                 width=row.right - x - u // 4)
    return {"next": text}


def beat_text(beat: BeatState) -> str:
    """"bar 3  beat 2/4", or the count-in's beats before bar 1 (negative beats)."""
    n = beat.beats_per_bar
    if beat.beat < 0:
        return f"count-in  {int(beat.beat % n) + 1}/{n}"
    return f"bar {beat.bar + 1}  beat {int(beat.beat_in_bar) + 1}/{n}"


def pulse_colour(beat: BeatState) -> tuple[int, int, int]:
    """Brightest on the beat, dark from half a beat on; red on a bar's first beat."""
    level = int(255 * max(0.0, 1.0 - (beat.beat % 1.0) * 2))
    if int(beat.beat_in_bar) == 0:
        return (level, level // 3, level // 3)
    return (level // 3, level, level // 3)


def _paint_beat(surface, row, fonts, model) -> dict[str, pygame.Rect]:
    u = fonts.unit
    x = row.left + u // 2
    beat = model.beat
    radius = max(4, int(u * 1.1))
    centre = (row.right - radius - u // 2, row.top + int(u * 1.5))
    room = centre[0] - radius - x - u // 4  # the words stop short of the pulse
    _text(surface, fonts.normal, beat_text(beat), TEXT, (x, row.top), width=room)
    _text(surface, fonts.normal, f"{beat.tempo:.0f} BPM", TEXT, (x, row.top + int(u * 1.5)),
          width=room)
    if model.pulse:
        pygame.draw.circle(surface, pulse_colour(beat), centre, radius)
    pygame.draw.circle(surface, DIM, centre, radius, 1)  # the ring shows where to look
    pulse = pygame.Rect(0, 0, 2 * radius, 2 * radius)
    pulse.center = centre
    return {"beat": pulse, "pulse": pulse}


def _paint_caption(surface, row, fonts, model) -> dict[str, pygame.Rect]:
    x = row.left + fonts.unit // 2
    text = _text(surface, fonts.small, model.caption, WARN, (x, row.top),
                 width=row.right - x - fonts.unit // 4)
    return {"caption": text}


def _paint_feedback(surface, row, fonts, model) -> dict[str, pygame.Rect]:
    u = fonts.unit
    fb = model.feedback
    box = pygame.Rect(row.left + u // 4, row.top, row.width - u // 2, row.height - u // 4)
    colour = GOOD if fb.correct else (WARN if fb.close else BAD)
    pygame.draw.rect(surface, colour, box, border_radius=max(1, u // 3))
    x, ty = box.left + u // 3, box.top + u // 3
    room = box.right - u // 3 - x
    _text(surface, fonts.normal, f"target {fb.target}", BACKGROUND, (x, ty), width=room)
    ty += int(u * 1.5)
    _text(surface, fonts.normal, f"played {fb.played}", BACKGROUND, (x, ty), width=room)
    ty += int(u * 1.5)
    if fb.detail:
        _text(surface, fonts.small, fb.detail, BACKGROUND, (x, ty), width=room)
    ty += int(u * 1.2)
    placed = {"feedback": box}
    if fb.timing_ms is not None:
        meter = pygame.Rect(x, ty, box.right - u // 3 - x, u)
        _draw_timing_meter(surface, meter, fb.timing_ms, fonts)
        placed["meter"] = meter
    return placed


def _paint_score(surface, row, fonts, model) -> dict[str, pygame.Rect]:
    x = row.left + fonts.unit // 2
    text = _text(surface, fonts.small, model.feedback.score, TEXT, (x, row.top + fonts.unit // 4),
                 width=row.right - x - fonts.unit // 4)
    return {"score": text}


_PAINTERS = {"chord": _paint_chord, "next": _paint_next, "beat": _paint_beat,
             "caption": _paint_caption, "feedback": _paint_feedback, "score": _paint_score}


def _draw_timing_meter(surface, rect, timing_ms, fonts, span_ms: float = 200.0) -> None:
    """A horizontal meter: centre = on time, left = early, right = late (full scale 200 ms)."""
    pygame.draw.rect(surface, (235, 235, 235), rect)
    pygame.draw.line(surface, (0, 0, 0), (rect.centerx, rect.top), (rect.centerx, rect.bottom))
    frac = max(-1.0, min(1.0, timing_ms / span_ms))
    mx = int(rect.centerx + frac * (rect.width / 2 - 3))
    colour = GOOD if abs(timing_ms) < 50 else WARN
    pygame.draw.rect(surface, colour, (mx - 3, rect.top, 6, rect.height))
    word = "early" if timing_ms < 0 else "late"
    _text(surface, fonts.small, f"{abs(timing_ms):.0f} ms {word}", (0, 0, 0),
          (rect.centerx, rect.bottom + 2), "midtop")


def status_text(model: StageModel) -> str:
    """What a player needs, in the status bar's large text: MIDI, audio, xruns, messages."""
    s = model.status
    bad = s.midi_state in ("lost", "reconnecting")
    parts = [f"MIDI {s.midi_state.upper() if bad else s.midi_state}: {s.midi_port}",
             f"audio {s.audio}", f"xruns {s.xruns}", s.message]
    return "   ".join(p for p in parts if p)


def developer_text(model: StageModel) -> str:
    """The developer's figures (F10 shows them above the status bar)."""
    s = model.status
    parts = [f"latency {s.latency_ms:.1f} ms (buffer)", f"CPU {s.cpu_load:.0f}%",
             f"arranger {s.arranger}", f"over budget {s.over_budget}",
             f"decide p99 {s.decide_p99_ms:.2f} ms", f"note path {s.note_path}"]
    return "   ".join(parts)


def _draw_status(surface, layout, fonts, model) -> None:
    r = layout.status
    bad = model.status.midi_state in ("lost", "reconnecting")
    pygame.draw.rect(surface, (90, 20, 20) if bad else PANEL, r)
    text = status_text(model)
    _text(surface, fonts.normal, text, BAD if bad else TEXT, (r.left + 8, r.centery), "midleft",
          width=r.width - 16)
    if model.show_developer:
        line = pygame.Rect(0, r.top - fonts.small.get_height() - 4, layout.roll.width,
                           fonts.small.get_height() + 4)
        pygame.draw.rect(surface, (0, 0, 0), line)
        _text(surface, fonts.small, developer_text(model), DIM, (line.left + 8, line.centery),
              "midleft", width=line.width - 16)


_fits: dict[tuple, pygame.font.Font] = {}


def _fitting(font: pygame.font.Font, text: str, width: int) -> pygame.font.Font:
    """``font``, or a smaller one that fits ``text`` into ``width`` pixels: a long line
    shrinks rather than losing its end. Measured once per text and width."""
    key = (id(font), text, width)
    fit = _fits.get(key)
    if fit is None:
        if len(_fits) > 256:
            _fits.clear()
        need = font.size(text)[0]
        fit = font
        if need > width:  # text width grows about in proportion to the font's size
            px = max(8, int(_size_of.get(id(font), font.get_height()) * max(1, width) / need))
            fit = font_of_size(px)
            while px > 8 and fit.size(text)[0] > width:  # "about": make sure
                px -= 1
                fit = font_of_size(px)
        _fits[key] = fit
    return fit


HELP = [
    "Z-row / Q-row: two octaves of piano",
    "Left/Right: octave   Up/Down: velocity",
    "F2: next ensemble   F3: next arranger",
    "F4: next view (jam and practice also have the play view)",
    "Esc: panic (all notes off)   F12: screenshot   F10: developer figures",
    "F1: this help   Ctrl+Q: quit",
]
MODES_HELP = ["modes: play = instrument play,  jam = instrument jam,",
              "practice = instrument practice CHART"]


def help_lines(model: StageModel) -> list[str]:
    return HELP + model.help_lines + MODES_HELP


def _draw_help(surface, layout, fonts, model) -> pygame.Rect:
    lines = help_lines(model)
    u = layout.unit
    step = min(u * 1.7, (layout.height - 2 * u) / (len(lines) + 1))
    box = pygame.Rect(0, 0, layout.width * 5 // 6, int(step * (len(lines) + 1)))
    font = fonts.normal if step >= u * 1.5 else fonts.small
    font = _fitting(font, max(lines, key=len), box.width - 2 * u)
    box.center = (layout.width // 2, layout.height // 2)
    pygame.draw.rect(surface, (0, 0, 0), box)
    pygame.draw.rect(surface, TEXT, box, 2)
    clip = surface.get_clip()
    surface.set_clip(box)
    for i, line in enumerate(lines):
        _text(surface, font, line, TEXT, (box.left + u, int(box.top + step / 2 + i * step)))
    surface.set_clip(clip)
    return box
