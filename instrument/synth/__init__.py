"""Sound: FluidSynth with one channel per part (a ``SynthPort``), offline rendering
(``offline``), and where SoundFonts are found."""

from instrument.synth.base import SynthPort
from instrument.synth.fluid import Synth, write_wav
from instrument.synth.soundfont import check_soundfont, find_soundfont, list_soundfonts

__all__ = [
    "Synth",
    "SynthPort",
    "check_soundfont",
    "find_soundfont",
    "list_soundfonts",
    "write_wav",
]
