"""The neural arrangers' torch models and their checkpoint files (``models/<ensemble>-*.pt``).

OnlineLSTM (causal): pitch embedding + online features (``features.online_features``)
-> unidirectional LSTM -> one logit per part. Live it runs one step per note through
``fast.FastLSTM``; torch is only needed to train it and to load the checkpoint.

OfflineBiLSTM (whole files): pitch embedding + offline features -> bidirectional LSTM.

A checkpoint is ``{"kind", "config", "state_dict", "card"}``; the card (also written
beside it as JSON) records data, split, hyper-parameters, metrics and the command.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from instrument.arrange import features as F
from instrument.errors import InstrumentError, check_finite, untrusted


class OnlineLSTM(nn.Module):
    def __init__(self, n_parts: int, hidden: int = 128, layers: int = 2, embed: int = 16):
        super().__init__()
        self.n_parts, self.n_features = n_parts, F.n_online_features(n_parts)
        self.embed = nn.Embedding(128, embed)
        self.lstm = nn.LSTM(embed + self.n_features, hidden, layers, batch_first=True)
        self.out = nn.Linear(hidden, n_parts)

    def forward(self, pitch: torch.Tensor, feats: torch.Tensor, state=None):
        """pitch (B, T) int64, feats (B, T, F) -> logits (B, T, P), new LSTM state."""
        x = torch.cat([self.embed(pitch), feats], dim=-1)
        y, state = self.lstm(x, state)
        return self.out(y), state


class OfflineBiLSTM(nn.Module):
    """decode: "argmax" (each note on its own) or "groups" (one note per part per onset
    group, ``decode.decode_groups``); kept in the checkpoint's config."""

    def __init__(
        self,
        n_parts: int,
        hidden: int = 128,
        layers: int = 2,
        embed: int = 16,
        decode: str = "argmax",
    ):
        super().__init__()
        self.n_parts, self.n_features = n_parts, F.N_OFFLINE
        self.decode = decode
        self.embed = nn.Embedding(128, embed)
        self.lstm = nn.LSTM(
            embed + F.N_OFFLINE, hidden, layers, batch_first=True, bidirectional=True
        )
        self.out = nn.Linear(2 * hidden, n_parts)

    def forward(self, pitch: torch.Tensor, feats: torch.Tensor, state=None):
        x = torch.cat([self.embed(pitch), feats], dim=-1)
        y, state = self.lstm(x, state)
        return self.out(y), state

    @torch.no_grad()
    def predict(self, pitch: np.ndarray, time: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Parts of a whole piece's notes (sorted by onset, then pitch)."""
        from instrument.arrange.decode import decode_groups

        feats = torch.from_numpy(F.offline_features(time, end, pitch))[None]
        logits, _ = self(torch.from_numpy(pitch)[None], feats)
        if self.decode == "groups":
            return decode_groups(logits[0].numpy(), time)
        return logits[0].argmax(-1).numpy()


DECODINGS = ("argmax", "groups")
KINDS = {"lstm": OnlineLSTM, "bilstm": OfflineBiLSTM}


def build(kind: str, n_parts: int, config: dict) -> nn.Module:
    args = (n_parts, config["hidden"], config["layers"], config["embed"])
    if kind == "bilstm":
        decode = config.get("decode", "argmax")  # checkpoints before decoding: argmax
        if decode not in DECODINGS:
            raise ValueError(f"unknown decoding {decode!r}")
        return OfflineBiLSTM(*args, decode=decode)
    return KINDS[kind](*args)


def save(path: Path, kind: str, model: nn.Module, config: dict, card: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    torch.save({"kind": kind, "config": config, "state_dict": state, "card": card}, path)
    path.with_suffix(".json").write_text(json.dumps(card, indent=1) + "\n")


def load(path: Path, kind: str, n_parts: int) -> tuple[nn.Module, dict, dict]:
    """(model in eval mode, config, card); InstrumentError for a missing or unusable file."""
    if not path.exists():
        raise InstrumentError(f"no trained model {path} (train it: instrument train arrange)")
    with untrusted(path, f"{kind} arranger model"):
        # TorchVersion: cards written before the version was stored as a plain string
        with torch.serialization.safe_globals([torch.torch_version.TorchVersion]):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
        if ckpt["kind"] != kind:
            raise ValueError(f"it holds a {ckpt['kind']!r} model, not {kind!r}")
        model = build(kind, n_parts, ckpt["config"])
        check_finite(ckpt["state_dict"])
        model.load_state_dict(ckpt["state_dict"])
        card = ckpt.get("card", {})
        if not isinstance(card, dict):
            raise ValueError("its model card is not a table")
    model.eval()
    return model, ckpt["config"], card


def parts_of_checkpoint(path: Path) -> int:
    """How many parts the model in checkpoint ``path`` assigns to (its output rows)."""
    with untrusted(path, "arranger model"):
        with torch.serialization.safe_globals([torch.torch_version.TorchVersion]):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
        return int(ckpt["state_dict"]["out.weight"].shape[0])


def remap_parts(state: dict, source: list[int], embed: int) -> dict:
    """An online LSTM's weights for another ensemble: new part k starts from old part
    ``source[k]`` (its per-part input features and its output row).

    state: an ``OnlineLSTM`` state dict; embed: its pitch-embedding size. A part that
    repeats an old part already used keeps that part's output row (its bias one lower,
    so at first it is chosen less often) but zero input weights, so that the copied
    part's history is not counted twice. Used to warm-start the pop band (Lead, Strings,
    Piano, Bass) from the POP909 model (Melody, Bridge, Piano): Bass starts as a Piano.
    """
    out = dict(state)
    w = state["lstm.weight_ih_l0"]  # (4 hidden, embed + N_GLOBAL + N_PER_PART * n_old)
    head = embed + F.N_GLOBAL
    n_old = state["out.weight"].shape[0]
    if w.shape[1] != head + F.N_PER_PART * n_old or not all(0 <= k < n_old for k in source):
        raise InstrumentError(f"cannot map {n_old} parts by {source}")
    blocks, seen = [w[:, :head]], set()
    for k in source:
        block = w[:, head + F.N_PER_PART * k : head + F.N_PER_PART * (k + 1)]
        blocks.append(torch.zeros_like(block) if k in seen else block)
        seen.add(k)
    out["lstm.weight_ih_l0"] = torch.cat(blocks, dim=1)
    out["out.weight"] = state["out.weight"][source].clone()
    bias = state["out.bias"][source].clone()
    repeated = torch.tensor([k in source[:i] for i, k in enumerate(source)])
    out["out.bias"] = bias - repeated.to(bias.dtype)
    return out


def numpy_weights(model: nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
