"""Finding and checking General MIDI SoundFonts."""

from __future__ import annotations

import os
from pathlib import Path

from instrument.errors import InstrumentError, untrusted
from instrument.paths import SOUNDFONTS

# Where Debian/Ubuntu packages (fluid-soundfont-gm, timgm6mb-soundfont, musescore-*) put them.
SYSTEM_DIRS = (
    Path("/usr/share/sounds/sf2"),
    Path("/usr/share/sounds/sf3"),
    Path("/usr/share/soundfonts"),
    Path("/usr/local/share/soundfonts"),
)
PREFERRED = ("FluidR3_GM.sf2", "default-GM.sf2", "MuseScore_General.sf3", "TimGM6mb.sf2")


# The preset-data sub-chunks every SoundFont 2 holds, and the size of one record of each
# (SoundFont 2.04, section 7). Preset, instrument and sample headers end with a terminal
# record, so hold at least two; the other tables may hold only their terminal record.
PDTA_RECORDS = {b"phdr": 38, b"pbag": 4, b"pmod": 10, b"pgen": 4, b"inst": 22,
                b"ibag": 4, b"imod": 10, b"igen": 4, b"shdr": 46}  # fmt: skip
HEADERS = (b"phdr", b"inst", b"shdr")


def check_soundfont(path: str | os.PathLike) -> Path:
    """``path`` if it is a readable SoundFont (RIFF ``sfbk``), else InstrumentError.

    FluidSynth is given only files whose chunk structure holds together: it refuses some
    damaged files after logging to the terminal, and reads others out of bounds.
    """
    p = Path(path)
    with untrusted(p, "SoundFont"):
        with p.open("rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
                raise InstrumentError(f"not a SoundFont (no RIFF sfbk header): {p}")
            declared, size = int.from_bytes(head[4:8], "little") + 8, p.stat().st_size
            if declared != size:
                raise InstrumentError(
                    f"damaged SoundFont (cut short?): {p} is {size} bytes, "
                    f"its header says {declared}"
                )
            problem = _chunk_problem(f, size)
    if problem:
        raise InstrumentError(f"damaged SoundFont: {p} ({problem})")
    return p


def _chunk_problem(f, size: int) -> str | None:
    """What is wrong with the LIST chunks after the RIFF header, or None."""
    lists: dict[bytes, tuple[int, int]] = {}  # type -> (data offset, data size)
    pos = 12
    while pos + 8 <= size:
        f.seek(pos)
        tag, n = f.read(4), int.from_bytes(f.read(4), "little")
        if pos + 8 + n > size:
            return f"chunk {tag!r} at byte {pos} runs past the end"
        if tag == b"LIST":
            lists[f.read(4)] = (pos + 12, n - 4)
        pos += 8 + n + (n & 1)
    missing = [t.decode() for t in (b"INFO", b"sdta", b"pdta") if t not in lists]
    if missing:
        return f"no {', '.join(missing)} chunk"
    start, n = lists[b"pdta"]
    f.seek(start)
    pdta = f.read(n)
    found: dict[bytes, int] = {}
    i = 0
    while i + 8 <= len(pdta):
        tag, m = pdta[i : i + 4], int.from_bytes(pdta[i + 4 : i + 8], "little")
        found[tag] = m
        i += 8 + m
    for tag, record in PDTA_RECORDS.items():
        m = found.get(tag)
        if m is None or m % record or m < (2 if tag in HEADERS else 1) * record:
            return f"its preset data has no valid {tag.decode()} table"
    return None


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
