"""The one error type that reaches the user as a one-line message."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


class InstrumentError(Exception):
    """Bad input or an unusable environment, explained in one line.

    The command line prints ``instrument: error: <message>`` and exits non-zero;
    nothing else is shown, so the message must say what was wrong and with what.
    """


def one_line(message: object) -> str:
    """``message`` on one line: libraries' messages (torch, tomllib) can span several."""
    return " ".join(str(message).split())


def unreadable_file_reason(path: str | os.PathLike, error: BaseException) -> str:
    """Why a file could not be loaded, in a few words for the one-line error.

    A Git LFS pointer in place of the weights is named as such (the fix is ``git lfs
    pull``); otherwise the first line of the library's message, without torch's advice to
    load untrusted files with ``weights_only=False``.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError:  # a folder (a song folder, a model folder), or gone meanwhile
        head = None
    if head is not None and head.startswith(b"version https://git-lfs"):
        return "it is a Git LFS pointer, not the weights (run `git lfs pull`)"
    if head == b"":
        return "the file is empty"
    if isinstance(error, KeyError):  # a file of the right format holding something else
        return f"no {error} entry in it (another kind of file?)"
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if "weights_only" in first or "Weights only load failed" in first:
        return "not a readable PyTorch checkpoint (damaged or cut short)"
    if first.startswith("Error(s) in loading state_dict"):
        return "its weights do not fit this model (trained for another ensemble?)"
    first = one_line(first)
    return first if len(first) <= 200 else first[:200] + "..."  # parsers can quote a lot


@contextmanager
def untrusted(path: str | os.PathLike, expected: str) -> Iterator[None]:
    """Read ``path`` inside this block as untrusted input: any failure is one line.

    ``expected`` says what the file should be ("MIDI file", "accompaniment model", ...).
    Whatever a parser raises for a damaged file (torch's unpickler raises IndexError on
    random bytes, tomllib UnicodeDecodeError, zipfile struct.error, ...) becomes
    ``InstrumentError("not a readable <expected>: <path> (<why>)")``, so no loader keeps
    its own list of exception types. An ``InstrumentError`` raised inside (a check the
    loader made itself) passes unchanged; KeyboardInterrupt and SystemExit are not caught.
    Warnings raised while reading are dropped.
    """
    try:
        with warnings.catch_warnings():
            # Parsers warn about what they find in a damaged file (torch: "pickle protocol
            # 158"); the one-line error says it instead.
            warnings.simplefilter("ignore")
            yield
    except InstrumentError:
        raise
    except FileNotFoundError:
        raise InstrumentError(f"{expected} not found: {path}") from None
    except IsADirectoryError:
        raise InstrumentError(f"not a readable {expected} (a directory): {path}") from None
    except Exception as e:  # the file is untrusted: any failure is the file's
        raise InstrumentError(
            f"not a readable {expected}: {path} ({unreadable_file_reason(path, e)})"
        ) from None


def check_finite(weights: Mapping[str, object]) -> None:
    """ValueError naming the first weight tensor holding NaN or inf (a damaged model file
    can unpickle cleanly and still hold them: a few flipped bytes in the data)."""
    import numpy as np

    for name, w in weights.items():
        a = np.asarray(w)  # numpy arrays, numbers and CPU torch tensors alike
        if a.dtype.kind in "fc" and not np.isfinite(a).all():
            raise ValueError(f"weight {name!r} holds NaN or inf (damaged?)")
