"""pyfluidsynth, imported in one place and quietly.

When ``$CI`` is set, pyfluidsynth prints where it found libfluidsynth on standard output
as it is imported (its debug default). That line would come before the output of
``instrument listen --json`` and of every command a script reads, and before a test app's
``ready``. Every module that needs pyfluidsynth imports it from here.
"""

from __future__ import annotations

import contextlib
import io

with contextlib.redirect_stdout(io.StringIO()):
    import fluidsynth

__all__ = ["fluidsynth"]
