"""Machine-level helpers for the compiled note path: raw C calls, pointers, atomics.

The note path (``live.notepath``) runs as a numba ``cfunc`` in JACK's process thread,
without the GIL, so it may call no Python object at all, ctypes functions included (their
trampolines take the GIL). These intrinsics call C functions by address instead: the
address of ``fluid_synth_noteon`` & co. in the library pyfluidsynth loaded, and of libc's
``clock_gettime``, kept as plain int64 data (so that numba can cache the compiled code:
a ctypes object baked in as a constant would make it uncacheable).

Memory order: ``release_fence`` is an LLVM release fence. On x86-64 (TSO: stores are
seen in program order, loads are not reordered with older loads) it only stops the
compiler from moving the row stores past the ring's index store; on ARM it emits a
``dmb``, and the reader would then need an acquire load of the index too.
"""

from __future__ import annotations

import ctypes

import numpy as np
from llvmlite import ir
from numba import carray, types
from numba.extending import intrinsic

from instrument.jit import njit
from instrument.synth.library import fluidsynth

_I32 = ir.IntType(32)
_I64 = ir.IntType(64)
_VOIDP = ir.IntType(8).as_pointer()


def c_address(lib: ctypes.CDLL, name: str) -> int:
    """The address of the C function ``name`` in ``lib`` (an int, for the kernels)."""
    return ctypes.cast(getattr(lib, name), ctypes.c_void_p).value or 0


def fluid_address(name: str) -> int:
    """The address of a libfluidsynth function, from the library pyfluidsynth loaded."""
    return c_address(fluidsynth._fl, name)


def clock_address() -> int:
    """The address of libc's ``clock_gettime`` (CLOCK_MONOTONIC is time.monotonic's)."""
    return c_address(ctypes.CDLL(None), "clock_gettime")


CLOCK_MONOTONIC = 1  # Linux


def resident(shape: int | tuple[int, ...], dtype: type | np.dtype = np.float64) -> np.ndarray:
    """Zeros whose every page is mapped now, for memory a real-time thread writes.

    ``np.zeros`` hands out pages the kernel maps only when first written: the audio
    thread that writes a fresh ring would take a page fault per 4 KiB (on a virtual
    machine, a fault the host may serve late while the whole virtual CPU waits). Writing
    the zeros here takes those faults in the thread that prepares, before any cycle."""
    a = np.zeros(shape, dtype)
    a.fill(0)  # a write, not a read: a read maps the shared zero page, not the array's own
    return a


@intrinsic
def as_voidptr(typingctx, address):
    """An int64 address as a ``void *`` (for ``numba.carray``)."""
    sig = types.voidptr(types.int64)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], _VOIDP)

    return sig, codegen


@intrinsic
def address_of(typingctx, pointer):
    """A ``void *`` as an int64 address."""
    sig = types.int64(types.voidptr)

    def codegen(context, builder, signature, args):
        return builder.ptrtoint(args[0], _I64)

    return sig, codegen


def _caller(n_ints: int):
    """An intrinsic ``call(fn, ptr, a1..an) -> int32``: calls the C function at address
    ``fn`` as ``int fn(void *ptr, int a1, ..., int an)``."""

    def typer(typingctx, fn, ptr, *ints):
        sig = types.int32(types.int64, types.int64, *([types.int64] * n_ints))

        def codegen(context, builder, signature, args):
            fnty = ir.FunctionType(_I32, [_VOIDP] + [_I32] * n_ints)
            target = builder.inttoptr(args[0], fnty.as_pointer())
            cargs = [builder.inttoptr(args[1], _VOIDP)]
            cargs += [builder.trunc(a, _I32) for a in args[2:]]
            return builder.call(target, cargs)

        return sig, codegen

    return typer


@intrinsic
def call_p(typingctx, fn, ptr):
    """int fn(void *ptr): a ``fluid_midi_event_get_*`` accessor."""
    return _caller(0)(typingctx, fn, ptr)


@intrinsic
def call_pi(typingctx, fn, ptr, a):
    """int fn(void *ptr, int a): ``fluid_synth_all_notes_off`` / ``all_sounds_off``."""
    return _caller(1)(typingctx, fn, ptr, a)


@intrinsic
def call_pii(typingctx, fn, ptr, a, b):
    """int fn(void *ptr, int a, int b): ``fluid_synth_noteoff`` / ``pitch_bend``."""
    return _caller(2)(typingctx, fn, ptr, a, b)


@intrinsic
def call_piii(typingctx, fn, ptr, a, b, c):
    """int fn(void *ptr, int a, int b, int c): ``fluid_synth_noteon`` / ``cc``."""
    return _caller(3)(typingctx, fn, ptr, a, b, c)


@intrinsic
def call_clock(typingctx, fn, clock_id, timespec):
    """int clock_gettime(int clock_id, struct timespec *ts); ``timespec`` an int64 (2,)
    array (tv_sec, tv_nsec: two longs on x86-64 and arm64 Linux)."""
    sig = types.int32(types.int64, types.int64, timespec)

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(_I32, [_I32, _VOIDP])
        target = builder.inttoptr(args[0], fnty.as_pointer())
        arr = context.make_array(signature.args[2])(context, builder, args[2])
        data = builder.bitcast(arr.data, _VOIDP)
        return builder.call(target, [builder.trunc(args[1], _I32), data])

    return sig, codegen


@intrinsic
def release_fence(typingctx):
    """Stores before it are visible before stores after it (see the module docstring)."""
    sig = types.void()

    def codegen(context, builder, signature, args):
        builder.fence("release")
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def compare_and_swap(typingctx, arr, index, old, new):
    """Atomically: if arr[index] == old, arr[index] = new; True if it did (int64 array)."""
    sig = types.boolean(arr, types.int64, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        a = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.gep(a.data, [args[1]])
        result = builder.cmpxchg(ptr, args[2], args[3], "acq_rel", "monotonic")
        return builder.extract_value(result, 1)

    return sig, codegen


@intrinsic
def store_release(typingctx, arr, index, value):
    """arr[index] = value as an atomic release store (int64 array): unlocks."""
    sig = types.void(arr, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        a = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.gep(a.data, [args[1]])
        builder.store_atomic(args[2], ptr, "release", 8)
        return context.get_dummy_value()

    return sig, codegen


# -- tables of arrays: a kernel's state reached through one pointer ---------------------------
# A table is an int64 array with a row per array: (address, d0[, d1[, d2]]). ``table_<type>_
# <ndim>(t, i)`` is row ``i`` as an array again; the caller keeps the arrays alive.
@njit(cache=True, inline="always")
def table_i64_1(t, i):
    return carray(as_voidptr(t[i, 0]), (t[i, 1],), np.int64)


@njit(cache=True, inline="always")
def table_i64_2(t, i):
    return carray(as_voidptr(t[i, 0]), (t[i, 1], t[i, 2]), np.int64)


@njit(cache=True, inline="always")
def table_i64_3(t, i):
    return carray(as_voidptr(t[i, 0]), (t[i, 1], t[i, 2], t[i, 3]), np.int64)


@njit(cache=True, inline="always")
def table_f64_1(t, i):
    return carray(as_voidptr(t[i, 0]), (t[i, 1],), np.float64)


@njit(cache=True, inline="always")
def table_f64_2(t, i):
    return carray(as_voidptr(t[i, 0]), (t[i, 1], t[i, 2]), np.float64)


@njit(cache=True, inline="always")
def table_f32_1(t, i):
    return carray(as_voidptr(t[i, 0]), (t[i, 1],), np.float32)


@njit(cache=True, inline="always")
def table_f32_2(t, i):
    return carray(as_voidptr(t[i, 0]), (t[i, 1], t[i, 2]), np.float32)


@njit(cache=True, inline="always")
def table_f32_3(t, i):
    return carray(as_voidptr(t[i, 0]), (t[i, 1], t[i, 2], t[i, 3]), np.float32)
