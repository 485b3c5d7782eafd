"""A live session: MIDI input, performer and audio output wired together, with its status.

Everything here runs in the main thread except ``handle`` / ``Performer.handle`` (MIDI
thread) and the audio callback (FluidSynth's thread, or PortAudio's with
``audio="sounddevice"``).

It starts anywhere: asked for ``auto``, the audio output is the first of JACK,
PulseAudio/PipeWire, ALSA, PortAudio that opens, else none (with a warning), and the MIDI
input the first of ALSA, JACK that opens, else the computer keyboard. ``choices`` says
what was taken and why each earlier candidate was passed over.

On the compiled note path the keyboard is read by FluidSynth's own MIDI driver, which
calls the compiled handler without the GIL: under JACK its port in the audio's client;
under ALSA (audio not JACK) its sequencer client, the keyboard subscribed to it by
``MidiInput``. Where that driver cannot open, rtmidi reads the keyboard, as on the
Python path, and ``choices`` says why.
"""

from __future__ import annotations

import os
import re
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from instrument import gil_hog
from instrument.arrange import make_arranger
from instrument.arrange.base import Arranger
from instrument.ensemble import DRUM_CHANNEL, Ensemble, load_ensemble
from instrument.errors import InstrumentError, one_line
from instrument.input import connections
from instrument.input.alsaseq import fluid_client_name
from instrument.input.midi import (
    InputStatus,
    MidiInput,
    alsa_sequencer,
    choose_api,
    forget_jack_client,
    jack_running,
)
from instrument.live import jackwatch
from instrument.live.compiled import (
    COMPILED_ARRANGERS,
    CompiledPerformer,
    open_compiled_input,
    python_reason,
    warm_up,
)
from instrument.live.lifecycle import Session
from instrument.live.midiout import MidiOut
from instrument.live.outputs import PartOutputs
from instrument.live.performer import Performer
from instrument.live.realtime import apply_realtime_settings
from instrument.registration import Registration
from instrument.synth.fluid import N_CHANNELS, Synth

AUDIO_CHOICES = ("auto", "jack", "pulseaudio", "alsa", "sounddevice", "none")
AUTO_AUDIO = ("jack", "pulseaudio", "alsa", "sounddevice")  # tried in this order
# FluidSynth's ALSA sequencer client is "FLUID Synth (<id>)"; ALSA lets two clients share a
# name, so the id is this process's own: the keyboard is subscribed to our synth, no other.
SEQ_ID = f"instrument-{os.getpid()}"


def audio_absent(driver: str) -> str | None:
    """Why ``driver`` cannot be there at all (no server, no device), else None (try it)."""
    if driver == "jack":
        return None if jack_running() else "no JACK server answers"
    if driver == "pulseaudio":
        # PipeWire's pipewire-pulse serves the same socket. Without one the library would
        # try to spawn a daemon: never done behind the player's back.
        runtime = os.environ.get("XDG_RUNTIME_DIR", "")
        if os.environ.get("PULSE_SERVER") or (runtime and Path(runtime, "pulse/native").exists()):
            return None
        return "no PulseAudio/PipeWire server socket"
    if driver == "sounddevice":
        try:
            import sounddevice as sd

            if not any(d["max_output_channels"] > 0 for d in sd.query_devices()):
                return "PortAudio sees no output device"
        except Exception as e:  # noqa: BLE001 - no PortAudio library: a reason, not a crash
            return f"PortAudio unavailable ({one_line(e)})"
    return None


def port_slug(name: str) -> str:
    """A part's name as a JACK port name: "Violin I" -> "violin-i"."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "part"


def part_port_names(ensemble: Ensemble) -> dict[int, str]:
    """MIDI channel -> the stem of its ``--multi-out`` ports (``violin-i`` for
    ``violin-i_l``/``violin-i_r``); the drum channel is ``drums``, unused channels keep
    FluidSynth's ``ch-NN``. Two parts of one name get their channel number appended."""
    names = {ch: f"ch-{ch:02d}" for ch in range(N_CHANNELS)}
    names[DRUM_CHANNEL] = "drums"
    taken: set[str] = {"drums"}
    for part in ensemble.parts:
        stem = port_slug(part.name)
        if stem in taken:
            stem = f"{stem}-{part.channel:02d}"
        taken.add(stem)
        names[part.channel] = stem
    return names


@dataclass
class Health:
    """What the status line shows."""

    midi: InputStatus
    audio: str
    latency_ms: float  # output buffering: periods x period / rate
    xruns: int = 0
    cpu_load: float = 0.0  # JACK's DSP load, %
    over_budget: int = 0  # arranger decisions that fell back to the zone split
    note_path: str = "python"  # "compiled" (live.notepath), or "python (why)"
    messages: list[str] = field(default_factory=list)


class LiveSession(Session):
    """Owns the synth, the performer, the MIDI input and the audio output of ``play``.

    audio: one of ``AUDIO_CHOICES``; ``auto`` falls back step by step (module doc).
    midi_in: a port-name substring, ``none`` for the computer keyboard, None for the first
    keyboard found (falling back to the computer keyboard). midi_out: a destination's name
    substring or ``virtual`` (``live.midiout``); the parts then also go out as MIDI.
    registrations: the bank ``prepare`` loads, the first one in force from the start.
    mpe: the keyboard is an MPE controller (``live.mpe``), routed from ``start`` on.
    transpose: semitones added to every note played (``jam``'s registration).
    synth: the synth to play (default: FluidSynth with ``soundfont``; the soak logs its
    calls).

    The jam and practice sessions (``live.jam``, ``live.practice``) are built on this one.
    """

    def __init__(self, ensemble: Ensemble, arranger: Arranger, soundfont: Path,
                 audio: str = "auto", midi_in: str | None = None, midi_api: str = "auto",
                 sample_rate: int = 48000, period: int = 128, gain: float = 0.6,
                 reset_after: float = 4.0, multi_out: bool = False,
                 midi_out: str | None = None, time_guard: bool = True,
                 registrations: list[Registration] | tuple = (), mpe: bool = False,
                 transpose: int = 0, synth: Synth | None = None, note_path: str = "auto"):
        """time_guard: whether the arranger may hand a note to the zone split when its work
        ran late (``Arranger.use_time_guard``); off, every note waits for the model.
        note_path: "auto" (the compiled path when it can play the set-up) or "python"."""
        if audio not in AUDIO_CHOICES:
            raise InstrumentError(f"unknown audio output {audio!r} ({', '.join(AUDIO_CHOICES)})")
        if multi_out and audio not in ("jack", "auto"):
            raise InstrumentError("--multi-out needs --audio jack")
        self._want_audio = audio
        self.audio = audio  # resolved by start()
        self.multi_out = multi_out
        self.sample_rate, self.period = sample_rate, period
        self.gain = gain
        if synth is None:
            synth = Synth(soundfont, sample_rate=sample_rate, gain=gain,
                          outputs_per_channel=multi_out)
        self.synth = synth
        self.outputs = PartOutputs(self.synth)
        self.time_guard = time_guard
        if not time_guard:  # on, each arranger keeps the budget it was built with
            arranger.use_time_guard(False)
        # The compiled note path (live.notepath: no Python in the audio thread) plays when
        # it can; what it cannot play keeps the Python performer, named on the status.
        reason = "asked" if note_path == "python" else None
        reason = reason or python_reason(arranger, mpe=mpe, fluid=type(synth) is Synth)
        for reg in registrations:  # one it could not switch to, later
            if reason is None and reg.arranger and reg.arranger not in COMPILED_ARRANGERS:
                reason = f"{reg.arranger} arranger in a registration"
        self.compiled = reason is None
        self.note_path = "compiled" if self.compiled else f"python ({reason})"
        if self.compiled:
            self.performer = CompiledPerformer(self.synth, ensemble, arranger,
                                               reset_after=reset_after, record_calls=8192,
                                               outputs=self.outputs)
        else:
            self.performer = Performer(self.outputs, ensemble, arranger,
                                       reset_after=reset_after)
        self.midi: MidiInput | None = None
        self.midi_out: MidiOut | None = None
        self._want_midi_out = midi_out
        self._want_midi = midi_in
        self._midi_api = midi_api
        self.choices: list[str] = []  # what start() chose and why, for the terminal
        self._transpose = 0
        self.transpose = transpose  # semitones added to every note played (a registration's)
        self._shifts: dict[tuple[int, int], int] = {}  # (channel, played pitch) -> shift
        self.program_changes: deque[int] = deque()  # from the keyboard, for the main thread
        self.soundfont = Path(soundfont)
        self.bank: list[tuple[Registration, Ensemble, Arranger]] = []
        self.registration: Registration | None = None  # the one recalled last
        self._registrations = list(registrations)
        self.mpe = mpe
        self.prepared = False
        self._stream = None  # sounddevice stream, when PortAudio drives the audio
        self._jack_monitor = None
        self._port_stems: dict[int, tuple[str, str]] = {}  # channel -> its ports' short names
        self._midi_via_synth = False
        self._midi_api_open: str | None = None
        self._midi_seq = False  # the keyboard goes to FluidSynth's ALSA sequencer driver
        self._seq_failed: str | None = None  # why that driver did not open (rtmidi instead)
        self._watch = jackwatch.ServerWatch()  # what the watch client's callbacks count
        self._server_lost = False
        self._next_retry = 0.0
        self.audio_reconnects = 0
        self.closed = False

    # -- the lifecycle (live.lifecycle) ------------------------------------------------------
    def prepare(self) -> None:
        """Warm the compiled note path up, load the registrations' bank (the first one in
        force), then apply the real-time settings (``live.realtime``). Once only."""
        if self.prepared:
            return
        self.prepared = True
        if self.compiled:  # compiled now (or loaded from numba's cache), not on a note
            warm_up()
        jackwatch.callbacks()  # the watch client's, likewise: not when JACK opens
        connections.callback()  # and the MIDI input's port-connect callback
        if self._registrations:
            self.load_registrations(self._registrations)
            first = self._registrations[0]
            self.transpose = first.transpose
            self.registration = first
        apply_realtime_settings()
        gil_hog.release()  # the stress bench's handicap: on playing, not on loading

    @property
    def transpose(self) -> int:
        """Semitones added to every note played (a registration's)."""
        return self._transpose

    @transpose.setter
    def transpose(self, semitones: int) -> None:
        self._transpose = semitones
        if self.compiled:  # the compiled path transposes itself
            self.performer.transpose = semitones

    def start(self) -> None:
        """Open audio and MIDI (``choices`` says what was taken), then route MPE. On the
        compiled path a pump thread hands the listeners what it played, and replays its
        synth calls on the outputs beside FluidSynth (a MIDI out, a take's audio)."""
        self.prepare()
        self._open_io(first=True)
        if self.compiled:
            synth = self.synth
            self.performer.pump(lambda: tuple(o for o in self.outputs.outputs if o is not synth))
        if self.mpe:
            from instrument.live.mpe import MpeRouter

            MpeRouter(self.performer).attach()

    def _midi_apis(self) -> list[str]:
        """The MIDI systems to try for the input, in order (empty: the computer keyboard)."""
        if self._want_midi == "none":
            return []
        if self._midi_api != "auto":
            return [choose_api(self._midi_api)]
        apis = []
        if self.audio == "jack":  # FluidSynth's own port: heard a period sooner
            apis.append("jack")
        if alsa_sequencer():
            apis.append("alsa")
        if "jack" not in apis and jack_running():
            apis.append("jack")
        return apis

    def _open_io(self, first: bool = False) -> None:
        if first:
            self._choose_audio()
            self._choose_midi()
        else:  # reopening after a server loss: what was chosen before, or an error
            self._start_audio(self.audio, self.handle if self._midi_via_synth else None)
            if self._midi_api_open is not None:
                self._open_midi(self._midi_api_open, self._midi_via_synth)
        if self.audio == "jack":
            self._watch_jack()
            if self.multi_out:
                self.name_part_ports(fresh=True)
        if first and self._want_midi_out:
            self._open_midi_out()

    def _choose_audio(self) -> None:
        auto = self._want_audio == "auto"
        # Under JACK the keyboard comes in through FluidSynth's port, opened with the audio.
        jack_midi = self._want_midi != "none" and self._midi_api in ("auto", "jack")
        passed: list[str] = []
        if self.multi_out and auto:  # one output per part exists under JACK only
            absent = audio_absent("jack")
            if absent:
                raise InstrumentError(f"--multi-out needs a JACK server: {absent} "
                                      "(start jackd, or play without --multi-out)")
            auto, self._want_audio = False, "jack"
        for driver in AUTO_AUDIO if auto else (self._want_audio,):
            absent = audio_absent(driver) if auto else None
            if absent:
                passed.append(f"{driver}: {absent}")
                continue
            via_synth = driver == "jack" and jack_midi
            try:
                self._start_audio(driver, self.handle if via_synth else None)
            except InstrumentError as e:
                if not auto:
                    raise  # an output asked for by name must work
                passed.append(f"{driver}: {one_line(e)}")
                continue
            self.audio, self._midi_via_synth = driver, via_synth
            how = "the first that opened" if auto else "as asked"
            why = f" (passed over {'; '.join(passed)})" if passed else ""
            self.choices.append(f"audio: {driver}, {how}{why}")
            return
        self.audio, self._midi_via_synth = "none", False
        self.choices.append("warning: no audio output works, nothing sounds here "
                            f"({'; '.join(passed)})")

    def _choose_midi(self) -> None:
        passed: list[str] = []
        for api in self._midi_apis():
            via_synth = self._midi_via_synth and api == "jack"
            try:
                self._open_midi(api, via_synth)
            except InstrumentError as e:
                if self._midi_api != "auto" or self._want_midi:
                    raise  # a system or a port asked for by name must work
                passed.append(f"{api}: {one_line(e)}{self._seq_note(either=True)}")
                continue
            self._midi_api_open, self._midi_via_synth = api, via_synth
            st = self.midi.status
            self.choices.append(f"MIDI in: {st.port} ({api}, {st.state}{self._seq_note()})")
            return
        self._midi_via_synth = False
        if self._want_midi == "none":
            why = "--midi-in none"
        elif passed:
            why = "; ".join(passed)
        else:
            why = "no MIDI system: no ALSA sequencer (/dev/snd/seq), no JACK server"
        self.choices.append(f"MIDI in: the computer keyboard ({why})")

    def _seq_note(self, either: bool = False) -> str:
        """What the choices line adds about FluidSynth's ALSA sequencer driver."""
        if self._midi_seq:
            return "; read by FluidSynth's sequencer driver, no GIL"
        if self._seq_failed is None:
            return ""
        if either:
            return f" (FluidSynth's sequencer input failed too: {self._seq_failed})"
        return f"; through rtmidi, as FluidSynth's sequencer input failed: {self._seq_failed}"

    def _open_midi(self, api: str, via_synth: bool) -> None:
        # Under JACK audio a server loss abandons FluidSynth's drivers together
        # (``_reconnect_audio``), so there the sequencer keyboard stays with rtmidi.
        self._midi_seq, self._seq_failed = False, None
        if api == "alsa" and self.compiled and self.audio != "jack":
            try:
                self.midi = self._open_seq_midi()
                self._midi_seq = True
                return
            except InstrumentError as e:
                self._seq_failed = one_line(e)
        midi = MidiInput(self.handle, port=self._want_midi, api=api,
                         on_lost=self.performer.release_all,
                         jack_port="instrument:midi_00" if via_synth else None)
        midi.open()
        self.midi = midi

    def _open_seq_midi(self) -> MidiInput:
        """The compiled handler on FluidSynth's ALSA sequencer driver, the keyboard
        subscribed to its port. InstrumentError, with nothing left open, if either fails."""
        open_compiled_input(self.synth, self.performer, "alsa_seq", SEQ_ID)
        midi = MidiInput(self.handle, port=self._want_midi, api="alsa",
                         on_lost=self.performer.release_all,
                         seq_client=fluid_client_name(SEQ_ID))  # fmt: skip
        try:
            midi.open()
        except InstrumentError:
            self.synth.stop_midi_driver()
            raise
        return midi

    def _open_midi_out(self) -> None:
        if self._midi_api in ("alsa", "jack"):
            api = self._midi_api
        elif self.audio == "jack" or (not alsa_sequencer() and jack_running()):
            api = "jack"
        elif alsa_sequencer():
            api = "alsa"
        else:
            raise InstrumentError("--midi-out: no MIDI system (no ALSA sequencer, no JACK "
                                  "server)")
        out = MidiOut(self._want_midi_out, api)
        port = out.open()
        self.outputs.add(out)
        self.midi_out = out
        self.choices.append(f"MIDI out: {port}, part k on channel k+1 (drums 10)")

    def _start_audio(self, driver: str, midi_callback=None) -> None:
        if driver == "none":
            return
        if driver == "sounddevice":
            import sounddevice as sd

            def callback(outdata, frames, _time, _status) -> None:
                self.synth.render_into(outdata)

            try:
                self._stream = sd.OutputStream(samplerate=self.sample_rate, channels=2,
                                               dtype="float32", blocksize=self.period,
                                               latency="low", callback=callback)
                self._stream.start()
            except Exception as e:  # PortAudioError, or no device at all
                self._stream = None
                raise InstrumentError(f"cannot open audio output through PortAudio: {e}") from None
            return
        if midi_callback is not None and self.compiled:  # FluidSynth's port: no GIL
            self.synth.start(driver, client_name="instrument", period=self.period)
            open_compiled_input(self.synth, self.performer, driver, "instrument")
            return
        self.synth.start(driver, client_name="instrument", period=self.period,
                         midi_callback=midi_callback)

    def _watch_jack(self) -> None:
        """A passive JACK client that counts xruns, notices the server's shutdown (compiled
        callbacks, ``live.jackwatch``: no Python in JACK's threads) and reads the DSP load."""
        import jack

        try:
            client = jack.Client("instrument-watch", no_start_server=True)
            self._watch.attach(client)
        except jack.JackError:
            return
        client.activate()
        self._jack_monitor = client

    def name_part_ports(self, fresh: bool = False) -> None:
        """``--multi-out``: name FluidSynth's per-channel outputs after the parts
        (``instrument:violin-i_l``, ``_r``); a renamed port keeps its connections.
        fresh: the driver was just opened, with FluidSynth's own names ``l_NN``/``r_NN``."""
        if self._jack_monitor is None:
            return
        import jack

        if fresh or not self._port_stems:
            self._port_stems = {ch: (f"l_{ch:02d}", f"r_{ch:02d}") for ch in range(N_CHANNELS)}
        for ch, stem in part_port_names(self.performer.setup.ensemble).items():
            now = list(self._port_stems[ch])
            for k, side in enumerate("lr"):
                wanted = f"{stem}_{side}"
                if now[k] == wanted:
                    continue
                try:
                    self._jack_monitor.get_port_by_name(f"instrument:{now[k]}").shortname = wanted
                    now[k] = wanted
                except jack.JackError:
                    pass  # left with its old name: the port still works
            self._port_stems[ch] = (now[0], now[1])

    # -- MIDI thread -------------------------------------------------------------------------
    def handle(self, data: list[int], t: float | None = None) -> None:
        """A message from the keyboard: program changes recall registrations (in the main
        thread, see ``take_program_change``), notes are transposed, and all goes on to
        the performer. A note-off gets the shift its note-on got, so none hangs when the
        transposition changes in between. Never raises. (The compiled path does all this
        itself: ``live.notepath``.)"""
        if self.compiled:
            self.performer.handle(data, t)
            return
        try:
            status = data[0] & 0xF0
        except (IndexError, TypeError):
            status = 0
        if status == 0xC0 and len(data) == 2:
            self.program_changes.append(data[1] & 0x7F)
            return
        if (self.transpose or self._shifts) and status in (0x80, 0x90) and len(data) == 3:
            data = self._transposed(data, status)
            if data is None:
                return
        self.performer.handle(data, t)

    def _transposed(self, data: list[int], status: int) -> list[int] | None:
        key = (data[0] & 0x0F, data[1])
        if status == 0x90 and data[2] > 0:
            shift = self.transpose
            if shift:
                self._shifts[key] = shift
            else:
                self._shifts.pop(key, None)
        else:
            shift = self._shifts.pop(key, 0)
        if not shift:
            return data
        pitch = data[1] + shift
        if not 0 <= pitch <= 127:
            return None  # beyond MIDI: neither the note-on nor its note-off sounds
        return [data[0], pitch, data[2]]

    def take_program_change(self) -> int | None:
        """The oldest program change the keyboard sent that is not yet acted on."""
        return self.program_changes.popleft() if self.program_changes else None

    # -- what plays along (main thread, after start) ---------------------------------------
    def feed_file(self, events, origin: float | None = None) -> None:
        """``--play-file``: play a MIDI file's keyboard stream (``input.feeder``) in through
        the same input as a keyboard, its time 0 at ``origin`` (monotonic s; default
        now), until the session closes."""
        from instrument.input.feeder import feed_in_background
        from instrument.input.keys import LocalKeys

        keys = LocalKeys(self)
        start = time.monotonic() if origin is None else origin
        feed_in_background(events, keys.send, start, stopped=lambda: self.closed)

    def take_recorder(self, directory: str | Path, played=None, start: float = 0.0):
        """``--record``: a take recorder (``live.record``, not started) of the player and
        the audio, with the tempo map of the file ``played`` in from ``start`` (monotonic
        s), else of the registration's tempo, else 120 BPM."""
        from instrument.input.midifile import conductor_of, steady_conductor
        from instrument.live.record import Recorder

        recorder = Recorder(directory, self.performer, audio_from=self.outputs,
                            soundfont=self.soundfont, sample_rate=self.sample_rate,
                            gain=self.gain)
        registration = self.registration
        if played is not None:
            recorder.conductor = conductor_of(played, shift=start - recorder.t0)
        elif registration is not None and registration.tempo:
            recorder.conductor = steady_conductor(registration.tempo, registration.meter or 4)
        return recorder

    # -- main thread -------------------------------------------------------------------------
    def load_registrations(self, registrations: list[Registration]) -> None:
        """Make each registration ready to recall at once (``recall``): its ensemble and
        arranger built and its SoundFont loaded beside the one playing, now, not when the
        player recalls it on stage."""
        from instrument.arrange import default_arranger_name

        bank = []
        for reg in registrations:
            ensemble = load_ensemble(reg.ensemble) if reg.ensemble else \
                self.performer.setup.ensemble
            if reg.arranger:  # named in the file: it must work
                arranger = make_arranger(reg.arranger, ensemble)
            else:  # the ensemble's best, or the zone split if its model is unusable
                name = default_arranger_name(ensemble)
                try:
                    arranger = make_arranger(name, ensemble)
                except InstrumentError as e:
                    self.choices.append(f"warning: registration {reg.name!r}: {one_line(e)}; "
                                        "the zone arranger plays it")
                    arranger = make_arranger("zone", ensemble)
            if reg.soundfont:
                self.synth.preload(reg.soundfont)
            bank.append((reg, ensemble, arranger))
        self.bank = bank

    def recall(self, index: int) -> Registration:
        """Switch to registration ``index`` of the bank while playing: no dropout (all was
        loaded before), and notes held across the recall end on the parts (and with the
        transposition) they started with."""
        if not 0 <= index < len(self.bank):
            raise InstrumentError(f"no registration {index + 1} (there are {len(self.bank)})")
        reg, ensemble, arranger = self.bank[index]
        self.outputs.use_soundfont(reg.soundfont or self.soundfont)
        self.transpose = reg.transpose
        self.switch(ensemble, arranger)
        self.registration = reg
        return reg

    def program_index(self, program: int) -> int | None:
        """The registration a program change recalls: the one that names that ``program``,
        else the one at that position (program 0 = the first)."""
        for k, (reg, _, _) in enumerate(self.bank):
            if reg.program == program:
                return k
        named = {reg.program for reg, _, _ in self.bank if reg.program is not None}
        if program < len(self.bank) and program not in named:
            return program
        return None

    def _service(self) -> list[str]:
        """What the MIDI thread left for the main thread: recalls by program change."""
        said = []
        while (program := self.take_program_change()) is not None:
            index = self.program_index(program)
            if index is None:
                said.append(f"program change {program}: no registration for it")
                continue
            reg = self.recall(index)
            said.append(f"registration {index + 1}: {reg.name}")
        return said

    def switch_ensemble(self, name: str, arranger_name: str | None = None) -> Ensemble:
        """Change ensemble (and arranger) while playing; sounding notes end normally."""
        from instrument.arrange import default_arranger_name

        ensemble = load_ensemble(name)
        arranger = make_arranger(arranger_name or default_arranger_name(ensemble), ensemble)
        self.switch(ensemble, arranger)
        return ensemble

    def switch(self, ensemble: Ensemble, arranger: Arranger) -> None:
        """Play on with ``ensemble`` and ``arranger`` (both ready): no dropout, sounding
        notes end on the parts they started on."""
        if not self.time_guard:
            arranger.use_time_guard(False)
        self.performer.switch(ensemble, arranger)
        if self.multi_out and self.audio == "jack":
            self.name_part_ports()

    def _jack_alive(self) -> bool:
        """Whether the JACK server still knows our audio client.

        Neither the shutdown callback nor the clock can be trusted when jackd dies: a new
        server of the same name can take over the old one's shared memory. Asking the server
        for our ports cannot be fooled.
        """
        if self._watch.shut_down:  # acted on in health(), in the main thread
            return False
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
        if self.midi_out is not None and self.midi_out.api == "jack":
            try:
                self.midi_out.reopen()
            except InstrumentError:
                self.midi_out.lost = True  # the parts still sound here; said on the status
        self._server_lost = False
        self._watch.rearm()
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
        """The status (polled a few times a second by every front end, in the main
        thread, which also acts here on the keyboard's program changes)."""
        if self.compiled:  # the keyboard's program changes, from the compiled path's ring
            self.program_changes.extend(self.performer.programs())
        said = self._service() if self.bank or self.program_changes else []
        if self.midi_out is not None:
            change = self.midi_out.poll()
            if change:
                said.append(change)
        if self.audio == "jack" and not self.closed and not self._jack_alive():
            if not self._server_lost:
                self._server_lost = True
                self.performer.release_all()  # what was held is gone with the server
                self._next_retry = time.monotonic() + 1.0
        if self._server_lost and not self.closed:
            self._reconnect_audio()
            if self._server_lost:
                return Health(midi=InputStatus("lost", "audio server gone: retrying", "jack"),
                              audio="jack (lost, retrying)", latency_ms=0.0,
                              xruns=self._watch.xruns,
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
        stats = self.performer.stats() if self.compiled else self.performer.setup.arranger.stats()
        return Health(midi=midi, audio=self.audio, latency_ms=latency, xruns=self._watch.xruns,
                      cpu_load=cpu, over_budget=stats.fallbacks, messages=said,
                      note_path=self.note_path)

    def close(self) -> None:
        """Silence everything, then shut down input, audio and synth. Safe to call twice."""
        if self.closed:
            return
        self.closed = True
        self.performer.panic()
        self.performer.closed = True
        if self.compiled:
            self.performer.stop_pump()
        time.sleep(0.05)  # let the audio thread render the release once
        if self.midi_out is not None:
            self.midi_out.close()
        self._close_io()
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
        self.synth.close()
