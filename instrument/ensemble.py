"""Ensembles: the parts a performance is split into, each with its General MIDI sound.

An ensemble file (``configs/ensembles/<name>.toml``) lists its parts top to bottom::

    name = "quartet"
    [[parts]]
    name = "Violin I"
    program = 40        # GM program, 0-127
    volume = 100        # CC7, 0-127
    pan = 40            # CC10, 0-127 (64 = centre)
    range = [55, 103]   # the part's usual pitch range, MIDI numbers (a soft constraint)
    polyphony = 1       # notes the part sounds at once (default 1: a voice, a string)

Part k sounds on MIDI channel ``CHANNELS[k]``; channel 10 (index 9) stays free for drums.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10 (Ubuntu 22.04): the same parser, from PyPI
    import tomli as tomllib

from instrument.errors import InstrumentError, untrusted
from instrument.paths import CONFIGS, ENSEMBLES, shipped_names, shipped_or_path

# MIDI channels for parts, in order; 9 (GM channel 10) is the drum kit.
CHANNELS: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15)
DRUM_CHANNEL = 9


@dataclass(frozen=True)
class Part:
    name: str
    program: int
    volume: int
    pan: int
    low: int
    high: int
    channel: int
    polyphony: int = 1  # notes it may sound at once: 1 for a voice or a string


@dataclass(frozen=True)
class Ensemble:
    name: str
    title: str
    parts: tuple[Part, ...]
    dataset: str | None = None

    def __len__(self) -> int:
        return len(self.parts)

    @property
    def part_names(self) -> list[str]:
        return [p.name for p in self.parts]


def _midi_byte(value: object, what: str, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 127:
        raise InstrumentError(f"{where}: {what} must be an integer 0-127, got {value!r}")
    return value


def _polyphony(value: object, part: str, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 16:
        raise InstrumentError(f"{where}: part {part!r} polyphony must be 1-16, got {value!r}")
    return value


def parse_ensemble(data: dict, where: str) -> Ensemble:
    """Validate a decoded ensemble table; ``where`` names it in error messages."""
    parts_data = data.get("parts")
    if not isinstance(parts_data, list) or not parts_data:
        raise InstrumentError(f"{where}: needs at least one [[parts]] entry")
    if len(parts_data) > len(CHANNELS):
        raise InstrumentError(f"{where}: at most {len(CHANNELS)} parts, got {len(parts_data)}")
    parts = []
    for i, p in enumerate(parts_data):
        if not isinstance(p, dict) or not isinstance(p.get("name"), str) or not p["name"]:
            raise InstrumentError(f"{where}: part {i + 1} needs a name")
        rng = p.get("range", [0, 127])
        if (
            not isinstance(rng, list)
            or len(rng) != 2
            or _midi_byte(rng[0], "range", where) > _midi_byte(rng[1], "range", where)
        ):
            raise InstrumentError(f"{where}: part {p['name']!r} range must be [low, high]")
        parts.append(
            Part(
                name=p["name"],
                program=_midi_byte(p.get("program", 0), f"part {p['name']!r} program", where),
                volume=_midi_byte(p.get("volume", 100), f"part {p['name']!r} volume", where),
                pan=_midi_byte(p.get("pan", 64), f"part {p['name']!r} pan", where),
                low=rng[0],
                high=rng[1],
                channel=CHANNELS[i],
                polyphony=_polyphony(p.get("polyphony", 1), p["name"], where),
            )
        )
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise InstrumentError(f"{where}: needs a name")
    return Ensemble(
        name=name,
        title=str(data.get("title", name)),
        parts=tuple(parts),
        dataset=data.get("dataset"),
    )


def available_ensembles() -> list[str]:
    return shipped_names(ENSEMBLES)


def load_ensemble(name_or_path: str | Path) -> Ensemble:
    """Load an ensemble by name (``configs/ensembles/<name>.toml``) or by file path."""
    path = shipped_or_path(name_or_path, ENSEMBLES, "ensemble")
    with untrusted(path, "ensemble file"):
        return parse_ensemble(tomllib.loads(path.read_text(encoding="utf-8")), str(path))


# The numbers in configs/defaults.toml, and what each may be.
DEFAULT_RANGES = {"sample_rate": (int, 8000, 96000), "period": (int, 16, 8192),
                  "gain": (float, 0.0, 10.0), "arranger_reset_after": (float, 0.0, 3600.0)}


def load_defaults() -> dict:
    """The built-in defaults (``configs/defaults.toml``)."""
    path = CONFIGS / "defaults.toml"
    with untrusted(path, "defaults file"):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    for key, (kind, low, high) in DEFAULT_RANGES.items():
        value = data.get(key)
        if value is None:
            continue
        ok = isinstance(value, int | float) if kind is float else isinstance(value, int)
        if not ok or isinstance(value, bool) or not low <= value <= high:
            raise InstrumentError(f"{path}: {key} must be {low:g}-{high:g}, got {value!r}")
    for key in ("ensemble", "audio"):
        if key in data and not isinstance(data[key], str):
            raise InstrumentError(f"{path}: {key} must be a name, got {data[key]!r}")
    return data
