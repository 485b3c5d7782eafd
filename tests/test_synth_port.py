"""Every synth the performer and the band play into implements ``SynthPort`` in full.

The real ones (FluidSynth, MIDI out, the take's audio, the fan-out) are checked by
inspection; the fakes of the tests and benches are found in their source, so that a
fake added later, or a method renamed, cannot drift from the interface unseen.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from instrument.live.midiout import MidiOut
from instrument.live.outputs import PartOutputs
from instrument.live.record import TakeAudio
from instrument.synth.base import SynthPort
from instrument.synth.fluid import Synth
from tests.support.fakes import SilentSynth

ROOT = Path(__file__).resolve().parent.parent
METHODS = sorted(
    name for name, fn in vars(SynthPort).items() if inspect.isfunction(fn) and name[0] != "_"
)
# The bases a fake may take the whole interface from.
FULL_BASES = {"SynthPort", "SilentSynth", "Synth"}


def parameters(fn) -> list[tuple[str, object, object]]:
    """(name, kind, default) of each parameter: what a caller relies on."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def test_the_protocol_declares_what_the_performer_and_the_band_call():
    assert METHODS == [
        "cc",
        "noteoff",
        "noteon",
        "panic",
        "pitch_bend",
        "program",
        "set_ensemble",
        "use_soundfont",
    ]
    assert "ensemble" in SynthPort.__annotations__


@pytest.mark.parametrize("cls", [Synth, MidiOut, PartOutputs, TakeAudio, SilentSynth])
def test_implementations_define_every_method_with_its_parameters(cls):
    assert SynthPort in cls.__mro__  # declared, not just alike
    for name in METHODS:
        own = next(k for k in cls.__mro__ if name in vars(k))
        assert own is not SynthPort, f"{cls.__name__}.{name} is not implemented"
        assert parameters(getattr(cls, name)) == parameters(getattr(SynthPort, name)), name


def fake_synths() -> list[tuple[str, ast.ClassDef]]:
    """(file, class) of every class in tests/ and bench/ with a method of ``SynthPort``."""
    found = []
    for path in sorted([*ROOT.glob("tests/**/*.py"), *ROOT.glob("bench/*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and {
                f.name for f in node.body if isinstance(f, ast.FunctionDef)
            } & set(METHODS):
                found.append((str(path.relative_to(ROOT)), node))
    return found


def test_fakes_take_the_whole_interface_and_keep_its_parameters():
    fakes = fake_synths()
    names = {node.name for _, node in fakes}
    assert {"SilentSynth", "RecordingSynth"} <= names  # the scan finds them
    for where, node in fakes:
        bases = {b.id if isinstance(b, ast.Name) else ast.unparse(b) for b in node.bases}
        assert bases & (FULL_BASES | names), f"{where}: {node.name} does not subclass SilentSynth"
        for fn in node.body:
            if isinstance(fn, ast.FunctionDef) and fn.name in METHODS:
                got = [a.arg for a in (*fn.args.posonlyargs, *fn.args.args)]
                want = [p[0] for p in parameters(getattr(SynthPort, fn.name))]
                assert got == want, f"{where}: {node.name}.{fn.name}{tuple(got)} != {want}"
