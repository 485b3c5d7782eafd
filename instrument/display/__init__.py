"""The pygame stage display: notes coloured by part, chord, beat, feedback, health."""

import os

# pygame greets on import; the stage's modules import it, so say no before they do.
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
