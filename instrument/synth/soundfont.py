"""Finding and checking General MIDI SoundFonts."""

from __future__ import annotations

import os
from pathlib import Path

from instrument.errors import InstrumentError
from instrument.paths import SOUNDFONTS

# Where Debian/Ubuntu packages (fluid-soundfont-gm, timgm6mb-soundfont, musescore-*) put them.
SYSTEM_DIRS = (
    Path("/usr/share/sounds/sf2"),
    Path("/usr/share/sounds/sf3"),
    Path("/usr/share/soundfonts"),
    Path("/usr/local/share/soundfonts"),
)
PREFERRED = ("FluidR3_GM.sf2", "default-GM.sf2", "MuseScore_General.sf3", "TimGM6mb.sf2")


def check_soundfont(path: str | os.PathLike) -> Path:
    """``path`` if it is a readable SoundFont (RIFF ``sfbk``), else InstrumentError."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            head = f.read(12)
    except FileNotFoundError:
        raise InstrumentError(f"SoundFont not found: {p}") from None
    except OSError as e:
        raise InstrumentError(f"cannot read SoundFont {p}: {e.strerror}") from None
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise InstrumentError(f"not a SoundFont (no RIFF sfbk header): {p}")
    # FluidSynth refuses the same files, but only after logging to the terminal.
    declared, size = int.from_bytes(head[4:8], "little") + 8, p.stat().st_size
    if declared != size:
        raise InstrumentError(f"damaged SoundFont (cut short?): {p} is {size} bytes, "
                              f"its header says {declared}")  # fmt: skip
    return p


def list_soundfonts() -> list[Path]:
    """Every SoundFont in ``soundfonts/`` and the system folders, preferred ones first."""
    found: list[Path] = []
    for d in (SOUNDFONTS, *SYSTEM_DIRS):
        if d.is_dir():
            found += sorted(p for p in d.iterdir() if p.suffix.lower() in (".sf2", ".sf3"))
    unique = list(dict.fromkeys(p.resolve() for p in found if p.is_file()))

    def rank(p: Path) -> tuple[int, str]:
        in_repo = SOUNDFONTS.resolve() in p.parents
        pref = PREFERRED.index(p.name) if p.name in PREFERRED else len(PREFERRED)
        return (0 if in_repo else 1 + pref, p.name)

    return sorted(unique, key=rank)


def find_soundfont(override: str | os.PathLike | None = None) -> Path:
    """The SoundFont to play: ``override``, ``$INSTRUMENT_SOUNDFONT``, else the best found."""
    chosen = override or os.environ.get("INSTRUMENT_SOUNDFONT")
    if chosen:
        return check_soundfont(chosen)
    for p in list_soundfonts():
        try:
            return check_soundfont(p)
        except InstrumentError:
            continue
    raise InstrumentError(
        "no GM SoundFont found: install fluid-soundfont-gm (./setup.sh does) "
        "or pass --soundfont PATH"
    )
