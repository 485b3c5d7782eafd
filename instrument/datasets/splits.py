"""The committed train/valid/test splits: ``configs/splits/<name>.json``.

Each file is ``{"name": ..., "method": ..., "train": [ids], "valid": [ids], "test": [ids]}``;
ids are the data set's piece ids (POP909: "001".."909"). Splits are made once, by piece
(editions of one piece share a split), and committed so every model and every colleague
trains and tests on the same pieces.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import numpy as np

from instrument.errors import InstrumentError
from instrument.paths import SPLITS

SPLIT_NAMES = ("train", "valid", "test")
_ALIASES = {"val": "valid", "validation": "valid", "dev": "valid"}


def split_path(name: str):
    return SPLITS / f"{name}.json"


def load_split(name: str) -> dict[str, list[str]]:
    """All three id lists of split file ``name``; InstrumentError if missing or malformed."""
    path = split_path(name)
    try:
        data = json.loads(path.read_text())
        return {s: [str(i) for i in data[s]] for s in SPLIT_NAMES}
    except FileNotFoundError:
        raise InstrumentError(f"no split file for {name!r}: {path}") from None
    except (ValueError, KeyError, TypeError) as e:
        raise InstrumentError(f"malformed split file {path}: {e}") from None


def split_ids(name: str, split: str) -> list[str]:
    """The piece ids of ``split`` ("train", "valid" or "test") of data set ``name``.

    >>> len(split_ids("pop909", "test"))
    90
    """
    split = _ALIASES.get(split, split)
    if split not in SPLIT_NAMES:
        raise InstrumentError(f"unknown split {split!r} (known: {', '.join(SPLIT_NAMES)})")
    return load_split(name)[split]


def split_hash(name: str) -> str:
    """A short hash of the split file's id lists, recorded in model cards."""
    data = load_split(name)
    text = json.dumps(data, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def make_split(
    groups: dict[str, Sequence[str]], seed: int = 0, fractions=(0.8, 0.1, 0.1)
) -> dict[str, list[str]]:
    """Deterministic 8:1:1 split of pieces by group: every id of one group lands together.

    groups: group key -> piece ids (editions of one piece share a key). Groups are shuffled
    with ``seed`` and cut by cumulative piece count.
    """
    keys = sorted(groups)
    order = np.random.default_rng(seed).permutation(len(keys))
    total = sum(len(groups[k]) for k in keys)
    out: dict[str, list[str]] = {s: [] for s in SPLIT_NAMES}
    done = 0
    cut1, cut2 = fractions[0] * total, (fractions[0] + fractions[1]) * total
    for i in order:
        ids = list(groups[keys[i]])
        split = "train" if done < cut1 else "valid" if done < cut2 else "test"
        out[split].extend(ids)
        done += len(ids)
    return {s: sorted(v) for s, v in out.items()}


def write_split(name: str, split: dict[str, list[str]], method: str) -> None:
    path = split_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"name": name, "method": method, **{s: split[s] for s in SPLIT_NAMES}}
    path.write_text(json.dumps(data, indent=1) + "\n")
