"""numba's ``njit`` and ``cfunc``, with a compiled-code cache keyed on all the package's
numba sources.

numba keys a function's on-disk cache on its own source file only (numba 0.68: a hash
of that one file). Our compiled code inlines code from other files: the note path
(``live/notepath.py``) writes rows with ``live/rings.py``'s pushes, steps the LSTM of
``arrange/fast.py`` and calls C through ``native.py``'s intrinsics. Edit one of
those, or upgrade over an old install, and numba would load the old machine code of the
note path, silently. So every cached function of this package is keyed here on a hash of
every package source that uses numba: any change to any of them recompiles them all, once
(the note path takes about a minute cold; ``setup.sh`` warms it).

Modules with compiled code import ``njit`` / ``cfunc`` from here, never from numba, so
that the package's cache locators are in place before their first decorator runs.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import numba
from numba.core import caching

PACKAGE = Path(__file__).resolve().parent


def sources_stamp(root: Path = PACKAGE) -> str:
    """A sha256 (hex) over every ``.py`` file under ``root`` with compiled code (it names
    numba or imports this module): its path relative to ``root`` and its bytes, in path
    order."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        data = path.read_bytes()
        if b"numba" in data or b"instrument.jit" in data:
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(data + b"\0")
    return digest.hexdigest()


@cache
def package_stamp() -> str:
    """``sources_stamp`` of this package, computed once per process."""
    return sources_stamp()


def _in_package(py_file: str) -> bool:
    try:
        return Path(py_file).resolve().is_relative_to(PACKAGE)
    except OSError:
        return False


def _package_keyed(base: type[caching._CacheLocator]) -> type[caching._CacheLocator]:
    """numba's locator ``base`` (where the cache lives), for this package's functions
    only, with the package's stamp in place of the function's own file's."""

    class Locator(base):
        def get_source_stamp(self) -> str:
            return package_stamp()

        @classmethod
        def from_function(cls, py_func, py_file):
            if not _in_package(py_file):
                return None  # someone else's function: numba's own locators
            return super().from_function(py_func, py_file)

    Locator.__name__ = Locator.__qualname__ = f"Package{base.__name__}"
    return Locator


# numba's own order: $NUMBA_CACHE_DIR if set, else the module's __pycache__, else the
# user's cache directory (a read-only install).
LOCATORS = tuple(
    _package_keyed(base)
    for base in (
        caching.UserProvidedCacheLocator,
        caching.InTreeCacheLocator,
        caching.UserWideCacheLocator,
    )
)
_chosen = caching.CacheImpl._locator_classes
_chosen[:0] = [loc for loc in LOCATORS if loc not in _chosen]

njit = numba.njit
cfunc = numba.cfunc
