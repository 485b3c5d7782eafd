"""Practice mode: charts to play along with, chords judged as they are played, history."""
