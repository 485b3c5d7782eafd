"""A live session: MIDI input, performer and audio output wired together, with its status.

Everything here runs in the main thread except ``Performer.handle`` (MIDI thread) and the
audio callback (FluidSynth's thread, or PortAudio's with ``audio="sounddevice"``).
"""

from __future__ import annotations

import gc
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from instrument.arrange import make_arranger
from instrument.arrange.base import Arranger
from instrument.ensemble import Ensemble, load_ensemble
from instrument.errors import InstrumentError
from instrument.input.midi import (
    InputStatus,
    MidiInput,
    choose_api,
    forget_jack_client,
    jack_running,
)
from instrument.live.performer import Performer
from instrument.synth.fluid import Synth

AUDIO_CHOICES = ("auto", "jack", "pulseaudio", "alsa", "sounddevice", "none")


def choose_audio(requested: str) -> str:
    """The audio output to use: JACK if a server runs, else PulseAudio, else ALSA."""
    if requested not in AUDIO_CHOICES:
        raise InstrumentError(f"unknown audio output {requested!r} ({', '.join(AUDIO_CHOICES)})")
    if requested != "auto":
        return requested
    if jack_running():
        return "jack"
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if os.environ.get("PULSE_SERVER") or (runtime and Path(runtime, "pulse/native").exists()):
        return "pulseaudio"
    return "alsa"


def over_budget(arranger) -> int:
    """Notes the arranger's budget guard gave to the zone split instead of the model.

    ``LSTMArranger.fallbacks``; the BiLSTM's live notes go to its online arranger.
    """
    n = getattr(arranger, "fallbacks", None)
    if n is None:
        n = getattr(getattr(arranger, "online", None), "fallbacks", 0)
    return int(n)


@dataclass
class Health:
    """What the status line shows."""

    midi: InputStatus
    audio: str
    latency_ms: float  # output buffering: periods x period / rate
    xruns: int = 0
    cpu_load: float = 0.0  # JACK's DSP load, %
    over_budget: int = 0  # arranger decisions that fell back to the zone split
    messages: list[str] = field(default_factory=list)


class LiveSession:
    """Owns the synth, the performer, the MIDI input and the audio output of ``play``."""

    def __init__(self, ensemble: Ensemble, arranger: Arranger, soundfont: Path,
                 audio: str = "auto", midi_in: str | None = None, midi_api: str = "auto",
                 sample_rate: int = 48000, period: int = 128, gain: float = 0.6,
                 reset_after: float = 4.0, multi_out: bool = False):
        self.audio = choose_audio(audio)
        if multi_out and self.audio != "jack":
            raise InstrumentError("--multi-out needs --audio jack")
        self.sample_rate, self.period = sample_rate, period
        self.synth = Synth(soundfont, sample_rate=sample_rate, gain=gain,
                           outputs_per_channel=multi_out)
        self.performer = Performer(self.synth, ensemble, arranger, reset_after=reset_after)
        self.midi: MidiInput | None = None
        self._want_midi = midi_in
        self._midi_api = "jack" if self.audio == "jack" and midi_api == "auto" else midi_api
        self._stream = None  # sounddevice stream, when PortAudio drives the audio
        self._jack_monitor = None
        self._xruns = 0
        self._server_lost = False
        self._next_retry = 0.0
        self.audio_reconnects = 0
        self.closed = False

    # -- start/stop --------------------------------------------------------------------------
    def start(self) -> None:
        self._open_io()
        # Everything loaded so far (models, libraries) lives as long as the session: out of
        # the collector's sight, a full collection no longer walks it while holding the GIL
        # that the MIDI callback in the audio thread is waiting for.
        gc.collect()
        gc.freeze()

    def _open_io(self) -> None:
        midi_api = None if self._want_midi == "none" else choose_api(self._midi_api)
        # Under JACK, MIDI comes in through FluidSynth's own port in the audio client, so a
        # note is rendered in the period it arrives (rtmidi's separate client costs a period).
        via_synth = midi_api == "jack" and self.audio == "jack"
        self._start_audio(self.performer.handle if via_synth else None)
        if midi_api is not None:
            self.midi = MidiInput(self.performer.handle, port=self._want_midi, api=midi_api,
                                  on_lost=self.performer.release_all,
                                  jack_port="instrument:midi_00" if via_synth else None)
            self.midi.open()
        if self.audio == "jack":
            self._watch_jack()

    def _start_audio(self, midi_callback=None) -> None:
        if self.audio == "none":
            return
        if self.audio == "sounddevice":
            import sounddevice as sd

            def callback(outdata, frames, _time, _status) -> None:
                self.synth.render_into(outdata)

            try:
                self._stream = sd.OutputStream(samplerate=self.sample_rate, channels=2,
                                               dtype="float32", blocksize=self.period,
                                               latency="low", callback=callback)
                self._stream.start()
            except Exception as e:  # PortAudioError, or no device at all
                raise InstrumentError(f"cannot open audio output through PortAudio: {e}") from None
            return
        self.synth.start(self.audio, client_name="instrument", period=self.period,
                         midi_callback=midi_callback)

    def _watch_jack(self) -> None:
        """A passive JACK client that counts xruns and reads the DSP load."""
        import jack

        try:
            client = jack.Client("instrument-watch", no_start_server=True)
        except jack.JackError:
            return

        def on_xrun(_delay: float) -> None:
            self._xruns += 1

        def on_shutdown(_status, _reason: str) -> None:
            self._server_lost = True  # acted on in health(), in the main thread

        client.set_xrun_callback(on_xrun)
        client.set_shutdown_callback(on_shutdown)
        client.activate()
        self._jack_monitor = client

    def switch_ensemble(self, name: str, arranger_name: str | None = None) -> Ensemble:
        """Change ensemble (and arranger) while playing; sounding notes end normally."""
        from instrument.arrange import default_arranger_name

        ensemble = load_ensemble(name)
        arranger = make_arranger(arranger_name or default_arranger_name(ensemble), ensemble)
        self.performer.switch(ensemble, arranger)
        return ensemble

    def _jack_alive(self) -> bool:
        """Whether the JACK server still knows our audio client.

        Neither the shutdown callback nor the clock can be trusted when jackd dies: a new
        server of the same name can take over the old one's shared memory. Asking the server
        for our ports cannot be fooled.
        """
        if self._jack_monitor is None:
            return not self._server_lost
        try:
            return bool(self._jack_monitor.get_ports("^instrument:")) and not self._server_lost
        except Exception:  # noqa: BLE001 - a dead server makes the query fail
            return False

    def _reconnect_audio(self) -> None:
        """After the JACK server went away: once it answers again, reopen audio and MIDI."""
        now = time.monotonic()
        if now < self._next_retry:
            return
        self._next_retry = now + 1.0
        if not jack_running():
            return
        # Closing clients of a dead server can crash inside libjack: abandon them instead.
        if self.midi is not None:
            self.midi.abandon()
        forget_jack_client(self._jack_monitor)
        self.midi = self._jack_monitor = None
        self.synth.abandon_driver()
        try:
            self._open_io()
        except InstrumentError:
            return
        self._server_lost = False
        self.audio_reconnects += 1

    def _close_io(self) -> None:
        for closer in (
            lambda: self.midi.close() if self.midi else None,
            self._close_monitor,
            self.synth.stop_driver,
        ):
            try:
                closer()
            except Exception:  # noqa: BLE001 - a dead server makes closing fail; go on
                pass
        self.midi = None

    def _close_monitor(self) -> None:
        if self._jack_monitor is not None:
            monitor, self._jack_monitor = self._jack_monitor, None
            monitor.deactivate()
            monitor.close()

    def health(self) -> Health:
        if self.audio == "jack" and not self.closed and not self._jack_alive():
            if not self._server_lost:
                self._server_lost = True
                self.performer.release_all()  # what was held is gone with the server
                self._next_retry = time.monotonic() + 1.0
        if self._server_lost and not self.closed:
            self._reconnect_audio()
            if self._server_lost:
                return Health(midi=InputStatus("lost", "audio server gone: retrying", "jack"),
                              audio="jack (lost, retrying)", latency_ms=0.0, xruns=self._xruns,
                              messages=["the JACK server went away; retrying every second"])
        midi = self.midi.poll() if self.midi else InputStatus("none", "computer keyboard", "-")
        periods = 2
        latency = 1000.0 * periods * self.period / self.sample_rate
        cpu = 0.0
        if self._jack_monitor is not None:
            try:
                cpu = float(self._jack_monitor.cpu_load())
            except Exception:  # noqa: BLE001 - the server may have gone; shown as 0
                cpu = 0.0
        arranger = self.performer.setup.arranger
        return Health(midi=midi, audio=self.audio, latency_ms=latency, xruns=self._xruns,
                      cpu_load=cpu, over_budget=over_budget(arranger))

    def close(self) -> None:
        """Silence everything, then shut down input, audio and synth. Safe to call twice."""
        if self.closed:
            return
        self.closed = True
        self.performer.panic()
        self.performer.closed = True
        time.sleep(0.05)  # let the audio thread render the release once
        self._close_io()
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
        self.synth.close()
