"""The lifecycle every live session shares (``play``, ``jam``, ``practice``).

As a plug-in host drives JUCE's ``prepareToPlay`` / ``processBlock`` /
``releaseResources``, a front end drives a session:

1. ``prepare()``: load what it plays with, warm up, apply the real-time settings
   (``live.realtime``); nothing sounds yet and no device is opened;
2. ``start()``: open the audio and MIDI devices and start the session's threads; from
   here the audio thread plays (``Performer.handle`` in the MIDI thread);
3. ``close()``: all notes off, then every device and thread shut down. Safe to call twice,
   and after a failed ``start``.

``start`` on a session not yet prepared prepares it first.
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class Session(ABC):
    """One live session; see the module doc for the order of the calls."""

    closed: bool = False

    @abstractmethod
    def prepare(self) -> None:
        """Load, warm up and apply the real-time settings (main thread, before start)."""

    @abstractmethod
    def start(self) -> None:
        """Open the devices and start playing."""

    @abstractmethod
    def close(self) -> None:
        """All notes off, then shut everything down. Safe to call twice."""
