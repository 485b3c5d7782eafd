"""Registrations: a whole set-up in one TOML file, recalled at once (an arranger keyboard's
"registration memory").

A registration file (``configs/registrations/<name>.toml``, or any path)::

    name = "Pop band"       # shown when recalled
    ensemble = "pop"        # a built-in name, or an ensemble .toml (relative to this file)
    arranger = "zone"       # zone, closest, lstm, bilstm (default: the ensemble's best)
    soundfont = "x.sf2"     # optional (relative to this file)
    transpose = 0           # semitones added to every note played, -24..24
    program = 2             # optional: the MIDI program change (0-127) that recalls it
    split = 60              # jam: keys below it are the chord hand (a MIDI note or "C4")
    style = "pop8"          # jam: the band's style (model, block, arpeggio, ...)
    tempo = 100             # jam: BPM; play: the tempo map of recorded takes
    meter = 4               # beats per bar
    intro = 1               # jam: intro bars
    chart = "ii-V-I"        # jam/practice: a chart (built-in name, file, pop909:NNN)
    sections = "A"          # practice: the chart's section (or bars "5-8") to loop

Every key but ``name`` is optional. The file is untrusted: anything else (a wrong type, an
unknown key, a value out of range, bytes that are not TOML) is a one-line error naming
the file and the key.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, fields
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10 (Ubuntu 22.04): the same parser, from PyPI
    import tomli as tomllib

from instrument.errors import InstrumentError, untrusted
from instrument.paths import CONFIGS, shipped_names, shipped_or_path

REGISTRATIONS = CONFIGS / "registrations"
NOTE_NAME = re.compile(r"^([A-Ga-g])([#b]?)(-?\d)$")
_STEPS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}


@dataclass(frozen=True)
class Registration:
    name: str
    path: Path
    ensemble: str | None = None
    arranger: str | None = None
    soundfont: str | None = None
    transpose: int = 0
    program: int | None = None
    split: int | None = None
    style: str | None = None
    tempo: float | None = None
    meter: int | None = None
    intro: int | None = None
    chart: str | None = None
    sections: str | None = None


KEYS = tuple(f.name for f in fields(Registration) if f.name != "path")


def note_number(value: object, where: str) -> int:
    """A MIDI note from 0-127 or a name like "C4" (middle C = 60) or "F#3"."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 127:
        return value
    m = NOTE_NAME.match(value) if isinstance(value, str) else None
    if m:
        n = 12 * (int(m.group(3)) + 1) + _STEPS[m.group(1).lower()] + \
            {"#": 1, "b": -1, "": 0}[m.group(2)]
        if 0 <= n <= 127:
            return n
    raise InstrumentError(f"{where}: split must be a MIDI note 0-127 or a name like \"C4\", "
                          f"got {value!r}")


def _number(data: dict, key: str, kind: type, low: float, high: float, where: str):
    value = data[key]
    ok = isinstance(value, int | float) if kind is float else isinstance(value, int)
    if not ok or isinstance(value, bool) or not low <= value <= high:
        what = "a number" if kind is float else "an integer"
        raise InstrumentError(f"{where}: {key} must be {what} {low:g}-{high:g}, got {value!r}")
    return kind(value)


def _text(data: dict, key: str, where: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not value.strip() or len(value) > 500:
        raise InstrumentError(f"{where}: {key} must be a non-empty string, got {value!r}")
    return value


def parse_registration(data: dict, path: Path) -> Registration:
    """Validate a decoded registration table (``path`` names it in errors)."""
    where = str(path)
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise InstrumentError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(KEYS)})")
    if "name" not in data:
        raise InstrumentError(f"{where}: needs a name")
    values: dict[str, object] = {"name": _text(data, "name", where)}
    for key in ("ensemble", "arranger", "soundfont", "style", "chart", "sections"):
        if key in data:
            values[key] = _text(data, key, where)
    for key in ("ensemble", "soundfont"):  # files are found beside the registration
        value = values.get(key)
        if isinstance(value, str) and value.endswith((".toml", ".sf2", ".sf3")):
            values[key] = str((path.parent / value).resolve())
    ranges = {"transpose": (int, -24, 24), "program": (int, 0, 127), "tempo": (float, 20, 400),
              "meter": (int, 1, 16), "intro": (int, 0, 64)}
    for key, (kind, low, high) in ranges.items():
        if key in data:
            values[key] = _number(data, key, kind, low, high, where)
    if "split" in data:
        values["split"] = note_number(data["split"], where)
    return Registration(path=path, **values)  # type: ignore[arg-type]


def available_registrations() -> list[str]:
    return shipped_names(REGISTRATIONS)


def load_registration(name_or_path: str | Path) -> Registration:
    """A registration by name (``configs/registrations/<name>.toml``) or file path."""
    path = shipped_or_path(name_or_path, REGISTRATIONS, "registration")
    with untrusted(path, "registration file"):
        return parse_registration(tomllib.loads(path.read_text(encoding="utf-8")), path)


# Registration key -> the option it stands for, per command (what the command has).
OPTIONS = {
    "play": {"ensemble": "ensemble", "arranger": "arranger", "soundfont": "soundfont"},
    "jam": {"ensemble": "ensemble", "arranger": "arranger", "soundfont": "soundfont",
            "split": "split", "style": "style", "tempo": "tempo", "meter": "meter",
            "intro": "intro", "chart": "chart"},
    "practice": {"soundfont": "soundfont", "chart": "chart", "sections": "loop"},
}


def add_registration_option(p: argparse.ArgumentParser, command: str) -> None:
    """``--registration FILE`` for ``command``; call after its other options exist (their
    defaults are kept, so that ``apply_registration`` sees what was typed)."""
    p.add_argument("--registration", "-r", default=None, metavar="FILE",
                   help="a set-up: a .toml file or a name in configs/registrations/ "
                        f"({', '.join(available_registrations())}); options typed win "
                        "(default: none)")
    p.set_defaults(registration_defaults={o: p.get_default(o) for o in OPTIONS[command].values()},
                   registration_command=command)


def apply_registration(args: argparse.Namespace) -> Registration | None:
    """Load ``args.registration`` (if given) and fill ``args`` from it where the command
    line left an option at its default: what is typed wins over the registration."""
    if not args.registration:
        return None
    registration = load_registration(args.registration)
    for key, option in OPTIONS[args.registration_command].items():
        value = getattr(registration, key)
        if value is not None and getattr(args, option) == args.registration_defaults[option]:
            setattr(args, option, value)
    return registration
