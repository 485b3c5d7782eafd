"""The one error type that reaches the user as a one-line message."""


class InstrumentError(Exception):
    """Bad input or an unusable environment, explained in one line.

    The command line prints ``instrument: error: <message>`` and exits non-zero;
    nothing else is shown, so the message must say what was wrong and with what.
    """
