"""FluidSynth playing an ensemble: one MIDI channel per part, with its GM program.

All calls go straight to libfluidsynth, whose API is thread-safe; nothing here allocates
per note, so the MIDI callback can call it directly.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from instrument.ensemble import DRUM_CHANNEL, Ensemble
from instrument.errors import InstrumentError
from instrument.synth.base import SynthPort
from instrument.synth.library import fluidsynth
from instrument.synth.soundfont import check_soundfont

_write_float = fluidsynth.cfunc(
    "fluid_synth_write_float", ctypes.c_int,
    ("synth", ctypes.c_void_p, 1), ("len", ctypes.c_int, 1),
    ("lout", ctypes.c_void_p, 1), ("loff", ctypes.c_int, 1), ("lincr", ctypes.c_int, 1),
    ("rout", ctypes.c_void_p, 1), ("roff", ctypes.c_int, 1), ("rincr", ctypes.c_int, 1),
)  # fmt: skip


# The library pyfluidsynth loaded, seen again through PyDLL: calls that keep the GIL.
_HELD_GIL_LIB = ctypes.PyDLL(fluidsynth._fl._name, handle=fluidsynth._fl._handle)


def _held_gil(name: str, *argtypes) -> Callable[..., int]:
    """A FluidSynth function called without releasing the GIL.

    These calls take microseconds. Through a plain CDLL every call would release the GIL
    and take it back, and each taking back can wait for whatever thread grabbed it
    meanwhile (the display drawing, a planner): in JACK's process thread that wait is an
    xrun. Holding the GIL makes one event cost one GIL acquisition, at the callback's entry.
    """
    fn = getattr(_HELD_GIL_LIB, name)
    fn.argtypes, fn.restype = list(argtypes), ctypes.c_int
    return fn


_P, _I = ctypes.c_void_p, ctypes.c_int
_noteon = _held_gil("fluid_synth_noteon", _P, _I, _I, _I)
_noteoff = _held_gil("fluid_synth_noteoff", _P, _I, _I)
_cc = _held_gil("fluid_synth_cc", _P, _I, _I, _I)
_pitch_bend = _held_gil("fluid_synth_pitch_bend", _P, _I, _I)
_program_select = _held_gil("fluid_synth_program_select", _P, _I, _I, _I, _I)

_LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
_set_log_function = fluidsynth.cfunc(
    "fluid_set_log_function", ctypes.c_void_p,
    ("level", ctypes.c_int, 1), ("fun", _LOG_FN, 1), ("data", ctypes.c_void_p, 1),
)  # fmt: skip
FLUID_PANIC, FLUID_ERR = 0, 1
_errors: list[str] = []  # FluidSynth's latest error messages, for our own one-line errors
_log_handlers: list = []  # the ctypes callbacks, kept alive for as long as the library


def _keep_error(_level: int, message: bytes | None, _data: int) -> None:
    del _errors[:-7]
    _errors.append((message or b"").decode("utf-8", "replace").strip())


def quiet_fluidsynth_logs() -> None:
    """FluidSynth (and the GLib-based DLS loader it tries next) print to the terminal; a
    damaged SoundFont would bury our one-line error under their lines. Their errors are
    kept for our messages instead, their other log levels dropped. Idempotent."""
    if _log_handlers:
        return
    handler = _LOG_FN(_keep_error)
    _log_handlers.append(handler)
    _set_log_function(FLUID_PANIC, handler, None)
    _set_log_function(FLUID_ERR, handler, None)
    for level in (2, 3, 4):  # warnings, info, debug: discarded (NULL function)
        _set_log_function(level, _LOG_FN(), None)
    try:
        glib = ctypes.CDLL("libglib-2.0.so.0")
    except OSError:
        return
    glib_handler = ctypes.CFUNCTYPE(
        None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p
    )(lambda _d, _l, m, _u: _keep_error(1, m, 0))
    _log_handlers.append(glib_handler)
    glib.g_log_set_default_handler.restype = ctypes.c_void_p
    glib.g_log_set_default_handler(glib_handler, None)


def _fluid_reason() -> str:
    """The first thing FluidSynth complained about since ``_errors`` was cleared."""
    return f" ({_errors[0]})" if _errors else ""


CC_MOD_WHEEL, CC_VOLUME, CC_PAN, CC_SUSTAIN = 1, 7, 10, 64
CC_ALL_SOUND_OFF, CC_RESET_ALL, CC_ALL_NOTES_OFF = 120, 121, 123
N_CHANNELS = 16


class Synth(SynthPort):
    """A FluidSynth instance set up for an ensemble.

    sample_rate: Hz. gain: FluidSynth master gain (0.2 is its default; 0.6 suits a few
    parts). Audio goes either to FluidSynth's own driver (``start``) or is pulled with
    ``render_into`` (offline rendering, or a host-owned audio callback).
    """

    def __init__(
        self,
        soundfont: str | os.PathLike,
        sample_rate: int = 48000,
        gain: float = 0.6,
        outputs_per_channel: bool = False,
    ):
        self.soundfont = check_soundfont(soundfont)
        quiet_fluidsynth_logs()
        self.sample_rate = sample_rate
        settings: dict[str, object] = {}
        if outputs_per_channel:  # one stereo output per MIDI channel, i.e. per part
            settings = {"synth.audio-channels": N_CHANNELS, "synth.audio-groups": N_CHANNELS}
        self._fs = fluidsynth.Synth(
            gain=gain, samplerate=float(sample_rate), channels=N_CHANNELS, **settings
        )
        self.outputs_per_channel = outputs_per_channel
        _errors.clear()
        self.sfid = self._fs.sfload(str(self.soundfont))
        if self.sfid == -1:
            self._fs.delete()
            raise InstrumentError(
                f"FluidSynth could not load SoundFont {self.soundfont}{_fluid_reason()}"
            )
        self._loaded: dict[Path, int] = {self.soundfont.resolve(): self.sfid}  # path -> sfid
        self.ensemble: Ensemble | None = None
        self._driver_started = False
        self._midi_handler = None  # the JACK MIDI callback, once ``start`` opened the port
        self._abandoned: list[object] = []  # drivers of dead servers (``abandon_driver``)

    # -- set-up (outside the real-time path) -------------------------------------------------
    def set_ensemble(self, ensemble: Ensemble) -> None:
        """Give every part its program, volume and pan. Sounding notes are released first."""
        self.panic()
        for ch in range(N_CHANNELS):
            self._fs.cc(ch, CC_RESET_ALL, 0)
        for part in ensemble.parts:
            self._fs.program_select(part.channel, self.sfid, 0, part.program)
            self._fs.cc(part.channel, CC_VOLUME, part.volume)
            self._fs.cc(part.channel, CC_PAN, part.pan)
        self._fs.program_select(DRUM_CHANNEL, self.sfid, 128, 0)
        self.ensemble = ensemble

    def preload(self, soundfont: str | os.PathLike) -> None:
        """Load another SoundFont beside the one in use, so that ``use_soundfont`` can
        switch to it while playing: loading takes FluidSynth's lock for the whole file,
        which the audio thread would wait for (a dropout). Loaded once per path."""
        path = check_soundfont(soundfont).resolve()
        if path in self._loaded:
            return
        _errors.clear()
        sfid = self._fs.sfload(str(path))
        if sfid == -1:
            raise InstrumentError(f"FluidSynth could not load SoundFont {path}{_fluid_reason()}")
        self._loaded[path] = sfid

    def use_soundfont(self, soundfont: str | os.PathLike) -> None:
        """Take the preloaded ``soundfont`` for the parts' next program changes (sounding
        voices ring on with the old one). InstrumentError if it was not preloaded."""
        path = Path(soundfont).resolve()
        if path not in self._loaded:
            raise InstrumentError(f"SoundFont not preloaded: {path}")
        self.sfid, self.soundfont = self._loaded[path], path
        self._fs.program_select(DRUM_CHANNEL, self.sfid, 128, 0)

    def start(
        self,
        driver: str,
        client_name: str = "instrument",
        period: int = 128,
        periods: int = 2,
        autoconnect: bool = True,
        midi_callback: Callable[[list[int]], None] | None = None,
    ) -> None:
        """Start FluidSynth's own audio thread on ``driver`` (jack, pulseaudio, alsa, ...).

        With ``driver="jack"`` and ``midi_callback``, FluidSynth also opens a JACK MIDI port
        (``<client_name>:midi_00``) in the same JACK client and hands every incoming message,
        as raw bytes, to ``midi_callback`` in its process thread just before it renders the
        period: a note is heard in the very period it arrives, as with plain FluidSynth.
        """
        fs = self._fs
        fs.setting("audio.period-size", period)
        fs.setting("audio.periods", periods)
        if driver == "jack":
            fs.setting("audio.jack.id", client_name)
            fs.setting("audio.jack.autoconnect", 1 if autoconnect else 0)
            fs.setting("audio.jack.multi", 1 if self.outputs_per_channel else 0)
        fs.setting("audio.driver", driver)
        drv = fluidsynth.new_fluid_audio_driver(fs.settings, fs.synth)
        if not drv:
            raise InstrumentError(f"could not open audio output {driver!r}")
        fs.audio_driver = drv
        self._driver_started = True
        if midi_callback is not None:
            if driver != "jack":
                raise InstrumentError("FluidSynth's MIDI input is used with JACK only")
            self._open_jack_midi(client_name, midi_callback)

    def _open_jack_midi(self, client_name: str, on_message: Callable[[list[int]], None]) -> None:
        from instrument.input.jack import open_jack_midi

        # the handler is kept referenced: FluidSynth calls it for as long as the driver lives
        self._fs.midi_driver, self._midi_handler = open_jack_midi(self._fs, client_name, on_message)

    def stop_midi_driver(self) -> None:
        """Close FluidSynth's MIDI driver (its thread is joined: no callback runs after)."""
        fs = self._fs
        if fs.midi_driver:
            fluidsynth.delete_fluid_midi_driver(fs.midi_driver)
            fs.midi_driver = None

    def stop_driver(self) -> None:
        """Close the audio (and MIDI) driver but keep the synth: to reopen after a server loss."""
        fs = self._fs
        self.stop_midi_driver()
        if fs.audio_driver:
            fluidsynth.delete_fluid_audio_driver(fs.audio_driver)
            fs.audio_driver = None
        self._driver_started = False

    def abandon_driver(self) -> None:
        """Forget the drivers of an audio server that died, without touching them.

        Closing a JACK client whose server is gone can crash inside libjack; the dead
        handles are small and are kept (never freed) so nothing calls into them again.
        """
        fs = self._fs
        self._abandoned += [fs.audio_driver, fs.midi_driver, self._midi_handler]
        fs.audio_driver = fs.midi_driver = None
        self._driver_started = False

    def close(self) -> None:
        """Silence everything and free FluidSynth (driver first, so no callback runs after)."""
        self.panic()
        self.stop_driver()  # the drivers first: no callback may run into a freed synth
        self._fs.delete()

    # -- real-time path ----------------------------------------------------------------------
    def noteon(self, channel: int, pitch: int, velocity: int) -> None:
        _noteon(self._fs.synth, channel, pitch, velocity)

    def noteoff(self, channel: int, pitch: int) -> None:
        _noteoff(self._fs.synth, channel, pitch)

    def cc(self, channel: int, control: int, value: int) -> None:
        _cc(self._fs.synth, channel, control, value)

    def pitch_bend(self, channel: int, value14: int) -> None:
        """value14: the raw 14-bit MIDI value, 0..16383 (8192 = centre)."""
        _pitch_bend(self._fs.synth, channel, value14)

    def program(self, channel: int, program: int) -> None:
        """GM ``program`` from the SoundFont in use (``use_soundfont``), bank 0 (drums: 128)."""
        bank = 128 if channel == DRUM_CHANNEL else 0
        _program_select(self._fs.synth, channel, self.sfid, bank, program)

    def panic(self) -> None:
        """All notes and sounds off, sustain up, on every channel."""
        for ch in range(N_CHANNELS):
            self.cc(ch, CC_SUSTAIN, 0)
            fluidsynth.fluid_synth_all_notes_off(self._fs.synth, ch)
            fluidsynth.fluid_synth_all_sounds_off(self._fs.synth, ch)

    def active_voices(self) -> int:
        return int(self._fs.get_active_voice_count())

    def render_into(self, out: np.ndarray) -> None:
        """Synthesize ``len(out)`` frames into ``out`` (float32, shape (frames, 2), C order).

        Writes in place and allocates nothing, so a host audio callback may call it.
        """
        n = out.shape[0]
        addr = out.ctypes.data
        _write_float(self._fs.synth, n, addr, 0, 2, addr, 1, 2)

    def render(self, frames: int) -> np.ndarray:
        out = np.zeros((frames, 2), dtype=np.float32)
        self.render_into(out)
        return out


def write_wav(path: str | os.PathLike, audio: np.ndarray, sample_rate: int) -> Path:
    """Write float audio (frames, channels) as 16-bit PCM WAV."""
    import soundfile

    p = Path(path)
    try:
        soundfile.write(str(p), np.clip(audio, -1.0, 1.0), sample_rate, subtype="PCM_16")
    except (OSError, RuntimeError) as e:
        raise InstrumentError(f"cannot write {p}: {e}") from None
    return p
