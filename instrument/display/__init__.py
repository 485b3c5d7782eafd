"""The pygame stage display: notes coloured by part, chord, beat, feedback, health."""
