"""The jam session: the player's live session, and the band playing along.

The keyboard plays through a ``LiveSession`` (MIDI in, arranged onto the ensemble,
FluidSynth out). The band (``accompany.band.Band``) hears the same MIDI stream through
the performer's raw listeners and plays on the channels the ensemble leaves free, into
the same outputs (so MIDI out and a take's audio have it too). Its chords come from the
keyboard's lower zone (fingered, below ``split``: the band starts on the first chord),
from a chart (it starts after a count-in) or from what an audio input hears (``heard``:
a ``listen.stream.ListenStream``, then also its beat clock: the band joins on the beat
heard).

Threads: the MIDI callback only enqueues into the band (``hear_key``); the band's
planner and dispatcher run in their own threads from ``start``; the listener in its own.
The soak (``bench/bench_soak.py``) builds this same session and, instead of
``start``-ing the threads, steps the band and the listener on the audio clock
(``start(stepped=True)``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from instrument.accompany.band import Band, ListenedChords, band_channels
from instrument.accompany.clock import InternalClock
from instrument.accompany.fingered import FingeredChords
from instrument.accompany.notes import ChordTrack
from instrument.accompany.offline import chart_track, section_requests
from instrument.accompany.options import BandOptions, make_planner
from instrument.accompany.planner import BandPlanner
from instrument.input.messages import NOTE_OFF, NOTE_ON, parse
from instrument.live.lifecycle import Session
from instrument.live.session import LiveSession

DEFAULT_TEMPO = 100.0  # BPM without a chart or --tempo
CHART_START_S = 0.2  # a chart's count-in starts this long after the band (its threads up)


class JamSession(Session):
    """``live`` with the band. chart: a ``harmony.chart.Chart`` the band plays (None: the
    chords are fingered or heard); loops: times through it, None until the ending.
    tempo (BPM) and meter (beats per bar): default the chart's, else 100 and 4.
    band: the band's options; its ``count_in`` None: a bar before a chart, else none.
    split: the fingered chords' split key. heard: the room's listener (beat and chords).
    fuse: the listener is told the band's own notes and the player's keys (the soak's
    ``--hear-self`` turns it off to show why). now: the clock of the band and its
    threads (seconds; the soak's is the audio clock). record: a directory for the take.
    """

    def __init__(
        self,
        live: LiveSession,
        band: BandOptions,
        chart=None,
        loops: int | None = 1,
        tempo: float | None = None,
        meter: int | None = None,
        split: int = 60,
        heard=None,
        fuse: bool = True,
        record: str | None = None,
        now: Callable[[], float] = time.monotonic,
    ):
        self.live, self.chart, self.loops = live, chart, loops
        self.heard, self.record = heard, record
        self.tempo = tempo or (chart.tempo if chart else DEFAULT_TEMPO)
        self.beats_per_bar = meter or (chart.beats_per_bar if chart else 4)
        self.count_in = band.count_in if band.count_in is not None else (1 if chart else 0)
        if heard is not None:
            self.clock = heard
        else:
            self.clock = InternalClock(self.tempo, self.beats_per_bar, count_in_bars=self.count_in)
        self.options = replace(band, count_in=self.count_in)
        self.style = band.style  # as it plays, once prepared (a fallback says so)
        self.split, self.now = split, now
        self.fuse = fuse and heard is not None
        self.planner: BandPlanner | None = None  # built by prepare
        self.band: Band | None = None
        self.recorders: list = []
        self.take = None  # the take's directory, once recording
        self.closed = False

    @property
    def choices(self) -> list[str]:
        """What audio and MIDI the live session found, and why (``LiveSession.choices``)."""
        return self.live.choices

    # -- the MIDI thread -----------------------------------------------------------------------
    def hear_key(self, data: list[int], t: float) -> None:
        """The performer's raw listener: the band hears the player's notes (chords below
        the split, the phrase it continues); the listener gets exact onsets. Only
        enqueues."""
        msg = parse(data)
        if msg is None:
            return
        if msg.kind == NOTE_ON:
            self.band.note_on(msg.note, msg.velocity, t)
            if self.fuse:  # the player's keys: exact onsets for the listener
                self.heard.player_note(t, msg.velocity)
        elif msg.kind == NOTE_OFF:
            self.band.note_off(msg.note, t)

    # -- the lifecycle -------------------------------------------------------------------------
    def prepare(self) -> None:
        """Build the band: the planner (its model loaded), the chord source, the band on
        the clock; then the player's session prepared (the real-time settings applied
        once all is loaded). Once only."""
        if self.band is not None:
            return
        chart, heard = self.chart, self.heard
        intro = self.options.intro
        chords = chart_track(chart, self.loops, intro) if chart else ChordTrack()
        self.planner, self.style = make_planner(self.options, chords, self.beats_per_bar)
        if chart is not None:
            section_requests(chart, self.planner.sections, self.loops, intro)
            detector = None
        elif heard is not None:
            detector = ListenedChords(heard.listener)
        else:
            detector = FingeredChords(split=self.split)
        self.band = Band(
            self.live.outputs,  # the synth, and whatever else plays (MIDI out, take audio)
            self.clock,
            self.planner,
            detector,
            channels=band_channels(self.live.performer.setup.ensemble),
            sync_start=chart is None and heard is None,
            now=self.now,
        )
        if self.fuse:  # the band heard through the room is not followed as the room
            heard.hear_band(self.band.dispatcher)
        self.live.prepare()

    def start(self, stepped: bool = False) -> None:
        """The live session's devices, the band hearing the keys, the take (``record``),
        the band's programs; then its threads and the listener, and a chart's clock.

        stepped: no band thread, no listener, no clock started: the caller steps
        ``band`` and ``heard`` itself (the soak, on the audio clock)."""
        self.prepare()
        self.live.start()
        self.live.performer.raw_listeners.append(self.hear_key)
        if self.record:
            self._start_take(self.record)
        self.band.setup_programs()
        if stepped:
            return
        self.band.start()
        if self.heard is not None:
            self.heard.open()
        elif self.chart is not None:
            self.clock.start(time.monotonic() + CHART_START_S)

    def _start_take(self, directory: str) -> None:
        """Record the player, the band and the audio of both into ``directory``/take-*."""
        from instrument.accompany.take import BandTake, ClockTempoMap
        from instrument.input.midifile import steady_conductor
        from instrument.live.record import Recorder

        live = self.live
        # The band plays into the session's outputs, so take.wav (rendered from what the
        # outputs are told) holds the band and the player.
        conductor = steady_conductor(self.tempo, self.beats_per_bar)  # a DAW's bar grid
        player = Recorder(
            directory,
            live.performer,
            conductor=conductor,
            audio_from=live.outputs,
            soundfont=live.soundfont,
            sample_rate=live.sample_rate,
        )
        # tap tempo and the heard tempo change the map while the take runs; it stops
        # first so that the recorders' last rewrite holds its last change
        self.recorders = [
            ClockTempoMap(conductor, self.clock, player.t0, live.performer.clock),
            player,
            BandTake(
                player.take,
                self.band.dispatcher,
                live.performer.clock,
                t0=player.t0,
                conductor=conductor,
            ),
        ]
        self.take = player.take
        for r in self.recorders:
            r.start()

    def feed_file(self, events) -> None:
        """``--play-file``: the file's keyboard stream played in from now, as the keyboard
        (to the performer, whose raw listeners pass it on to the band)."""
        from instrument.input.feeder import feed_in_background

        live = self.live
        feed_in_background(
            events, live.performer.handle, time.monotonic(), stopped=lambda: live.closed
        )

    def stop(self) -> None:
        """The band stops, the take ends, the listener closes and every note ends; the
        devices stay open, so what was struck rings out (the soak counts the voices left).
        Safe to call twice, and before ``close``."""
        self._end_band()
        self.live.performer.panic()
        self.live.performer.closed = True

    def close(self) -> None:
        """The band, the take and the listener ended, then the live session closed (all
        notes off, devices shut). Safe to call twice."""
        if self.closed:
            return
        self.closed = True
        self._end_band()
        self.live.close()

    def _end_band(self) -> None:
        if self.band is not None:  # prepared
            self.band.stop()
        for r in self.recorders:
            r.stop()
        self.recorders = []
        if self.heard is not None:
            self.heard.close()

    def summary(self) -> str:
        """The band's figures for the end of the jam (one line)."""
        s, d = self.band.stats, self.band.dispatcher.stats
        lat = sorted(d.lateness)
        p99 = lat[int(0.99 * (len(lat) - 1))] * 1e3 if lat else 0.0
        return (
            f"{s.beats_planned} beats planned, {s.late_plans} late plans, "
            f"{s.late_notes} late notes, {d.sent} notes sent, "
            f"{d.stale} stale notes dropped, dispatch lateness p99 {p99:.2f} ms"
        )
