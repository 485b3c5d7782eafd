"""The jam and practice views of the stage, drawn offscreen (SDL dummy driver).

The views are fed by the real band (on a virtual clock, as in test_accompany_live) and the
real practice engine (notes with scripted times), then drawn; the pixels are checked where
``draw_stage`` says it put each widget.
"""

from __future__ import annotations

import time

import pygame
import pytest

from instrument.accompany.band import Band
from instrument.accompany.clock import InternalClock
from instrument.accompany.notes import BASS, COMP
from instrument.accompany.offline import chart_track
from instrument.accompany.planner import BandPlanner
from instrument.accompany.styles import make_style
from instrument.display.draw import BAD, BAND_COLOURS, GOOD, PANEL, WARN, Layout, draw_stage
from instrument.display.model import BAND_PART0, Feedback, StageModel
from instrument.ensemble import load_ensemble
from instrument.harmony.chart import parse_chart
from instrument.practice.engine import PracticeEngine
from instrument.timing import BeatState
from tests.support.fakes import SilentSynth

SIZES = [(640, 360), (1280, 720), (1920, 1080), (800, 1000), (1000, 420)]


pytestmark = pytest.mark.usefixtures("pygame_offscreen")


def colours_in(surface: pygame.Surface, rect: pygame.Rect, step: int = 1) -> set:
    rect = rect.clip(surface.get_rect())
    return {surface.get_at((x, y))[:3] for x in range(rect.left, rect.right, step)
            for y in range(rect.top, rect.bottom, step)}


def pixels(surface: pygame.Surface, rect: pygame.Rect) -> list:
    rect = rect.clip(surface.get_rect())
    return [surface.get_at((x, y))[:3] for x in range(rect.left, rect.right)
            for y in range(rect.top, rect.bottom)]


# -- practice -------------------------------------------------------------------------------
def practice_model(feedback: Feedback | None, size=(1280, 720)):
    model = StageModel(load_ensemble("quartet"), mode="practice")
    model.chord, model.next_chords = "F", ["G7", "C"]
    model.beat = BeatState(100.0, 5.1, 4, 0.0)
    model.caption = "count-in: first chord C"
    model.feedback = feedback
    return pygame.Surface(size), model


def test_practice_feedback_is_green_when_right_and_red_when_wrong():
    surface, model = practice_model(Feedback("G7", "G7", True, -10.0, "right", "score 1/1"))
    placed = draw_stage(surface, model, 0.0)
    box = placed["feedback"]
    assert surface.get_at((box.left + 3, box.centery))[:3] == GOOD
    model.feedback = Feedback("G7", "C", False, 30.0, "missing B D F", "score 1/2")
    placed = draw_stage(surface, model, 0.0)
    box = placed["feedback"]
    assert surface.get_at((box.left + 3, box.centery))[:3] == BAD
    assert surface.get_at((box.right - 3, box.top + box.height // 3))[:3] == BAD


def test_practice_target_played_and_verdict_text_are_drawn():
    fb = Feedback("G7", "C", False, None, "", "")
    surface, model = practice_model(fb)
    box = draw_stage(surface, model, 0.0)["feedback"]
    plain = pixels(surface, box)
    assert len(set(plain)) > 2, "target and played are written in the box"
    model.feedback = Feedback("G7", "C", False, None, "missing B D F", "")
    draw_stage(surface, model, 0.0)
    assert pixels(surface, box) != plain, "the verdict's words appear"
    model.feedback = Feedback("Dm7", "C", False, None, "missing B D F", "")
    with_detail = pixels(surface, box)
    draw_stage(surface, model, 0.0)
    assert pixels(surface, box) != with_detail, "the target's name is drawn, not a fixed label"


def needle_columns(surface: pygame.Surface, meter: pygame.Rect, colour) -> list[int]:
    y = meter.centery
    return [x for x in range(meter.left, meter.right) if surface.get_at((x, y))[:3] == colour]


@pytest.mark.parametrize("timing_ms, colour", [(-120.0, WARN), (-25.0, GOOD), (25.0, GOOD),
                                               (120.0, WARN), (400.0, WARN)])
def test_timing_needle_is_left_when_early_and_right_when_late(timing_ms, colour):
    surface, model = practice_model(Feedback("C", "C", False, timing_ms, "extra D", ""))
    meter = draw_stage(surface, model, 0.0)["meter"]
    cols = needle_columns(surface, meter, colour)
    assert cols, "the needle is drawn"
    centre = meter.centerx
    if timing_ms < 0:
        assert max(cols) < centre
    else:
        assert min(cols) > centre
    assert meter.left <= min(cols) and max(cols) < meter.right  # off the scale: at its end
    if abs(timing_ms) > 200:  # beyond full scale: pinned, nothing nearer to compare
        return
    # further from on time = further from the centre
    far = abs(sum(cols) / len(cols) - centre)
    model.feedback = Feedback("C", "C", False, timing_ms / 2, "extra D", "")
    draw_stage(surface, model, 0.0)
    near_cols = needle_columns(surface, meter, GOOD if abs(timing_ms / 2) < 50 else WARN)
    assert abs(sum(near_cols) / len(near_cols) - centre) < far


def test_practice_view_shows_target_verdict_and_score_from_the_engine():
    from instrument.display.practice import PracticeView

    chart = parse_chart("tempo: 120\n| C | F | G7 | C |")
    engine = PracticeEngine(chart, count_in_bars=1, metronome=False)
    recorded = []
    view = PracticeView(engine, lambda: 7, lambda s, r: recorded.append((s, r)), echo=False)
    view.session = 7
    model = StageModel(load_ensemble("quartet"))
    view.enter(model)
    engine.start(0.0)  # count-in: 0-2 s; C due at 2.0, F at 4.0, G7 at 6.0
    results = []
    results += engine.note_on(48, 90, 1.95)  # C major, 50 ms early
    results += engine.note_on(64, 90, 1.96)
    results += engine.note_on(67, 90, 1.97)
    for p in (48, 64, 67):
        results += engine.note_off(p, 2.5)
    results += engine.note_on(53, 90, 4.12)  # F with a D: wrong, 120 ms late
    results += engine.note_on(62, 90, 4.13)
    results += engine.note_on(69, 90, 4.13)
    results += engine.process(4.5)
    for r in results:
        if hasattr(r, "target"):
            view.feed.result(r)
    view.feed.position(engine, 4.5)
    view.frame(model, 4.5)
    assert [s for s, _ in recorded] == [7, 7]
    fb = model.feedback
    assert fb.target == "F" and not fb.correct and fb.timing_ms == pytest.approx(120, abs=1)
    assert "extra D" in fb.detail and fb.score.startswith("score 1/2 right (50%)")
    assert model.chord == "F" and model.next_chords[:2] == ["G7", "C"]
    assert model.beat.bar == 1 and int(model.beat.beat_in_bar) == 1  # bar 2, beat 2
    surface = pygame.Surface((1280, 720))
    placed = draw_stage(surface, model, 4.5)
    assert surface.get_at((placed["feedback"].left + 3, placed["feedback"].centery))[:3] == BAD
    assert max(needle_columns(surface, placed["meter"], WARN)) > placed["meter"].centerx


def test_practice_view_waits_and_counts_in_with_captions():
    from instrument.display.practice import PracticeView

    engine = PracticeEngine(parse_chart("tempo: 120\n| C | F |"), count_in_bars=1, wait=True,
                            metronome=False)
    view = PracticeView(engine, echo=False)
    model = StageModel(load_ensemble("quartet"))
    view.enter(model)
    engine.start(0.0)
    view.feed.position(engine, 1.0)
    view.frame(model, 1.0)
    assert model.caption == "count-in: first chord C" and model.beat.beat < 0 and model.pulse
    engine.process(2.5)
    view.feed.position(engine, 2.5)
    view.frame(model, 2.5)
    assert model.caption == "waiting for you: play C" and not model.pulse


# -- jam ------------------------------------------------------------------------------------
class VirtualTime:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def jam(chart_text="| C | F | G7 | Am | F | G | C |", count_in=1):
    from instrument.display.jam import JamView

    now = VirtualTime()
    chart = parse_chart(chart_text)
    clock = InternalClock(120.0, 4, count_in_bars=count_in)
    planner = BandPlanner(chart_track(chart), 4, make_style("block"), count_in=count_in * 4)
    band = Band(SilentSynth(), clock, planner, None, now=now, sync_start=False)
    view = JamView(band, clock, chart=True)
    model = StageModel(load_ensemble("pop909"), band_parts=["melody", "bass", "comping"])
    view.attach(model)
    view.enter(model)
    return band, clock, view, model, now


def advance(band, now, until, tick=0.005):
    while now.t < until:
        band.step()
        band.dispatcher.dispatch(now.t)
        now.t += tick


def test_jam_shows_the_chord_and_the_next_chords():
    band, clock, view, model, now = jam()
    view.frame(model, 0.0)
    assert model.caption == "band stopped: F6 starts it" and not model.pulse
    clock.start(0.0)  # count-in to 2.0 s, then one bar (4 beats) per 2 s
    view.frame(model, 1.0)
    assert model.caption == "count-in" and model.chord == "-"
    assert model.next_chords == ["C", "F", "G7", "Am"]
    view.frame(model, 4.5)  # beat 5: bar 2
    assert model.chord == "F" and model.next_chords == ["G7", "Am", "F", "G"]
    assert (model.beat.bar, int(model.beat.beat_in_bar)) == (1, 1)
    surface = pygame.Surface((1280, 720))
    placed = draw_stage(surface, model, 4.5)
    chord_px, next_px = pixels(surface, placed["chord"]), pixels(surface, placed["next"])
    view.frame(model, 6.5)  # bar 3: G7, then Am F G C
    draw_stage(surface, model, 6.5)
    assert model.chord == "G7"
    assert pixels(surface, placed["chord"]) != chord_px
    assert pixels(surface, placed["next"]) != next_px


def test_the_beat_pulse_lights_on_the_beat_and_fades_between():
    band, clock, view, model, now = jam(count_in=0)
    clock.start(10.0)
    surface = pygame.Surface((1280, 720))

    def pulse_centre(t):
        view.frame(model, t)
        pulse = draw_stage(surface, model, t)["pulse"]
        return surface.get_at(pulse.center)[:3]

    one = pulse_centre(10.0 + 4 * 0.5 + 0.01)  # bar 2, beat 1: accented
    assert one[0] > 200 and one[1] < 100
    two = pulse_centre(10.0 + 5 * 0.5 + 0.01)  # beat 2
    assert two[1] > 200 and two[0] < 100
    between = pulse_centre(10.0 + 5 * 0.5 + 0.3)  # past half a beat: dark
    assert max(between) < 40
    clock.stop()
    stopped = pulse_centre(20.0)
    assert stopped == PANEL, "a standing clock shows no pulse"


def test_band_notes_enter_the_roll_in_band_colours():
    band, clock, view, model, now = jam(count_in=0)
    clock.start(0.0)
    advance(band, now, 3.0)
    model.update(now.t)
    parts = {n.part for n in model.notes}
    assert {BAND_PART0 + BASS, BAND_PART0 + COMP} <= parts
    assert not model.held, "the band's notes do not light the player's keys"
    surface = pygame.Surface((1280, 720))
    draw_stage(surface, model, now.t)
    layout = Layout(1280, 720)
    bass = next(n for n in model.notes if n.part == BAND_PART0 + BASS and n.end is not None)
    y, h = layout.pitch_y(bass.pitch)
    x = layout.time_x((bass.start + bass.end) / 2, now.t, model.roll_seconds)
    assert surface.get_at((x, y + h // 2))[:3] == BAND_COLOURS[BASS]
    # the legend names the band's parts in the same colours
    assert BAND_COLOURS[COMP] in colours_in(surface, layout.header, 2)


def test_a_rewind_keeps_the_charts_own_ending():
    band, clock, view, model, now = jam(count_in=1)
    band.planner.sections.request("ending", 20.0)  # as cmd_jam asks for a chart's end
    band = Band(SilentSynth(), clock, band.planner, None, now=now, sync_start=False)
    clock.start(0.0)
    band.request_section("stop")
    assert band.planner.sections.end_beat() == 0  # the stop comes first
    band.rewind()
    assert band.planner.sections.end_beat() == 28  # the chart's ending bar, then silence


def test_stopping_and_rewinding_the_band_ends_its_notes_and_counts_in_again():
    band, clock, view, model, now = jam(count_in=1)
    clock.start(0.0)
    advance(band, now, 3.1)
    band.request_section("stop")
    advance(band, now, 6.0)
    assert not view.playing(now.t)
    model.update(now.t)
    assert all(n.end is not None for n in model.notes), "stopped: nothing left sounding"
    view.frame(model, now.t)
    assert model.caption == "band stopped: F6 starts it again"
    band.rewind()
    assert not clock.running and band.dispatcher.pending() == 0
    assert band.planner.sections.end_beat() == float("inf"), "the F6 stop is forgotten"
    clock.start(now.t)
    view.frame(model, now.t + 0.1)
    assert model.caption == "count-in" and model.next_chords[0] == "C"


# -- every mode, every size -----------------------------------------------------------------
def modes() -> dict[str, StageModel]:
    ensemble = load_ensemble("quartet")
    play = StageModel(ensemble, chord="Cmaj7")
    jam_model = StageModel(ensemble, mode="jam", chord="G7", next_chords=["C", "Am", "F", "G"],
                           beat=BeatState(120.0, 9.0, 4, 0.0), caption="section A",
                           band_parts=["melody", "bass", "comping"])
    practice = StageModel(ensemble, mode="practice", chord="Bbmaj7", next_chords=["C7", "F"],
                          beat=BeatState(90.0, -2.0, 3, 0.0), caption="waiting for you",
                          feedback=Feedback("Am7", "C6", False, -80.0, "bass should be A",
                                            "score 3/4 right (75%)   timing ±40 ms"))
    return {"play": play, "jam": jam_model, "practice": practice}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("mode", ["play", "jam", "practice"])
def test_every_mode_keeps_its_widgets_inside_the_panel_when_resized(size, mode):
    model = modes()[mode]
    surface = pygame.Surface(size)
    placed = draw_stage(surface, model, 0.0)
    panel = Layout(*size).panel
    expected = {"play": {"chord"}, "jam": {"chord", "next", "pulse", "caption"},
                "practice": {"chord", "next", "pulse", "caption", "feedback", "meter", "score"}}
    assert expected[mode] <= set(placed)
    rows = [placed[k] for k in ("chord", "next", "pulse", "caption", "feedback", "score")
            if k in placed]
    for r in rows + [placed.get("meter", panel)]:
        assert panel.left <= r.left and panel.top <= r.top and r.bottom <= panel.bottom, (
            mode, size, r, panel)
    for i, a in enumerate(rows):
        for b in rows[i + 1:]:
            assert a.bottom <= b.top or b.bottom <= a.top, (mode, size, a, b)
    if "meter" in placed:
        assert placed["feedback"].contains(placed["meter"])
    # nothing of the panel spills into the roll
    roll = Layout(*size).roll
    empty = StageModel(model.ensemble, mode=mode)
    bare = pygame.Surface(size)
    draw_stage(bare, empty, 0.0)
    edge = pygame.Rect(roll.right - 3, roll.top, 3, roll.height)
    assert pixels(surface, edge) == pixels(bare, edge)


@pytest.mark.parametrize("size", SIZES)
def test_the_help_overlay_fits_the_window(size):
    model = modes()["jam"]
    model.show_help = True
    model.help_lines = ["F5: tap tempo   F6: start / stop the band",
                        "F7 / F8: main A / B (after a fill)   F9: ending"]
    surface = pygame.Surface(size)
    box = draw_stage(surface, model, 0.0)["help"]
    assert surface.get_rect().contains(box)


# -- the window's loop: keys reach the views -------------------------------------------------
def test_f4_cycles_the_views_and_the_hidden_jam_view_still_takes_its_keys():
    """The real loop (``run_stage``) on a live session without devices, keys posted."""
    from instrument.arrange import make_arranger
    from instrument.display.jam import JamView
    from instrument.display.stage import PlayView, run_stage
    from instrument.errors import InstrumentError
    from instrument.live.session import LiveSession
    from instrument.synth import find_soundfont

    try:
        soundfont = find_soundfont()
    except InstrumentError as e:
        pytest.skip(str(e))
    quartet = load_ensemble("quartet")
    session = LiveSession(quartet, make_arranger("zone", quartet), soundfont, audio="none",
                          midi_in="none")
    band, clock, _, _, _ = jam(count_in=1)
    band.now = time.monotonic  # the real loop runs on the real clock
    band.dispatcher.now = band.now
    view = JamView(band, clock, chart=True)
    try:
        session.start()
        for key in (pygame.K_F5, pygame.K_F4, pygame.K_F6, pygame.K_F4):
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0))
        model = run_stage(session, duration=0.5, views=[view, PlayView()],
                          band_parts=["melody", "bass", "comping"])
        assert len(clock.taps.taps) == 1, "F5 tapped"
        assert clock.running and band.running, "F6 in the play view started the band"
        assert model.mode == "jam" and model.help_lines == JamView.help, "F4 twice: back"
        assert model.caption == "count-in"
    finally:
        band.stop()
        session.close()
        pygame.display.init()  # run_stage closed the display the other tests draw with
        pygame.font.init()


def test_practice_view_runs_the_loop_in_its_thread_and_f6_starts_again():
    from instrument.display.practice import PracticeView

    engine = PracticeEngine(parse_chart("tempo: 120\n| C | F |"), count_in_bars=1)
    sessions, clicks = [], []
    view = PracticeView(engine, lambda: sessions.append(len(sessions) + 1) or sessions[-1],
                        sound=lambda ch, p, v: clicks.append((ch, p, v)), echo=False)
    model = StageModel(load_ensemble("quartet"))
    view.enter(model)
    view.attach(model)
    try:
        deadline = time.monotonic() + 2.0
        while view.feed.latest is None and time.monotonic() < deadline:
            time.sleep(0.01)
        view.frame(model, time.monotonic())
        assert model.caption == "count-in: first chord C" and clicks, "the loop ticks"
        assert view.key(pygame.K_F6, model, time.monotonic())
        assert sessions == [1, 2] and view.session == 2
        assert not view.key(pygame.K_F5, model, time.monotonic()), "not a practice key"
    finally:
        view.close()
    assert view._thread is None
