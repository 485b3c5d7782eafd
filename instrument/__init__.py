"""instrument: one keyboard plays a whole band."""

__version__ = "0.1.0"
