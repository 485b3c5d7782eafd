"""A chord language model trained on real songs (McGill Billboard and POP909 chord files).

Songs become sequences of chord *changes* (a repeated chord is one token) relative to the
song's tonic, so every song is in "C": a token is ``"<semitones above tonic>:<family>"``,
e.g. ``"0:maj"`` (I), ``"9:min"`` (vi), ``"7:7"`` (V7). Families fold the qualities of
``chords.QUALITIES`` into nine (``FAMILY``); slash basses are dropped; "N" is skipped.

Three models share one interface, ``token_logprobs(seq) -> list[float]`` (natural log of
p(token | history) for every token and the end), so perplexity compares like with like:

- ``UnigramLM``: add-one smoothed chord frequencies.
- ``BigramLM``: p(b | a) interpolated with the unigram, the weight tuned on validation.
- ``ChordGRU``: a one-layer GRU (nanoGPT-sized: read it end to end below), the shipped model
  in ``models/chordlm-gru/``.
"""

from __future__ import annotations

import json
import math
import re
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from instrument.errors import InstrumentError, check_finite, untrusted
from instrument.harmony.chords import NO_CHORD, Chord, parse_chord, parse_pitch_class
from instrument.paths import MODELS, data_dir

FAMILY = {
    "maj": "maj", "6": "maj", "add9": "maj", "5": "maj",
    "min": "min", "m6": "min", "madd9": "min", "mMaj7": "min",
    "7": "7", "9": "7", "11": "7", "13": "7", "7b9": "7", "7#9": "7",
    "maj7": "maj7", "maj9": "maj7",
    "m7": "m7", "m9": "m7", "m11": "m7",
    "m7b5": "m7b5", "dim": "dim", "dim7": "dim", "aug": "aug",
    "sus4": "sus", "sus2": "sus", "7sus4": "sus",
}  # fmt: skip
FAMILIES = ("maj", "min", "7", "maj7", "m7", "m7b5", "dim", "aug", "sus")
# The chord each family token is written as when a progression becomes a chart.
FAMILY_QUALITY = {"sus": "sus4"}
BOS, EOS = "<s>", "</s>"
VOCAB: tuple[str, ...] = (BOS, EOS) + tuple(f"{r}:{f}" for r in range(12) for f in FAMILIES)
MODEL_DIR = MODELS / "chordlm-gru"


def chord_token(chord: Chord, tonic: int) -> str | None:
    """The token of ``chord`` in a song on ``tonic`` (pitch class); None for no chord."""
    if chord.root is None:
        return None
    return f"{(chord.root - tonic) % 12}:{FAMILY[chord.quality]}"


def token_chord(token: str, tonic: int) -> Chord:
    """The chord a token stands for in the key whose tonic is ``tonic``."""
    rel, fam = token.split(":")
    return Chord((int(rel) + tonic) % 12, FAMILY_QUALITY.get(fam, fam))


def changes(tokens: Sequence[str | None]) -> list[str]:
    """Drop no-chords and collapse repeats: the sequence of chord changes."""
    out: list[str] = []
    for t in tokens:
        if t is not None and (not out or out[-1] != t):
            out.append(t)
    return out


# ---------------------------------------------------------------- corpora


_BB_CHORD = re.compile(r"(?<![\w:])([A-G][#b]?:[^\s|,]+|N)(?=[\s|,])")


def read_billboard(path: Path) -> list[str]:
    """Tokens of one ``salami_chords.txt``; the tonic follows ``# tonic:`` lines."""
    tonic = None
    tokens: list[str | None] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("# tonic:"):
            tonic = parse_pitch_class(line.split(":", 1)[1].strip())
            continue
        if line.startswith("#") or "|" not in line or tonic is None:
            continue
        body = line[line.index("|") : line.rindex("|") + 1] + " "
        labels = _BB_CHORD.findall(body)
        m = re.search(r"\|\s*x(\d+)", line)
        repeat = int(m.group(1)) if m else 1
        for _ in range(repeat):
            for label in labels:
                try:
                    tokens.append(chord_token(parse_chord(label), tonic))
                except InstrumentError:
                    tokens.append(None)
    return changes(tokens)


def read_pop909(folder: Path) -> list[str]:
    """Tokens of one POP909 song: ``chord_midi.txt`` relative to its first key."""
    from instrument.datasets.pop909 import read_spans

    keys = read_spans(folder / "key_audio.txt")
    tonic = parse_pitch_class(keys[0][2].split(":")[0]) if keys else 0
    chords = [parse_chord(label) for _, _, label in read_spans(folder / "chord_midi.txt")]
    return changes([chord_token(c, tonic) for c in chords if c != NO_CHORD])


def billboard_ids(data: str | None = None) -> dict[str, list[str]]:
    """Billboard song ids grouped by (title, artist), so duplicates share a split."""
    root = data_dir(data) / "billboard" / "McGill-Billboard"
    groups: dict[str, list[str]] = {}
    for f in sorted(root.glob("*/salami_chords.txt")):
        head = f.read_text(encoding="utf-8", errors="replace").splitlines()[:2]
        key = "|".join(h.split(":", 1)[-1].strip().lower() for h in head)
        groups.setdefault(key, []).append(f.parent.name)
    return groups


def load_corpus(split: str, data: str | None = None) -> list[list[str]]:
    """Token sequences of one split (train / valid / test) of Billboard + POP909.

    Splits: ``configs/splits/billboard.json`` (made by ``make_billboard_split``) and the
    shared ``configs/splits/pop909.json``.
    """
    from instrument.datasets.splits import split_ids

    root = data_dir(data)
    bb = root / "billboard" / "McGill-Billboard"
    pop = root / "pop909" / "POP909"
    if not bb.is_dir() or not pop.is_dir():
        raise InstrumentError(f"chord data not found under {root} (billboard/, pop909/)")
    seqs = [read_billboard(bb / i / "salami_chords.txt") for i in split_ids("billboard", split)]
    seqs += [read_pop909(pop / i) for i in split_ids("pop909", split)]
    return [s for s in seqs if len(s) >= 2]


def make_billboard_split(data: str | None = None) -> Path:
    """Write ``configs/splits/billboard.json``: 8:1:1 by song (duplicates grouped), seed 0."""
    from instrument.datasets.splits import make_split, split_path

    split = make_split(billboard_ids(data), seed=0)
    path = split_path("billboard")
    method = (
        "8:1:1 by song; songs with the same title and artist are one group; groups shuffled "
        "with numpy default_rng(0) (instrument.datasets.splits.make_split); made by "
        "instrument.harmony.chordlm.make_billboard_split"
    )
    path.write_text(json.dumps({"name": "billboard", "method": method, **split}, indent=1))
    return path


# ---------------------------------------------------------------- models


class ChordLM(ABC):
    """A language model over chord-change tokens (``VOCAB``), as ``suggest`` scores with it."""

    @abstractmethod
    def token_logprobs(self, seq: Sequence[str]) -> list[float]:
        """Natural-log probability of each token of ``seq`` and of the song end after it
        (len(seq) + 1 values)."""

    def batch_logprobs(self, seqs: Sequence[Sequence[str]]) -> list[list[float]]:
        """``token_logprobs`` of each sequence; a model that batches overrides this."""
        return [self.token_logprobs(s) for s in seqs]


class UnigramLM(ChordLM):
    def __init__(self, train: list[list[str]]):
        counts = Counter(t for s in train for t in s + [EOS])
        total = sum(counts.values()) + len(VOCAB) - 1
        self.logp = {t: math.log((counts[t] + 1) / total) for t in VOCAB if t != BOS}

    def token_logprobs(self, seq: Sequence[str]) -> list[float]:
        return [self.logp[t] for t in list(seq) + [EOS]]


class BigramLM(ChordLM):
    """p(b | a) = lam * count(a, b) / count(a) + (1 - lam) * unigram(b)."""

    def __init__(self, train: list[list[str]], lam: float = 0.8):
        self.unigram = UnigramLM(train)
        self.pairs: Counter[tuple[str, str]] = Counter()
        self.firsts: Counter[str] = Counter()
        for s in train:
            seq = [BOS] + s + [EOS]
            self.pairs.update(zip(seq, seq[1:], strict=False))
            self.firsts.update(seq[:-1])
        self.lam = lam

    def tune(self, valid: list[list[str]]) -> float:
        """Pick the interpolation weight with the best validation perplexity."""
        best = min((perplexity(self._with(lam), valid), lam) for lam in (0.5, 0.7, 0.8, 0.9, 0.95))
        self.lam = best[1]
        return self.lam

    def _with(self, lam: float) -> BigramLM:
        self.lam = lam
        return self

    def token_logprobs(self, seq: Sequence[str]) -> list[float]:
        seq = [BOS] + list(seq) + [EOS]
        out = []
        for a, b in zip(seq, seq[1:], strict=False):
            uni = math.exp(self.unigram.logp[b])
            cond = self.pairs[(a, b)] / self.firsts[a] if self.firsts[a] else 0.0
            out.append(math.log(self.lam * cond + (1 - self.lam) * uni))
        return out


def perplexity(model: ChordLM, seqs: list[list[str]]) -> float:
    """exp of the mean negative log-likelihood per token (each song's end included)."""
    total, n = 0.0, 0
    for s in seqs:
        lp = model.token_logprobs(s)
        total -= sum(lp)
        n += len(lp)
    return math.exp(total / n)


class ChordGRU(ChordLM):
    """A GRU chord model; ``torch`` is imported when one is built or loaded."""

    def __init__(self, embed: int = 64, hidden: int = 128, dropout: float = 0.2):
        import torch
        from torch import nn

        self.index = {t: i for i, t in enumerate(VOCAB)}
        self.config = {"embed": embed, "hidden": hidden, "dropout": dropout}

        class Net(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.embed = nn.Embedding(len(VOCAB), embed)
                self.gru = nn.GRU(embed, hidden, batch_first=True)
                self.drop = nn.Dropout(dropout)
                self.out = nn.Linear(hidden, len(VOCAB))

            def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T) -> (B, T, V)
                h, _ = self.gru(self.drop(self.embed(x)))
                return self.out(self.drop(h))

        self.net = Net()
        self.torch = torch

    def encode(self, seq: Sequence[str]) -> list[int]:
        return [self.index[t] for t in [BOS, *seq, EOS]]

    def token_logprobs(self, seq: Sequence[str]) -> list[float]:
        return self.batch_logprobs([seq])[0]

    def batch_logprobs(self, seqs: Sequence[Sequence[str]]) -> list[list[float]]:
        torch = self.torch
        ids = [self.encode(s) for s in seqs]
        width = max(len(i) for i in ids)
        x = torch.zeros(len(ids), width, dtype=torch.long)
        for k, i in enumerate(ids):
            x[k, : len(i)] = torch.tensor(i)
        self.net.eval()
        with torch.no_grad():
            logp = torch.log_softmax(self.net(x[:, :-1]), dim=-1)
            picked = logp.gather(2, x[:, 1:, None])[..., 0]
        return [picked[k, : len(i) - 1].tolist() for k, i in enumerate(ids)]

    def fit(
        self,
        train: list[list[str]],
        valid: list[list[str]],
        epochs: int = 20,
        lr: float = 3e-3,
        batch: int = 64,
        seed: int = 0,
        log=print,
    ) -> list[dict]:
        """Teacher-forced training with Adam; keeps the weights of the best valid epoch."""
        import copy
        import random

        torch = self.torch
        torch.manual_seed(seed)
        rng = random.Random(seed)
        opt = torch.optim.Adam(self.net.parameters(), lr=lr)
        history, best, best_state = [], float("inf"), None
        # truncated backprop through time: windows of 64 predictions (songs are longer)
        seqs = [e[i : i + 65] for e in map(self.encode, train) for i in range(0, len(e) - 1, 64)]
        for epoch in range(epochs):
            self.net.train()
            rng.shuffle(seqs)
            for start in range(0, len(seqs), batch):
                chunk = seqs[start : start + batch]
                width = max(len(s) for s in chunk)
                x = torch.zeros(len(chunk), width, dtype=torch.long)
                mask = torch.zeros(len(chunk), width - 1, dtype=torch.bool)
                for k, s in enumerate(chunk):
                    x[k, : len(s)] = torch.tensor(s)
                    mask[k, : len(s) - 1] = True
                logits = self.net(x[:, :-1])
                loss = torch.nn.functional.cross_entropy(logits[mask], x[:, 1:][mask])
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.net.parameters(), 1.0)
                opt.step()
            ppl = perplexity(self, valid)
            history.append({"epoch": epoch + 1, "valid_ppl": round(ppl, 4)})
            log(f"epoch {epoch + 1}: valid perplexity {ppl:.3f}")
            if ppl < best:
                best, best_state = ppl, copy.deepcopy(self.net.state_dict())
            elif epoch - min(range(len(history)), key=lambda i: history[i]["valid_ppl"]) >= 4:
                break
        self.net.load_state_dict(best_state)
        return history

    def save(self, folder: Path = MODEL_DIR, card: dict | None = None) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        self.torch.save(self.net.state_dict(), folder / "weights.pt")
        (folder / "config.json").write_text(
            json.dumps({**self.config, "vocab": list(VOCAB)}, indent=1)
        )
        if card is not None:
            (folder / "model_card.json").write_text(json.dumps(card, indent=1))
        return folder

    @classmethod
    def load(cls, folder: Path = MODEL_DIR) -> ChordGRU:
        if not (folder / "config.json").is_file():
            raise InstrumentError(f"no chord model in {folder} (no config.json)")
        with untrusted(folder / "config.json", "chord model configuration"):
            config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
            vocab = tuple(config.pop("vocab"))
            if vocab != VOCAB:
                raise InstrumentError(
                    f"{folder / 'config.json'}: a chord model of another vocabulary"
                )
            model = cls(**config)
        with untrusted(folder / "weights.pt", "chord model"):
            state = model.torch.load(folder / "weights.pt", map_location="cpu", weights_only=True)
            check_finite(state)
            model.net.load_state_dict(state)
        model.net.eval()
        return model


def load_trained(folder: Path | None = None) -> ChordGRU:
    """The trained GRU in ``folder`` (default ``MODEL_DIR``); a one-line error when absent."""
    folder = folder or MODEL_DIR
    if not (folder / "weights.pt").exists():
        raise InstrumentError(f"no chord model in {folder}: run `instrument train chordlm`")
    return ChordGRU.load(folder)


def split_hash_safe(name: str) -> str:
    from instrument.datasets.splits import split_hash

    return split_hash(name)


def train_model(
    data: str | None = None,
    epochs: int = 20,
    hidden: int = 128,
    seed: int = 0,
    out: Path | None = None,
    log=print,
) -> tuple[Path, dict]:
    """Fit the GRU on the train splits (best valid epoch kept), score it and the unigram and
    bigram baselines, save it with its model card to ``out`` (default ``MODEL_DIR``).

    Returns (the model folder, {model: {"valid_ppl", "test_ppl"}}).
    """
    from instrument.datasets.splits import split_hash

    train = load_corpus("train", data)
    valid = load_corpus("valid", data)
    test = load_corpus("test", data)
    log(f"songs: train {len(train)}, valid {len(valid)}, test {len(test)}")
    model = ChordGRU(hidden=hidden)
    history = model.fit(train, valid, epochs=epochs, seed=seed)
    unigram = UnigramLM(train)
    bigram = BigramLM(train)
    bigram.tune(valid)
    metrics = {
        name: {
            "valid_ppl": round(perplexity(m, valid), 4),
            "test_ppl": round(perplexity(m, test), 4),
        }
        for name, m in (("gru", model), ("unigram", unigram), ("bigram", bigram))
    }
    n_params = sum(p.numel() for p in model.net.parameters())
    card = {
        "name": "chordlm-gru",
        "task": "next chord change, key-relative (tokens '<semitones above tonic>:<family>')",
        "architecture": f"embedding 64, 1-layer GRU {hidden}, dropout 0.2; {n_params} params",
        "data": {
            "billboard": "McGill Billboard salami_chords.txt (../shared/data/billboard)",
            "pop909": "POP909 chord_midi.txt, tonic from key_audio.txt (../shared/data/pop909)",
        },
        "split": {
            "billboard": f"configs/splits/billboard.json ({split_hash_safe('billboard')})",
            "pop909": f"configs/splits/pop909.json ({split_hash('pop909')})",
            "songs": {"train": len(train), "valid": len(valid), "test": len(test)},
        },
        "metrics": metrics,
        "bigram_lambda": bigram.lam,
        "history": history,
        "seed": seed,
        "machine": "2-core CPU VM (shared), torch CPU, 2 threads",
        "command": f"instrument train chordlm --epochs {epochs} --hidden {hidden} --seed {seed}",
    }
    folder = model.save(out if out is not None else MODEL_DIR, card)
    return folder, metrics
