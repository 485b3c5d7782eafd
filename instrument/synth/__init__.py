"""Sound: FluidSynth with one channel per part, and where SoundFonts are found."""

from instrument.synth.fluid import Synth, write_wav
from instrument.synth.soundfont import check_soundfont, find_soundfont, list_soundfonts

__all__ = [
    "Synth",
    "check_soundfont",
    "find_soundfont",
    "list_soundfonts",
    "write_wav",
]
