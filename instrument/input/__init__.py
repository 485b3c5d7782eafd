"""Input: MIDI keyboards (rtmidi), raw MIDI parsing, and the computer-keyboard piano."""
