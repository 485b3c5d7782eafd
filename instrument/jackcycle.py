"""Compiled JACK process callbacks: libjack called by address, arrays passed by address.

A Python process callback (``jack.Client.set_process_callback``) waits for the GIL in
JACK's real-time thread; while it waits, the whole graph's cycle is late, and every
client of the server (FluidSynth playing the player's notes included) hears an xrun.
A numba ``cfunc`` runs there instead. It may call no Python object, ctypes functions
included, so it calls libjack by address (``jack_port_get_buffer`` & co., taken from the
library JACK-Client loaded, kept as int64 data so numba can cache the code) through the
intrinsics here, and reads and writes only numpy arrays whose addresses a table gives:
one int64 row (address, rows, columns) per array, read with ``native.table_*``.

JACK-Client still opens the client, registers and connects the ports and closes it; the
compiled callback goes in through libjack's own ``jack_set_process_callback`` before
``activate`` (``set_process``), with ``arg`` the table's address.
"""

from __future__ import annotations

import jack
import numpy as np
from llvmlite import ir
from numba import carray, types
from numba.extending import intrinsic

from instrument.jit import njit
from instrument.native import as_voidptr

_I32 = ir.IntType(32)
_I64 = ir.IntType(64)
_VOIDP = ir.IntType(8).as_pointer()

# the libjack functions a cycle calls, by address (``function_addresses``)
FN_PORT_GET_BUFFER, FN_LAST_FRAME_TIME, FN_MIDI_CLEAR_BUFFER, FN_MIDI_EVENT_WRITE = range(4)

PROCESS = types.int32(types.uint32, types.voidptr)  # JackProcessCallback


def _pointer_call(n_ints: int):
    """An intrinsic ``call(fn, ptr, a1..an) -> int64``: calls the C function at address
    ``fn`` as ``void *fn(void *ptr, uint32 a1, ..., uint32 an)``; the pointer as an int64."""

    def typer(typingctx, fn, ptr, *ints):
        sig = types.int64(types.int64, types.int64, *([types.int64] * n_ints))

        def codegen(context, builder, signature, args):
            fnty = ir.FunctionType(_VOIDP, [_VOIDP] + [_I32] * n_ints)
            target = builder.inttoptr(args[0], fnty.as_pointer())
            cargs = [builder.inttoptr(args[1], _VOIDP)]
            cargs += [builder.trunc(a, _I32) for a in args[2:]]
            return builder.ptrtoint(builder.call(target, cargs), _I64)

        return sig, codegen

    return typer


@intrinsic
def jack_get_buffer(typingctx, fn, port, nframes):
    """void *jack_port_get_buffer(jack_port_t *port, jack_nframes_t nframes), as an int64."""
    return _pointer_call(1)(typingctx, fn, port, nframes)


@intrinsic
def jack_frame_stamp(typingctx, fn, client):
    """jack_nframes_t jack_last_frame_time(const jack_client_t *client): the frame this
    cycle starts at, as an int64 (unsigned 32 bits: it wraps after 2**32 frames)."""
    sig = types.int64(types.int64, types.int64)

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(_I32, [_VOIDP])
        target = builder.inttoptr(args[0], fnty.as_pointer())
        stamp = builder.call(target, [builder.inttoptr(args[1], _VOIDP)])
        return builder.zext(stamp, _I64)

    return sig, codegen


@intrinsic
def jack_clear_midi(typingctx, fn, buffer):
    """void jack_midi_clear_buffer(void *port_buffer)."""
    sig = types.void(types.int64, types.int64)

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.VoidType(), [_VOIDP])
        target = builder.inttoptr(args[0], fnty.as_pointer())
        builder.call(target, [builder.inttoptr(args[1], _VOIDP)])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def jack_write_midi(typingctx, fn, buffer, time, data, size):
    """int jack_midi_event_write(void *port_buffer, jack_nframes_t time,
    const jack_midi_data_t *data, size_t data_size): 0 when written."""
    sig = types.int32(types.int64, types.int64, types.int64, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(_I32, [_VOIDP, _I32, _VOIDP, _I64])
        target = builder.inttoptr(args[0], fnty.as_pointer())
        buf, data_ptr = builder.inttoptr(args[1], _VOIDP), builder.inttoptr(args[3], _VOIDP)
        return builder.call(target, [buf, builder.trunc(args[2], _I32), data_ptr, args[4]])

    return sig, codegen


@intrinsic
def jack_port_by_id(typingctx, fn, client, port_id):
    """jack_port_t *jack_port_by_id(jack_client_t *client, jack_port_id_t port_id), as an
    int64 (0: no such port)."""
    return _pointer_call(1)(typingctx, fn, client, port_id)


@intrinsic
def jack_port_name(typingctx, fn, port):
    """const char *jack_port_name(const jack_port_t *port): the full name, as an int64."""
    return _pointer_call(0)(typingctx, fn, port)


@njit(cache=True, inline="always")
def port_audio(fns, port, frames):
    """The audio buffer of ``port`` this cycle: float32 (frames,), JACK's own memory."""
    return carray(as_voidptr(jack_get_buffer(fns[FN_PORT_GET_BUFFER], port, frames)),
                  (frames,), np.float32)  # fmt: skip


def table(*arrays: np.ndarray) -> np.ndarray:
    """The (len(arrays), 3) int64 table of (address, rows, columns) a cycle unpacks. The
    cycle reads the arrays by address: the caller keeps every one of them (and the table)
    referenced for as long as the client can run, or the cycle reads freed memory."""
    t = np.zeros((len(arrays), 3), np.int64)
    for i, a in enumerate(arrays):
        if not (a.flags.c_contiguous and a.ndim <= 2):
            raise ValueError("a cycle's table holds C-ordered arrays of one or two dimensions")
        t[i] = (a.ctypes.data, a.shape[0], a.shape[1] if a.ndim == 2 else 1)
    return t


def function_addresses() -> np.ndarray:
    """The addresses of the libjack functions the cycles call (``FN_*``), from the library
    JACK-Client loaded (the one its clients live in)."""
    lib = jack._lib
    fns = (lib.jack_port_get_buffer, lib.jack_last_frame_time, lib.jack_midi_clear_buffer,
           lib.jack_midi_event_write)  # fmt: skip
    return np.array([address(fn) for fn in fns], np.int64)


def address(pointer: object) -> int:
    """A JACK-Client cffi pointer (``Client._ptr``, ``Port._ptr``) as an int."""
    return int(jack._ffi.cast("uintptr_t", pointer))


def set_process(client: jack.Client, callback, arg: np.ndarray) -> None:
    """Install a compiled process callback with ``arg``'s address; before ``activate``.
    The caller keeps ``arg`` and every array its table points to alive while it runs."""
    install(jack._lib.jack_set_process_callback, "JackProcessCallback", client, callback, arg)


def install(setter, kind: str, client: jack.Client, callback, arg: np.ndarray) -> None:
    """``setter(client, callback, arg)``, a libjack ``jack_set_*_callback`` of ``kind``."""
    fn = jack._ffi.cast(kind, callback.address)
    if setter(client._ptr, fn, jack._ffi.cast("void *", arg.ctypes.data)):
        raise jack.JackError(f"JACK refused the compiled {kind}")
