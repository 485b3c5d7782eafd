"""Reading audio files for the listener, with one clear error for anything unreadable."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from instrument.errors import InstrumentError, untrusted


def read_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Audio file -> (float32 (frames, channels), sample rate). WAV, FLAC, OGG, ... (libsndfile)."""
    import soundfile

    p = Path(path)
    if not p.exists():
        raise InstrumentError(f"audio file not found: {path}")
    if p.is_dir():
        raise InstrumentError(f"not an audio file (a directory): {path}")
    with untrusted(path, "audio file"):
        audio, sr = soundfile.read(str(path), dtype="float32", always_2d=True)
    if len(audio) == 0:
        raise InstrumentError(f"audio file has no samples: {path}")
    return audio, int(sr)


def blocks(audio: np.ndarray, size: int) -> Iterator[np.ndarray]:
    """Consecutive blocks of ``size`` frames (the last may be shorter)."""
    for i in range(0, len(audio), size):
        yield audio[i : i + size]
