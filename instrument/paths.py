"""Where the project's files live: shipped models, configs, and the data beside the repo."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# $INSTRUMENT_MODELS: another folder of trained models (your own, or a test's damaged copies)
MODELS = Path(os.environ.get("INSTRUMENT_MODELS") or ROOT / "models")
CONFIGS = ROOT / "configs"
ENSEMBLES = CONFIGS / "ensembles"
SOUNDFONTS = ROOT / "soundfonts"
DOCS = ROOT / "docs"
SPLITS = ROOT / "configs" / "splits"


def data_dir(override: str | os.PathLike | None = None) -> Path:
    """The music data folder: ``override``, else ``$INSTRUMENT_DATA``, else ``../shared/data``."""
    if override:
        return Path(override)
    env = os.environ.get("INSTRUMENT_DATA")
    if env:
        return Path(env)
    return ROOT.parent / "shared" / "data"


def state_dir() -> Path:
    """Per-user state (practice history, recordings): ``$INSTRUMENT_HOME`` or ~/.local/share."""
    env = os.environ.get("INSTRUMENT_HOME")
    base = Path(env) if env else Path.home() / ".local" / "share" / "instrument"
    base.mkdir(parents=True, exist_ok=True)
    return base


def shipped_names(folder: Path) -> list[str]:
    """The names of the TOML files shipped in ``folder`` (ensembles, registrations)."""
    return sorted(p.stem for p in folder.glob("*.toml"))


def shipped_or_path(name_or_path: str | Path, folder: Path, kind: str) -> Path:
    """A shipped TOML file by name (``folder/<name>.toml``) or a file's own path.

    An unknown name is an error that lists the known ones; a path is returned as given (its
    loader reads it as untrusted).
    """
    from instrument.errors import InstrumentError

    path = Path(name_or_path)
    if path.suffix == ".toml":
        return path
    path = folder / f"{name_or_path}.toml"
    if not path.exists():
        known = ", ".join(shipped_names(folder))
        raise InstrumentError(f"unknown {kind} {str(name_or_path)!r} (known: {known})")
    return path
