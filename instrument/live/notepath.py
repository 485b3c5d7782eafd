"""The per-note path compiled: MIDI bytes in, parts decided, FluidSynth called; no GIL.

``process`` does for one message what ``Session.handle`` + ``Performer.handle`` +
``LSTMArranger`` do in Python (read ``live.performer`` for the musical rules: the
revision moves, polyphony, the performer's own pedal on monophonic parts, the reset
after a pause, the budget guard's zone fallback), on preallocated numpy arrays only, and
calls libfluidsynth by address (``native``). ``handler()`` is a ``cfunc`` with
FluidSynth's ``handle_midi_event_func_t`` signature: handed to FluidSynth's MIDI driver
(JACK or ALSA sequencer), it runs in the driver's thread without ever taking the GIL, so
the display, the listener, the band or the collector can no longer delay a note.

State (built by ``live.compiled``), in four named tuples of arrays:
- ``Setup``: one ensemble with its arranger (replaced whole on a switch; ``conf[S_GEN]``
  tells setups apart, as ``Performer`` compares ``Setup`` objects);
- ``Keys``: the keys held and the voices sounding per output channel, the pedal, the
  transposition, the phrase clock and the lock (kept across switches);
- ``rings.Rings``: what happened, for the Python readers;
- ``Sink``: the addresses of the C functions and the synth.
The driver's user-data pointer points at a one-element int64 array (the slot) holding the
address of an int64 table of (address, shape) rows, one per array in the order of the
named tuples' fields; ``_unpack`` rebuilds the tuples from it with ``numba.carray``. A
switch writes a new table's address into the slot (one aligned 8-byte store).

One owner at a time: every entry takes ``Keys.flags[F_LOCK]`` (a spinlock by
compare-and-swap; held for microseconds, never across Python), so the main thread's
panic or switch cannot interleave with the audio thread's note.

numba by itself keys a function's cache on that function's own file; this path inlines
kernels of other files (``arrange.fast``, ``arrange.features``, ``live.rings``,
``native``), so its functions come from ``instrument.jit``, whose cache key covers
every compiled source of the package.

Differences from the Python path, by design: the channels a message touched keep their
polyphony in channel order (Python: set order), and a revision moves the note of that
pitch held on the lowest input channel (Python: the first struck). Per output channel at
most ``VOICES`` notes are tracked (a part has polyphony <= 16).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
from numba import carray, types

from instrument.arrange import features as F
from instrument.arrange.fast import (
    Chord,
    History,
    Net,
    Rules,
    join_chord,
    live_assign,
    live_revise,
    start_group,
)
from instrument.jit import cfunc, njit
from instrument.live import rings as R
from instrument.native import (
    CLOCK_MONOTONIC,
    address_of,
    as_voidptr,
    call_clock,
    call_p,
    call_pi,
    call_pii,
    call_piii,
    compare_and_swap,
    store_release,
    table_f32_1,
    table_f32_2,
    table_f32_3,
    table_f64_1,
    table_f64_2,
    table_i64_1,
    table_i64_2,
    table_i64_3,
)

VOICES = 64  # notes tracked per output channel
FOLLOWED_CCS = (1, 2, 4, 11, 66, 67)  # as Performer.FOLLOWED_CCS, the sustain pedal apart
CC_SUSTAIN, CC_ALL_SOUND_OFF, CC_ALL_NOTES_OFF = 64, 120, 123
N_CHANNELS = 16

# Keys.held[in_channel, pitch] fields
H_ACTIVE, H_CHANNEL, H_PART, H_GEN, H_VELOCITY, H_SILENT = range(6)
# Keys.flags
F_LOCK, F_CLOSED, F_PEDAL, F_SOUNDING, F_TRANSPOSE = range(5)
# Keys.clock (seconds)
K_T0, K_LAST_EVENT, K_RESET_AFTER = range(3)
# Setup.conf
S_GEN, S_KIND, S_REVISE, S_USE_VELOCITY, S_BUDGET_NS = range(5)
KIND_LSTM, KIND_ZONE = 0, 1
# Setup.guard: the budget guard's state (LSTMArranger._over, _skip)
G_OVER, G_SKIP = range(2)
# Sink.fns
(
    FN_SYNTH,  # fluid_synth_t * (0: no synth, the calls are only recorded)
    FN_NOTEON,
    FN_NOTEOFF,
    FN_CC,
    FN_BEND,
    FN_NOTES_OFF,
    FN_SOUNDS_OFF,
    FN_CLOCK,
    FN_EV_TYPE,
    FN_EV_CHANNEL,
    FN_EV_KEY,
    FN_EV_VALUE,
) = range(12)
N_FNS = 12


class Setup(NamedTuple):
    """One ensemble and its arranger. conf: (5,) int64 (S_*). guard: (2,) int64 (G_*).
    channels: (P,) int64 part -> MIDI channel. poly: (16,) int64 polyphony of each
    channel (0: no part there). zone: (128,) int64 the zone split's part of each pitch.
    first, fast: the first-decision and the revising nets; arrival, before, revised: the
    histories (``LSTMArranger``'s arrays); chord, rules; x, xr: (F,) float32 features.
    prior: (G,) int64, changes, moves: (G, 3) int64 (pitch, old, new) scratch."""

    conf: np.ndarray
    guard: np.ndarray
    channels: np.ndarray
    poly: np.ndarray
    zone: np.ndarray
    first: Net
    fast: Net
    arrival: History
    before: History
    revised: History
    chord: Chord
    rules: Rules
    x: np.ndarray
    xr: np.ndarray
    prior: np.ndarray
    changes: np.ndarray
    moves: np.ndarray


class Keys(NamedTuple):
    """What is held and sounding. held: (16, 128, 6) int64 per (input channel, pitch)
    (H_*); onset: (16, 128) float64 s. voice_key, voice_pitch: (16, VOICES) int64 the
    notes sounding on each output channel in onset order, key = in_channel * 128 + pitch,
    -1 for a note the performer holds for the pedal; voice_n: (16,). order: (17,) the
    channels with voices in the order first used, [16] how many; seen: (16,) flags.
    shifts: (16, 128) int64 the transposition each held key got. clock: (3,) float64
    (K_*). flags: (5,) int64 (F_*)."""

    held: np.ndarray
    onset: np.ndarray
    voice_key: np.ndarray
    voice_pitch: np.ndarray
    voice_n: np.ndarray
    order: np.ndarray
    seen: np.ndarray
    shifts: np.ndarray
    clock: np.ndarray
    flags: np.ndarray


class Sink(NamedTuple):
    """fns: (N_FNS,) int64 C function addresses (FN_*). timespec: (2,) int64 scratch."""

    fns: np.ndarray
    timespec: np.ndarray


# -- the synth and the clock -----------------------------------------------------------------
@njit(cache=True)
def now_ns(sink):
    """CLOCK_MONOTONIC in ns (time.monotonic's clock), from libc without Python."""
    call_clock(sink.fns[FN_CLOCK], CLOCK_MONOTONIC, sink.timespec)
    return sink.timespec[0] * 1_000_000_000 + sink.timespec[1]


@njit(cache=True)
def _noteon(sink, rings, channel, pitch, velocity):
    R.push_call(rings, R.CALL_NOTEON, channel, pitch, velocity)
    if sink.fns[FN_SYNTH] != 0:
        call_piii(sink.fns[FN_NOTEON], sink.fns[FN_SYNTH], channel, pitch, velocity)


@njit(cache=True)
def _noteoff(sink, rings, channel, pitch):
    R.push_call(rings, R.CALL_NOTEOFF, channel, pitch, 0)
    if sink.fns[FN_SYNTH] != 0:
        call_pii(sink.fns[FN_NOTEOFF], sink.fns[FN_SYNTH], channel, pitch)


@njit(cache=True)
def _cc(sink, rings, channel, control, value):
    R.push_call(rings, R.CALL_CC, channel, control, value)
    if sink.fns[FN_SYNTH] != 0:
        call_piii(sink.fns[FN_CC], sink.fns[FN_SYNTH], channel, control, value)


@njit(cache=True)
def _bend(sink, rings, channel, value14):
    R.push_call(rings, R.CALL_BEND, channel, value14, 0)
    if sink.fns[FN_SYNTH] != 0:
        call_pii(sink.fns[FN_BEND], sink.fns[FN_SYNTH], channel, value14)


@njit(cache=True)
def _panic_synth(sink, rings):
    """As ``Synth.panic``: sustain up, all notes and sounds off, on every channel."""
    for ch in range(N_CHANNELS):
        _cc(sink, rings, ch, CC_SUSTAIN, 0)
        R.push_call(rings, R.CALL_NOTES_OFF, ch, 0, 0)
        R.push_call(rings, R.CALL_SOUNDS_OFF, ch, 0, 0)
        if sink.fns[FN_SYNTH] != 0:
            call_pi(sink.fns[FN_NOTES_OFF], sink.fns[FN_SYNTH], ch)
            call_pi(sink.fns[FN_SOUNDS_OFF], sink.fns[FN_SYNTH], ch)


# -- voices per output channel ---------------------------------------------------------------
@njit(cache=True)
def _voice_append(keys, channel, key, pitch):
    if keys.seen[channel] == 0:  # first use since the last panic: keeps dict order
        keys.seen[channel] = 1
        keys.order[keys.order[N_CHANNELS]] = channel
        keys.order[N_CHANNELS] += 1
    n = keys.voice_n[channel]
    if n >= VOICES:  # beyond the tracked voices the oldest is forgotten (still sounding)
        _voice_remove_at(keys, channel, 0)
        n -= 1
    keys.voice_key[channel, n] = key
    keys.voice_pitch[channel, n] = pitch
    keys.voice_n[channel] = n + 1


@njit(cache=True)
def _voice_remove_at(keys, channel, i):
    n = keys.voice_n[channel]
    for j in range(i, n - 1):
        keys.voice_key[channel, j] = keys.voice_key[channel, j + 1]
        keys.voice_pitch[channel, j] = keys.voice_pitch[channel, j + 1]
    keys.voice_n[channel] = n - 1


@njit(cache=True)
def _voice_drop(keys, channel, key):
    for i in range(keys.voice_n[channel]):
        if keys.voice_key[channel, i] == key:
            _voice_remove_at(keys, channel, i)
            return


# -- the arranger (LSTMArranger's assign / revisions / release / reset) ----------------------
@njit(cache=True)
def _assign(setup, rings, sink, pitch, velocity, time, t0):
    """The first decision of a note (``LSTMArranger.assign``): the LSTM, or the zone split
    when the previous note's work overran the budget; the zone's note joins its chord as
    a model decision would (``LSTMArranger._zone_joins_chord``)."""
    guard, conf = setup.guard, setup.conf
    if conf[S_KIND] == KIND_ZONE:
        return setup.zone[pitch]
    use_velocity = conf[S_USE_VELOCITY] != 0
    if guard[G_OVER] != 0:
        guard[G_OVER] = 0
        guard[G_SKIP] = 1
        rings.counters[R.C_FALLBACKS] += 1
        part = setup.zone[pitch]
        arrival = setup.arrival
        start_group(arrival, setup.before, setup.revised, setup.chord, conf[S_REVISE] != 0, time)
        F.online_features(arrival.s, pitch, time, velocity, use_velocity, setup.x)
        F.commit(arrival.s, pitch, time, part)
        join_chord(setup.chord, pitch, velocity, time, part)
        return part
    guard[G_SKIP] = 0
    part = live_assign(
        setup.first,
        setup.rules,
        setup.arrival,
        setup.before,
        setup.revised,
        setup.chord,
        conf[S_REVISE] != 0,
        pitch,
        time,
        velocity,
        use_velocity,
        setup.x,
    )
    rings.counters[R.C_STEPS] += 1
    guard[G_OVER] = 1 if now_ns(sink) - t0 > conf[S_BUDGET_NS] else 0
    return part


@njit(cache=True)
def _revisions(setup, rings, sink, t0):
    """The chord so far decided again; its changes in ``setup.changes``. Returns how many
    (-1: no revision ran, as ``LSTMArranger.revisions`` returning early)."""
    chord, conf = setup.chord, setup.conf
    m = chord.size[0]
    if conf[S_KIND] != KIND_LSTM or conf[S_REVISE] == 0 or setup.guard[G_SKIP] != 0 or m < 1:
        return -1
    for k in range(m):
        setup.prior[k] = chord.part[k]
    m = live_revise(
        setup.fast,
        setup.rules,
        setup.before,
        setup.revised,
        chord,
        conf[S_USE_VELOCITY] != 0,
        setup.xr,
    )
    n = 0
    for k in range(m):
        if setup.prior[k] != chord.part[k]:
            setup.changes[n, 0] = chord.notes[k, 0]
            setup.changes[n, 1] = setup.prior[k]
            setup.changes[n, 2] = chord.part[k]
            n += 1
    rings.counters[R.C_REVISED] += n
    setup.guard[G_OVER] = 1 if now_ns(sink) - t0 > conf[S_BUDGET_NS] else 0
    return n


@njit(cache=True)
def _release(setup, pitch, part):
    if setup.conf[S_KIND] != KIND_LSTM or not 0 <= part < setup.channels.shape[0]:
        return
    F.release(setup.arrival.s, part)
    F.release(setup.revised.s, part)
    chord = setup.chord
    for k in range(min(chord.size[0], chord.part.shape[0])):
        if chord.notes[k, 0] == pitch:
            return  # a note of the chord: the revision's start does not know it
    F.release(setup.before.s, part)


@njit(cache=True)
def _reset(setup):
    if setup.conf[S_KIND] != KIND_LSTM:
        return
    F.reset_state(setup.arrival.s)
    F.reset_state(setup.revised.s)
    setup.arrival.h[:] = 0.0
    setup.arrival.c[:] = 0.0
    setup.revised.h[:] = 0.0
    setup.revised.c[:] = 0.0
    setup.chord.size[0] = 0
    setup.guard[G_OVER] = 0


# -- the performer (Performer._note_on / _move / _keep_polyphony / _sustain / _note_off) -----
@njit(cache=True)
def _phrase_time(keys, t):
    return t - keys.clock[K_T0]


@njit(cache=True)
def _decide(setup, rings, sink, pitch, velocity, time):
    """The part of a struck note after the revision its arrival made, and the earlier
    notes of its chord to move in ``setup.moves``: returns (part, moves). Times itself
    into the timing ring (the work before the note sounds)."""
    t0 = now_ns(sink)
    part = _assign(setup, rings, sink, pitch, velocity, time, t0)
    n = _revisions(setup, rings, sink, t0)
    R.push_timing(rings, now_ns(sink) - t0)
    rings.counters[R.C_NOTES] += 1
    moves = 0
    for j in range(max(n, 0)):  # this note takes its revised part at once
        if setup.changes[j, 0] == pitch and setup.changes[j, 1] == part:
            part = setup.changes[j, 2]
        else:
            setup.moves[moves, :] = setup.changes[j, :]
            moves += 1
    return part, moves


@njit(cache=True)
def _note_on(setup, keys, rings, sink, in_channel, pitch, velocity, t):
    held, flags, clock = keys.held, keys.flags, keys.clock
    if held[in_channel, pitch, H_ACTIVE] != 0:  # repeated note-on: end the old one
        _note_off(setup, keys, rings, sink, in_channel, pitch, t)
    if flags[F_SOUNDING] == 0 and t - clock[K_LAST_EVENT] > clock[K_RESET_AFTER]:
        _reset(setup)
        clock[K_T0] = t
        rings.counters[R.C_RESETS] += 1
    clock[K_LAST_EVENT] = t
    part, moves = _decide(setup, rings, sink, pitch, velocity, _phrase_time(keys, t))
    channel = setup.channels[part]
    _noteon(sink, rings, channel, pitch, velocity)
    entry = held[in_channel, pitch]
    entry[H_ACTIVE] = 1
    entry[H_CHANNEL] = channel
    entry[H_PART] = part
    entry[H_GEN] = setup.conf[S_GEN]
    entry[H_VELOCITY] = velocity
    entry[H_SILENT] = 0
    keys.onset[in_channel, pitch] = t
    flags[F_SOUNDING] += 1
    _voice_append(keys, channel, in_channel * 128 + pitch, pitch)
    R.push_note(rings, t, pitch, velocity, in_channel, part, channel, True, False)
    touched = 1 << channel  # then each part keeps to its polyphony (a bit per channel)
    for j in range(moves):
        mv = setup.moves[j]
        moved_to = _move(setup, keys, rings, sink, mv[0], mv[1], mv[2], t)
        if moved_to >= 0:
            touched |= 1 << moved_to
    for ch in range(N_CHANNELS):
        if touched & (1 << ch):
            _keep_polyphony(setup, keys, rings, sink, ch, t)


@njit(cache=True)
def _move(setup, keys, rings, sink, pitch, old, new, t):
    """A revision: the sounding note ``pitch`` of part ``old`` goes to part ``new``.
    Returns the channel it went to (-1 if nothing sounded to move)."""
    held = keys.held
    in_channel = -1
    for ch in range(N_CHANNELS):
        e = held[ch, pitch]
        if e[H_ACTIVE] != 0 and e[H_PART] == old and e[H_GEN] == setup.conf[S_GEN]:
            in_channel = ch
            break
    if in_channel < 0:
        return -1  # already released: nothing sounds to move
    entry = held[in_channel, pitch]
    old_channel, channel = entry[H_CHANNEL], setup.channels[new]
    key = in_channel * 128 + pitch
    if entry[H_SILENT] == 0:
        _voice_drop(keys, old_channel, key)
        _noteoff(sink, rings, old_channel, pitch)
    R.push_note(rings, t, pitch, 0, in_channel, old, old_channel, False, True)
    _noteon(sink, rings, channel, pitch, entry[H_VELOCITY])
    entry[H_CHANNEL] = channel
    entry[H_PART] = new
    entry[H_SILENT] = 0
    _voice_append(keys, channel, key, pitch)
    rings.counters[R.C_MOVED] += 1
    onset = keys.onset[in_channel, pitch]
    R.push_note(rings, onset, pitch, entry[H_VELOCITY], in_channel, new, channel, True, True)
    return channel


@njit(cache=True)
def _keep_polyphony(setup, keys, rings, sink, channel, t):
    """End the oldest notes of a channel over its part's polyphony."""
    limit = setup.poly[channel] if setup.poly[channel] > 0 else 16
    while keys.voice_n[channel] > limit:
        key, pitch = keys.voice_key[channel, 0], keys.voice_pitch[channel, 0]
        _voice_remove_at(keys, channel, 0)
        _noteoff(sink, rings, channel, pitch)
        rings.counters[R.C_MONO_CUTS] += 1
        if key >= 0:
            entry = keys.held[key // 128, key % 128]
            entry[H_SILENT] = 1
            R.push_note(rings, t, pitch, 0, key // 128, entry[H_PART], channel, False, False)


@njit(cache=True)
def _sustain(setup, keys, rings, sink, down):
    """CC64 to the polyphonic parts; the monophonic ones are held by ``_note_off``."""
    keys.flags[F_PEDAL] = 1 if down else 0
    for p in range(setup.channels.shape[0]):
        ch = setup.channels[p]
        if setup.poly[ch] > 1:
            _cc(sink, rings, ch, CC_SUSTAIN, 127 if down else 0)
    if down:
        return
    for j in range(keys.order[N_CHANNELS]):
        ch = keys.order[j]
        i = 0
        while i < keys.voice_n[ch]:
            if keys.voice_key[ch, i] < 0:
                pitch = keys.voice_pitch[ch, i]
                _voice_remove_at(keys, ch, i)
                _noteoff(sink, rings, ch, pitch)
            else:
                i += 1


@njit(cache=True)
def _note_off(setup, keys, rings, sink, in_channel, pitch, t):
    entry = keys.held[in_channel, pitch]
    if entry[H_ACTIVE] == 0:
        rings.counters[R.C_ORPHAN_OFFS] += 1
        return
    entry[H_ACTIVE] = 0
    keys.flags[F_SOUNDING] -= 1
    keys.clock[K_LAST_EVENT] = t
    part, channel = entry[H_PART], entry[H_CHANNEL]
    if entry[H_GEN] == setup.conf[S_GEN]:
        _release(setup, pitch, part)
    if entry[H_SILENT] != 0:
        return  # its part already ended it (and told the listeners)
    key = in_channel * 128 + pitch
    limit = setup.poly[channel] if setup.poly[channel] > 0 else 1
    if keys.flags[F_PEDAL] != 0 and limit == 1:
        for i in range(keys.voice_n[channel]):  # the pedal holds it (next note or pedal up)
            if keys.voice_key[channel, i] == key:
                keys.voice_key[channel, i] = -1
                break
    else:
        _voice_drop(keys, channel, key)
        _noteoff(sink, rings, channel, pitch)
    R.push_note(rings, t, pitch, 0, in_channel, part, channel, False, False)


@njit(cache=True)
def _forget_all(keys):
    keys.held[:, :, H_ACTIVE] = 0
    keys.flags[F_SOUNDING] = 0
    keys.voice_n[:] = 0
    keys.order[N_CHANNELS] = 0
    keys.seen[:] = 0


# -- entries ---------------------------------------------------------------------------------
@njit(cache=True)
def _lock(keys):
    while not compare_and_swap(keys.flags, F_LOCK, 0, 1):
        pass


@njit(cache=True)
def _unlock(keys):
    store_release(keys.flags, F_LOCK, 0)


@njit(cache=True)
def _transposed(keys, kind, channel, pitch, velocity):
    """The pitch a note sounds at (``Session._transposed``): a note-off gets the shift its
    note-on got. -1: beyond MIDI (neither the note-on nor its note-off sounds)."""
    if pitch > 127:
        return pitch
    if kind == 0x90 and velocity > 0:
        shift = keys.flags[F_TRANSPOSE]
        keys.shifts[channel, pitch] = shift
    else:
        shift = keys.shifts[channel, pitch]
        keys.shifts[channel, pitch] = 0
    moved = pitch + shift
    return moved if 0 <= moved <= 127 else -1


@njit(cache=True)
def _play(setup, keys, rings, sink, status, data1, data2, n_data, t):
    """One message (the lock held): ``Session.handle`` and ``Performer.handle``."""
    kind, channel = status & 0xF0, status & 0x0F
    if kind == 0xC0 and n_data == 1:  # recalls a registration, in the main thread
        R.push_program(rings, data1 & 0x7F)
        return
    if (kind == 0x80 or kind == 0x90) and n_data == 2:
        data1 = _transposed(keys, kind, channel, data1, data2)
        if data1 < 0:
            return
    R.push_raw(rings, t, status, data1, data2, n_data)
    need = 1 if kind == 0xC0 or kind == 0xD0 else 2
    if status < 0x80 or kind == 0xF0 or n_data < need or data1 > 127 or data2 > 127:
        rings.counters[R.C_IGNORED] += 1
        return
    if kind == 0x90 and data2 > 0:
        _note_on(setup, keys, rings, sink, channel, data1, data2, t)
    elif kind == 0x80 or kind == 0x90:
        _note_off(setup, keys, rings, sink, channel, data1, t)
    elif kind == 0xB0:
        if data1 == CC_ALL_NOTES_OFF or data1 == CC_ALL_SOUND_OFF:
            _panic(keys, rings, sink)
        elif data1 == CC_SUSTAIN:
            _sustain(setup, keys, rings, sink, data2 >= 64)
        elif data1 in FOLLOWED_CCS:
            for p in range(setup.channels.shape[0]):
                _cc(sink, rings, setup.channels[p], data1, data2)
        else:
            rings.counters[R.C_IGNORED] += 1
    elif kind == 0xE0:
        for p in range(setup.channels.shape[0]):
            _bend(sink, rings, setup.channels[p], data1 | (data2 << 7))
    else:
        rings.counters[R.C_IGNORED] += 1


@njit(cache=True)
def _panic(keys, rings, sink):
    _forget_all(keys)
    _panic_synth(sink, rings)
    rings.counters[R.C_PANICS] += 1


@njit(cache=True, error_model="numpy")
def process(setup, keys, rings, sink, status, data1, data2, n_data, t):
    """Play one MIDI message of ``n_data`` data bytes received at ``t`` (seconds,
    CLOCK_MONOTONIC, or a rendering's clock; negative: now). Any thread; never raises."""
    _lock(keys)
    if t < 0.0:  # read under the lock: the clock's scratch is the path's
        t = now_ns(sink) * 1e-9
    if keys.flags[F_CLOSED] == 0:
        _play(setup, keys, rings, sink, status, data1, data2, n_data, t)
    _unlock(keys)


@njit(cache=True, error_model="numpy")
def panic(keys, rings, sink):
    """Silence everything now, on every channel, and forget what was sounding."""
    _lock(keys)
    _panic(keys, rings, sink)
    _unlock(keys)


@njit(cache=True, error_model="numpy")
def release_all(setup, keys, rings, sink, t):
    """Note-off for every held key, then the sustain pedal up (the keyboard vanished)."""
    _lock(keys)
    for ch in range(N_CHANNELS):
        for pitch in range(128):
            if keys.held[ch, pitch, H_ACTIVE] != 0:
                _note_off(setup, keys, rings, sink, ch, pitch, t)
    _sustain(setup, keys, rings, sink, False)
    _unlock(keys)


@njit(cache=True, error_model="numpy")
def reset_arranger(setup, keys):
    """A switch's ``arranger.reset()``, under the lock."""
    _lock(keys)
    _reset(setup)
    _unlock(keys)


# -- the driver's callback -------------------------------------------------------------------
# A table row (``native`` ``table_*``): (address, d0, d1, d2); an int field
# (Net.layers) keeps its value as address.
@njit(cache=True, inline="always")
def _net(t, i):
    return Net(
        t[i, 0],
        table_f32_2(t, i + 1),
        table_f32_2(t, i + 2),
        table_f32_2(t, i + 3),
        table_f32_3(t, i + 4),
        table_f32_2(t, i + 5),
        table_f32_2(t, i + 6),
        table_f32_1(t, i + 7),
        table_f32_1(t, i + 8),
        table_f32_1(t, i + 9),
        table_f32_1(t, i + 10),
    )


@njit(cache=True, inline="always")
def _history(t, i):
    return History(table_f64_1(t, i), table_f32_2(t, i + 1), table_f32_2(t, i + 2))


@njit(cache=True)
def _unpack(t):
    """(Setup, Keys, Rings, Sink) from a table (``compiled.table_rows`` wrote it, in the
    order of the named tuples' fields)."""
    chord = Chord(
        table_i64_2(t, 36),
        table_f64_1(t, 37),
        table_i64_1(t, 38),
        table_i64_1(t, 39),
        table_f32_2(t, 40),
        table_f32_2(t, 41),
        table_i64_1(t, 42),
        table_f64_1(t, 43),
    )
    rules = Rules(table_f32_2(t, 44), table_i64_1(t, 45), table_i64_1(t, 46), table_f32_1(t, 47))
    setup = Setup(
        table_i64_1(t, 0),
        table_i64_1(t, 1),
        table_i64_1(t, 2),
        table_i64_1(t, 3),
        table_i64_1(t, 4),
        _net(t, 5),
        _net(t, 16),
        _history(t, 27),
        _history(t, 30),
        _history(t, 33),
        chord,
        rules,
        table_f32_1(t, 48),
        table_f32_1(t, 49),
        table_i64_1(t, 50),
        table_i64_2(t, 51),
        table_i64_2(t, 52),
    )
    keys = Keys(
        table_i64_3(t, 53),
        table_f64_2(t, 54),
        table_i64_2(t, 55),
        table_i64_2(t, 56),
        table_i64_1(t, 57),
        table_i64_1(t, 58),
        table_i64_1(t, 59),
        table_i64_2(t, 60),
        table_f64_1(t, 61),
        table_i64_1(t, 62),
    )
    rings = R.Rings(
        table_i64_1(t, 63),
        table_f64_2(t, 64),
        table_i64_1(t, 65),
        table_f64_2(t, 66),
        table_i64_1(t, 67),
        table_i64_2(t, 68),
        table_i64_1(t, 69),
    )
    sink = Sink(table_i64_1(t, 70), table_i64_1(t, 71))
    return setup, keys, rings, sink


TABLE_ROWS = 72


def _midi_event(data, event):
    """FluidSynth's ``handle_midi_event_func_t``: ``data`` is the slot (``compiled``),
    ``event`` a ``fluid_midi_event_t *``. Decodes the event as ``input.jack`` does and
    plays it at the time it is handled (CLOCK_MONOTONIC). Compiled by ``handler``."""
    slot = carray(data, (1,), np.int64)
    table = carray(as_voidptr(slot[0]), (TABLE_ROWS, 4), np.int64)
    setup, keys, rings, sink = _unpack(table)
    fns = sink.fns
    ev = address_of(event)
    kind = call_p(fns[FN_EV_TYPE], ev)
    status = kind | call_p(fns[FN_EV_CHANNEL], ev)
    key = call_p(fns[FN_EV_KEY], ev)
    if kind == 0xE0:  # FluidSynth keeps the 14-bit bend in param 1
        process(setup, keys, rings, sink, status, key & 0x7F, key >> 7, 2, -1.0)
    elif kind == 0xC0 or kind == 0xD0:
        process(setup, keys, rings, sink, status, key, 0, 1, -1.0)
    else:
        process(setup, keys, rings, sink, status, key, call_p(fns[FN_EV_VALUE], ev), 2, -1.0)
    return 0


@functools.cache
def handler():
    """The compiled ``_midi_event`` (a numba ``cfunc``; its ``address`` goes to FluidSynth),
    compiled on first use, or loaded from numba's cache: the session's prepare asks."""
    signature = types.int32(types.voidptr, types.voidptr)
    return cfunc(signature, cache=True, error_model="numpy")(_midi_event)
