"""The one error type that reaches the user as a one-line message."""

from __future__ import annotations

import os


class InstrumentError(Exception):
    """Bad input or an unusable environment, explained in one line.

    The command line prints ``instrument: error: <message>`` and exits non-zero;
    nothing else is shown, so the message must say what was wrong and with what.
    """


def one_line(message: object) -> str:
    """``message`` on one line: libraries' messages (torch, tomllib) can span several."""
    return " ".join(str(message).split())


def unreadable_file_reason(path: str | os.PathLike, error: BaseException) -> str:
    """Why a model file could not be loaded, in a few words for the one-line error.

    A Git LFS pointer in place of the weights is named as such (the fix is ``git lfs
    pull``); otherwise the first line of the library's message, without torch's advice to
    load untrusted files with ``weights_only=False``.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError:
        head = b""
    if head.startswith(b"version https://git-lfs"):
        return "it is a Git LFS pointer, not the weights (run `git lfs pull`)"
    if not head:
        return "the file is empty"
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if "weights_only" in first or "Weights only load failed" in first:
        return "not a readable PyTorch checkpoint (damaged or cut short)"
    if first.startswith("Error(s) in loading state_dict"):
        return "its weights do not fit this model (trained for another ensemble?)"
    return one_line(first)
