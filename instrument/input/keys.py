"""The computer keyboard as a piano: its key map, its held keys, and where its notes go.

Its notes go into the app's own MIDI input port, so they take exactly the path a
keyboard's notes take; with no MIDI system they go straight to the session, which then has
no other caller. ``play --play-file`` sends a file's notes the same way.

The key maps are by pygame's key names (what ``pygame.key.name`` says) so that nothing
here imports pygame: a headless session never loads it. ``key_codes`` turns a map into
pygame's key codes once the window is open.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from instrument.input.messages import NOTE_OFF, NOTE_ON

# Two rows of the computer keyboard as piano keys, each key's semitone from the octave's C:
# z s x d c v g b h n j m , play C C# D D# E F F# G G# A A# B C, and q 2 w 3 ... the same
# an octave up (the black keys are the ones in the row above).
LOWER_ROW = {key: n for n, key in enumerate("zsxdcvgbhnjm,")}
UPPER_ROW = {key: 12 + n for n, key in enumerate("q2w3er5t6y7ui")}
PIANO_KEYS = {**LOWER_ROW, **UPPER_ROW}
# Ctrl + a number key recalls that registration (the number keys alone are piano keys).
RECALL_KEYS = {str(n): n - 1 for n in range(1, 10)}


def key_codes(by_name: Mapping[str, int]) -> dict[int, int]:
    """``by_name`` keyed by pygame's key codes, as the window's key events carry them.

    Call it with the window open: pygame resolves the names through its display.
    """
    import pygame

    return {pygame.key.key_code(name): value for name, value in by_name.items()}


class LocalKeys:
    """Sends the computer keyboard's notes into the app's MIDI input.

    session: the live session; ``session.midi`` is its MIDI input (None without a MIDI
    system, then ``session.handle`` takes the bytes, as the input's callback would).
    """

    def __init__(self, session):
        self.session = session
        self._out = None
        midi = session.midi
        if midi is None:
            return
        import rtmidi

        api = rtmidi.API_UNIX_JACK if midi.api == "jack" else rtmidi.API_LINUX_ALSA
        try:
            out = rtmidi.MidiOut(api, "instrument-keys")
            ports = out.get_ports()
            target = midi.port_name.split(":")[0]
            match = [i for i, p in enumerate(ports) if p.startswith(target)]
            if match:
                out.open_port(match[0], "out")
                self._out = out
            else:
                out.delete()
        except Exception:  # noqa: BLE001 - fall back to the direct path below
            self._out = None

    def send(self, data: list[int]) -> None:
        """One raw MIDI message (status, data bytes)."""
        if self._out is not None:
            self._out.send_message(data)
        elif self.session.midi is None:  # no MIDI thread exists: we are the only caller
            self.session.handle(data)  # as the MIDI input would: transposed, recalls

    def close(self) -> None:
        if self._out is not None:
            self._out.close_port()
            self._out.delete()
            self._out = None


class KeyboardPiano:
    """The piano keys pressed in the window: a note-on per press, its note-off on release.

    send: where the raw messages go (``LocalKeys.send``); codes: key code -> semitone from
    the octave's C (``key_codes(PIANO_KEYS)``). A key held down sends one note-on, however
    often the window repeats it; its release ends the pitch it started, whatever the
    octave is by then.
    """

    def __init__(self, send: Callable[[list[int]], None], codes: Mapping[int, int]):
        self.send = send
        self.codes = codes
        self.held: dict[int, int] = {}  # key code -> the pitch it started

    def press(self, key: int, octave: int, velocity: int) -> bool:
        """A key went down; True when it is a piano key (then it is used, even when its
        pitch is off the MIDI range or it is already held)."""
        if key not in self.codes:
            return False
        pitch = 12 * (octave + 1) + self.codes[key]
        if 0 <= pitch <= 127 and key not in self.held:
            self.held[key] = pitch
            self.send([NOTE_ON, pitch, velocity])
        return True

    def release(self, key: int) -> None:
        if key in self.held:
            self.send([NOTE_OFF, self.held.pop(key), 0])

    def release_all(self) -> None:
        """Note-offs for every key held (panic, closing the window)."""
        for pitch in self.held.values():
            self.send([NOTE_OFF, pitch, 0])
        self.held.clear()
