"""The compiled-code cache is keyed on every numba source of the package (instrument/jit.py):
editing a file that the note path inlines (rings.py, fast.py, native.py) recompiles it."""

from __future__ import annotations

import importlib
import pkgutil

from numba.core.dispatcher import Dispatcher

import instrument
from instrument import jit


def _cached_dispatchers() -> list[tuple[str, Dispatcher]]:
    """Every numba function of the package that caches its machine code."""
    found = []
    for info in pkgutil.walk_packages(instrument.__path__, "instrument."):
        spec = importlib.util.find_spec(info.name)
        if spec is None or spec.origin is None:
            continue
        source = open(spec.origin, "rb").read()
        if b"numba" not in source and b"instrument.jit" not in source:
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, Dispatcher) and value.__module__ == info.name:
                if value._cache.__class__.__name__ != "NullCache":
                    found.append((f"{info.name}.{name}", value))
    return found


def test_every_cached_function_of_the_package_is_keyed_on_all_its_numba_sources():
    found = _cached_dispatchers()
    names = {n for n, _ in found}
    # the note path and what it inlines, and the listener's kernels, are all there
    assert {"instrument.live.rings.push_note", "instrument.arrange.fast.lstm_step",
            "instrument.listen.beat._forward"} <= names, sorted(names)  # fmt: skip
    for name, dispatcher in found:
        locator = dispatcher._cache._impl.locator
        assert type(locator) in jit.LOCATORS, (name, type(locator))
        assert locator.get_source_stamp() == jit.package_stamp()


def test_the_stamp_moves_with_any_numba_source_and_only_with_them(tmp_path):
    (tmp_path / "sub").mkdir()
    kernel, pushes, plain = (
        tmp_path / "kernel.py",
        tmp_path / "sub" / "pushes.py",
        tmp_path / "cli.py",
    )
    kernel.write_text("from instrument.jit import njit\n@njit(cache=True)\ndef f(): return 1\n")
    pushes.write_text("import numba\n")
    (tmp_path / "rows.py").write_text("from instrument.jit import njit\n")
    plain.write_text("print('no compiled code here')\n")
    before = jit.sources_stamp(tmp_path)
    plain.write_text("print('still none')\n")
    assert jit.sources_stamp(tmp_path) == before  # a file without numba is not in the key
    pushes.write_text("import numba  # a row gains a column\n")
    after = jit.sources_stamp(tmp_path)
    assert after != before  # a file the kernel may inline changed: recompile
    pushes.write_text("import numba\n")
    assert jit.sources_stamp(tmp_path) == before  # keyed on content, not on time
    (tmp_path / "rows.py").write_text("from instrument.jit import njit  # no word of numba\n")
    assert jit.sources_stamp(tmp_path) != before
