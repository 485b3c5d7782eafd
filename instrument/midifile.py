"""Reading MIDI files with one clear error for anything that is not a usable MIDI file."""

from __future__ import annotations

import os

import mido

from instrument.errors import InstrumentError


def read_midi(path: str | os.PathLike) -> mido.MidiFile:
    """Open a Standard MIDI File; InstrumentError if missing, empty, truncated or garbage."""
    try:
        midi = mido.MidiFile(str(path), clip=True)
    except FileNotFoundError:
        raise InstrumentError(f"MIDI file not found: {path}") from None
    except IsADirectoryError:
        raise InstrumentError(f"not a MIDI file (a directory): {path}") from None
    except (OSError, EOFError, ValueError, KeyError, IndexError, TypeError) as e:
        raise InstrumentError(f"not a readable MIDI file: {path} ({e or type(e).__name__})") from None
    if midi.type == 2:
        raise InstrumentError(f"MIDI type 2 (independent sequences) is not supported: {path}")
    if not any(m.type == "note_on" and m.velocity for t in midi.tracks for m in t):
        raise InstrumentError(f"MIDI file has no notes: {path}")
    return midi
