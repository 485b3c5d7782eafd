"""Every input of the app; the live ones deliver raw MIDI bytes to the session's ``handle``.

``midi``: MIDI keyboards through rtmidi ports (choice, hot-plug); ``jack``: the JACK MIDI
port FluidSynth reads in the audio thread; ``keys``: the computer keyboard as a piano;
``midifile``: MIDI files read and turned into a keyboard's stream; ``messages``: raw bytes
parsed into named channel messages. Only the window's ``keys.key_codes`` imports pygame.
"""
