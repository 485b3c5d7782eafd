"""Writing rendered audio: the formats ``render`` can write, chosen by the file name.

libsndfile (through soundfile) writes them; which of the formats below it can write
depends on how it was built (MP3 needs libsndfile 1.1 with LAME and mpg123), so the list
offered is the one this machine's libsndfile confirms. Anything else (no extension, an
unknown one, a folder) is refused before any rendering starts, naming the formats it can.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from instrument.errors import InstrumentError, one_line

# extension -> (libsndfile major format, subtype)
FORMATS = {
    ".wav": ("WAV", "PCM_16"),
    ".flac": ("FLAC", "PCM_16"),
    ".aiff": ("AIFF", "PCM_16"),
    ".aif": ("AIFF", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
}


def writable_formats() -> dict[str, tuple[str, str]]:
    """The entries of ``FORMATS`` this machine's libsndfile can write."""
    import soundfile

    known = soundfile.available_formats()
    return {
        ext: fmt for ext, fmt in FORMATS.items() if fmt[0] in known and soundfile.check_format(*fmt)
    }


def check_audio_output(path: str | os.PathLike) -> tuple[str, str]:
    """(format, subtype) to write ``path`` in; InstrumentError when it cannot be written."""
    p = Path(path)
    formats = writable_formats()
    can = ", ".join(formats)
    if p.is_dir() or str(path).endswith(os.sep):
        raise InstrumentError(
            f"cannot write audio to {p}: it is a folder; give a file name ending in one of {can}"
        )
    ext = p.suffix.lower()
    if ext not in formats:
        what = f"the {ext} format" if ext else "a file name without an extension"
        raise InstrumentError(f"cannot write {what} ({p}): audio is written as {can}")
    if not p.parent.is_dir():
        raise InstrumentError(f"cannot write {p}: the folder {p.parent} does not exist")
    return formats[ext]


def write_audio(path: str | os.PathLike, audio: np.ndarray, sample_rate: int) -> Path:
    """Float audio (frames, channels) clipped to full scale, in the format of the name."""
    import soundfile

    fmt, subtype = check_audio_output(path)
    p = Path(path)
    try:
        soundfile.write(str(p), np.clip(audio, -1.0, 1.0), sample_rate, format=fmt, subtype=subtype)
    except (OSError, RuntimeError, ValueError, TypeError) as e:  # e.g. MP3 at 96 kHz
        raise InstrumentError(
            f"cannot write {p} ({fmt} at {sample_rate} Hz): {one_line(e)}"
        ) from None
    return p
