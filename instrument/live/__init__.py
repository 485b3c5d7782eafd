"""The live loop: MIDI in, arranged onto the ensemble, out through FluidSynth."""
