"""The stage window: the main thread's loop of ``play``, ``jam`` and ``practice``.

Drawing runs here at up to 60 fps while MIDI and audio run in their own threads. The
computer keyboard is a piano too (``instrument.input.keys``): its notes take the path a
keyboard's notes take.

A command hands the loop its views (``View``): ``play`` has the play view only, ``jam``
its jam view and the play view, ``practice`` its practice view and the play view. F4
cycles through them; a view needs what only its command sets up (a band, a chart), so a
window never offers a mode its command cannot run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pygame

from instrument.display.draw import draw_stage
from instrument.display.model import StageModel
from instrument.input.keys import PIANO_KEYS, RECALL_KEYS, KeyboardPiano, LocalKeys, key_codes


def open_window(size: tuple[int, int] = (1280, 720), title: str = "instrument"):
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    pygame.display.init()
    pygame.font.init()
    screen = pygame.display.set_mode(size, pygame.RESIZABLE)
    pygame.display.set_caption(title)
    return screen


def screenshot_path(when: float | None = None) -> Path:
    """Where F12 saves: ``<state_dir>/screenshots/instrument-YYYYmmdd-HHMMSS.png`` (the
    user's data folder, ``instrument.paths.state_dir``), never the working directory."""
    from instrument.paths import state_dir

    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when))
    folder = state_dir() / "screenshots"
    path = folder / f"instrument-{stamp}.png"
    n = 1
    while path.exists():  # two in one second
        n += 1
        path = folder / f"instrument-{stamp}-{n}.png"
    return path.resolve()


def save_screenshot(surface: pygame.Surface, path: str | os.PathLike) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    pygame.image.save(surface, str(p))
    return p


class View:
    """One mode's share of the stage: the fields it fills, its keys and their help.

    All methods run in the main thread, once per frame or per key; they must not block.
    """

    name = "play"
    help: list[str] = []

    def attach(self, model: StageModel) -> None:
        """Once, when the window is open: hook the view's sources to the model."""

    def enter(self, model: StageModel) -> None:
        """Shown from now on: the panel starts empty, the view fills it each frame."""
        model.mode, model.help_lines = self.name, list(self.help)
        model.chord, model.chord_notes, model.next_chords = "", frozenset(), []
        model.beat, model.pulse, model.caption, model.feedback = None, True, "", None

    def frame(self, model: StageModel, now: float) -> None:
        pass

    def idle(self, model: StageModel, now: float) -> None:
        """Each frame while another view is shown (work that may not wait, like storing)."""

    def key(self, key: int, model: StageModel, now: float) -> bool:
        """A key press the common keys did not take; True when this view used it. A
        hidden view gets the keys the shown one leaves (the band obeys F6 in any view)."""
        return False

    def panic(self, model: StageModel, now: float) -> None:
        """Esc: silence what this view's command added (the session is silenced anyway)."""

    def close(self) -> None:
        pass


class PlayView(View):
    """The play mode: the chord panel names what the hands hold."""

    def frame(self, model: StageModel, now: float) -> None:
        _name_held_chord(model)


class CallbackView(View):
    """A view from two plain functions (scripts and tests)."""

    def __init__(self, name: str, on_frame=None, on_key=None):
        self.name, self.on_frame, self.on_key = name, on_frame, on_key

    def frame(self, model: StageModel, now: float) -> None:
        if self.name == "play":
            _name_held_chord(model)
        if self.on_frame is not None:
            self.on_frame(model, now)

    def key(self, key: int, model: StageModel, now: float) -> bool:
        return self.on_key is not None and bool(self.on_key(key))


def run_stage(
    session,
    duration: float | None = None,
    screenshot: str | None = None,
    fps: int = 60,
    on_frame: Callable[[StageModel, float], None] | None = None,
    on_key: Callable[[int], bool] | None = None,
    mode: str = "play",
    views: list[View] | None = None,
    band_parts: list[str] | None = None,
) -> StageModel:
    """The window's loop until quit (Ctrl+Q or closing the window) or ``duration`` seconds.

    views: the modes this command offers, the first shown first (F4 cycles). Without them,
    one view from on_frame(model, now) and on_key(key) (True when it used the key).
    band_parts: the legend's band (jam). screenshot: a PNG of the last frame.
    """
    views = views or _views_from(on_frame, on_key, mode)
    model = StageModel(session.performer.setup.ensemble, mode=views[0].name)
    model.band_parts = list(band_parts or [])
    session.performer.add_listener(model.on_note)
    views[0].enter(model)
    screen = open_window()
    keys = LocalKeys(session)
    stage = _Stage(session, model, views, screen, KeyboardPiano(keys.send, key_codes(PIANO_KEYS)))
    clock = pygame.time.Clock()
    end = time.monotonic() + duration if duration else float("inf")
    try:
        for view in views:  # now that the window is up (a practice count-in starts here)
            view.attach(model)
        while stage.running and time.monotonic() < end:
            stage.frame(time.monotonic())
            clock.tick(fps)
        if screenshot:
            save_screenshot(screen, screenshot)
    finally:
        stage.piano.release_all()
        keys.close()
        for view in views:
            view.close()
        pygame.display.quit()
    return model


def _views_from(on_frame, on_key, mode: str) -> list[View]:
    """A command's one view when it names none: the play view, or one of two callbacks."""
    if on_frame is None and on_key is None and mode == "play":
        return [PlayView()]
    return [CallbackView(mode, on_frame, on_key)]


class _Stage:
    """The window's state from frame to frame: the views, the one shown, the keys held.

    Runs in the main thread only."""

    def __init__(
        self,
        session,
        model: StageModel,
        views: list[View],
        screen: pygame.Surface,
        piano: KeyboardPiano,
    ):
        self.session, self.model, self.views, self.screen = session, model, views, screen
        self.piano = piano
        self.recall_keys = key_codes(RECALL_KEYS)  # the window is open: key names resolve
        self.current = 0  # the view shown
        self.running = True  # until quit
        self._next_health = 0.0

    def frame(self, now: float) -> None:
        """The events since the last frame, the status (4 Hz), the views, the drawing."""
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                self.running = False
            elif event.type == pygame.KEYDOWN:
                self._key_down(event, now)
            elif event.type == pygame.KEYUP:
                self.piano.release(event.key)
        if now >= self._next_health:  # the health poll touches the MIDI system: 4 Hz is plenty
            _update_status(self.model, self.session)
            self._next_health = now + 0.25
        self.model.update(now)
        for k, view in enumerate(self.views):
            if k == self.current:
                view.frame(self.model, now)
            else:
                view.idle(self.model, now)
        draw_stage(self.screen, self.model, now)
        pygame.display.flip()

    def _key_down(self, event: pygame.event.Event, now: float) -> None:
        """Ctrl+Q, Ctrl+N and F4 first, then the views' keys, the piano keys, the rest."""
        from instrument.arrange import ARRANGERS
        from instrument.ensemble import available_ensembles

        key, model = event.key, self.model
        if key == pygame.K_q and pygame.key.get_mods() & pygame.KMOD_CTRL:
            self.running = False
        elif key in self.recall_keys and event.mod & pygame.KMOD_CTRL:
            model.status.message = _recall(self.session, model, self.recall_keys[key])
        elif key == pygame.K_F4:
            self.current = _next_view(self.views, self.current, model)
        elif any(v.key(key, model, now) for v in _shown_first(self.views, self.current)):
            pass  # a view used it
        elif not self.piano.press(key, model.octave, model.velocity):
            ensembles, arrangers = available_ensembles(), list(ARRANGERS)
            _control_key(key, self.session, model, self.screen, self.piano, ensembles, arrangers)
            if key == pygame.K_ESCAPE:
                for view in self.views:
                    view.panic(model, now)


def _recall(session, model: StageModel, index: int) -> str:
    """Ctrl+N: registration N, said on the status line."""
    from instrument.errors import InstrumentError

    try:
        reg = session.recall(index)
    except InstrumentError as e:
        return str(e)
    model.ensemble = session.performer.setup.ensemble
    return f"registration {index + 1}: {reg.name}"


def _shown_first(views: list[View], current: int) -> list[View]:
    return [views[current]] + views[:current] + views[current + 1 :]


def _next_view(views: list[View], current: int, model: StageModel) -> int:
    if len(views) == 1:
        model.status.message = (
            "play only here: jam is `instrument jam`, practice `instrument practice CHART`"
        )
        return current
    current = (current + 1) % len(views)
    views[current].enter(model)
    model.status.message = f"view: {views[current].name}"
    return current


def _name_held_chord(model: StageModel) -> None:
    """In play mode the chord panel names what the hands hold (three notes or more)."""
    from instrument.harmony.naming import name_chord

    held = frozenset(model.held)
    if len(held) >= 3 and held != model.chord_notes:
        chord = name_chord(held)
        model.chord = str(chord) if chord is not None else model.chord
        model.chord_notes = held


def _update_status(model: StageModel, session) -> None:
    h = session.health()
    s = model.status
    if h.messages:  # a registration recalled by a program change from the keyboard
        s.message = h.messages[-1]
        model.ensemble = session.performer.setup.ensemble
    s.midi_state, s.midi_port, s.audio = h.midi.state, h.midi.port, h.audio
    s.latency_ms, s.xruns = h.latency_ms, h.xruns
    s.cpu_load, s.over_budget = h.cpu_load, h.over_budget
    s.arranger = session.performer.setup.arranger.name
    s.decide_p99_ms = session.performer.counters.decision_percentiles()[1]
    s.note_path = h.note_path
    if h.midi.state == "lost":
        model.release_all(time.monotonic())


def _control_key(
    key: int,
    session,
    model: StageModel,
    screen: pygame.Surface,
    piano: KeyboardPiano,
    ensembles: list[str],
    arrangers: list[str],
) -> None:
    """The keys that are neither a view's nor the piano's: panic, octave and velocity,
    help, the next ensemble or arranger, a screenshot."""
    from instrument.errors import InstrumentError

    if key == pygame.K_ESCAPE:
        piano.release_all()
        session.performer.panic()
        model.release_all(time.monotonic())
        model.status.message = "panic: all notes off"
    elif key == pygame.K_LEFT:
        model.octave = max(0, model.octave - 1)
    elif key == pygame.K_RIGHT:
        model.octave = min(8, model.octave + 1)
    elif key == pygame.K_UP:
        model.velocity = min(127, model.velocity + 16)
    elif key == pygame.K_DOWN:
        model.velocity = max(16, model.velocity - 16)
    elif key == pygame.K_F1:
        model.show_help = not model.show_help
    elif key == pygame.K_F10:
        model.show_developer = not model.show_developer
    elif key in (pygame.K_F2, pygame.K_F3):
        current = session.performer.setup
        try:
            if key == pygame.K_F2:
                names = ensembles
                i = names.index(current.ensemble.name) if current.ensemble.name in names else -1
                ensemble = session.switch_ensemble(names[(i + 1) % len(names)])
            else:
                i = (
                    arrangers.index(current.arranger.name)
                    if current.arranger.name in arrangers
                    else -1
                )
                ensemble = session.switch_ensemble(
                    current.ensemble.name, arrangers[(i + 1) % len(arrangers)]
                )
            model.ensemble = ensemble
            model.status.message = f"{ensemble.title}, {session.performer.setup.arranger.name}"
        except InstrumentError as e:
            model.status.message = str(e)
    elif key == pygame.K_F12:
        try:
            path = save_screenshot(screen, screenshot_path())
            model.status.message = f"saved {path}"
        except (OSError, pygame.error) as e:
            model.status.message = f"screenshot not saved: {e}"
    if key in (pygame.K_LEFT, pygame.K_RIGHT, pygame.K_UP, pygame.K_DOWN):
        model.status.message = f"octave {model.octave}, velocity {model.velocity}"
