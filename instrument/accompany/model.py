"""The chord-aware accompaniment model: an LSTM over the beat-by-beat event stream.

Input at each position is the token's embedding plus a projection of its condition vector
(chord now, next chord, beat in bar, sixteenth in beat; see ``tokens``). Output is the
distribution of the next token. Small on purpose (about 1.6 M parameters, stored in
half precision): it must plan a beat in a few milliseconds on a laptop CPU.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from instrument.accompany.tokens import COND_DIM, VOCAB
from instrument.errors import InstrumentError, check_finite, untrusted


class AccompanyLSTM(nn.Module):
    def __init__(
        self,
        vocab: int = VOCAB,
        cond_dim: int = COND_DIM,
        d_model: int = 256,
        n_layers: int = 2,
        dropout: float = 0.1,
    ):
        super().__init__()
        self.config = dict(
            vocab=vocab, cond_dim=cond_dim, d_model=d_model, n_layers=n_layers, dropout=dropout
        )
        self.embed = nn.Embedding(vocab, d_model)
        self.cond = nn.Linear(cond_dim, d_model)
        self.lstm = nn.LSTM(
            d_model, d_model, n_layers, batch_first=True, dropout=dropout if n_layers > 1 else 0.0
        )
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(d_model, vocab)

    def forward(
        self,
        tokens: torch.Tensor,
        cond: torch.Tensor,
        state: tuple[torch.Tensor, torch.Tensor] | None = None,
    ):
        """tokens: long (B, T); cond: float (B, T, cond_dim) -> logits (B, T, vocab), state."""
        x = self.drop(self.embed(tokens) + self.cond(cond))
        y, state = self.lstm(x, state)
        return self.head(self.drop(y)), state

    def loss(self, tokens: torch.Tensor, cond: torch.Tensor, targets: torch.Tensor):
        """Mean cross-entropy over targets that are not PAD (0)."""
        logits, _ = self(tokens, cond)
        return F.cross_entropy(
            logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=0
        )

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def sample(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
) -> int:
    """One token from 1-D ``logits`` with temperature, top-k and nucleus (top-p) sampling.

    Only the ``top_k`` most likely tokens (all when 0) are candidates; of those, the
    smallest set whose probability reaches ``top_p``. Temperature 0 picks the most likely.
    """
    if temperature <= 0:
        return int(torch.argmax(logits))
    if top_k and top_k < logits.numel():
        values, index = torch.topk(logits, top_k)
    else:
        values, index = torch.sort(logits, descending=True)
    probs = torch.softmax(values / temperature, -1)
    if top_p < 1.0:
        probs = probs * ((torch.cumsum(probs, 0) - probs) < top_p)  # always keeps the first
    return int(index[torch.multinomial(probs, 1, generator=generator)])


class Stepper:
    """The model one token at a time, lean enough for a real-time planner.

    The first layer's input projection is folded into lookup tables: for a token ``t`` and
    a condition ``c`` the input gates are ``E[t] + c @ Wc`` with ``E = embed @ W_ih^T`` (one
    row per token), so a step costs one recurrent matrix-vector product per layer and the
    output layer. Same numbers as ``AccompanyLSTM.forward`` in eval mode.
    """

    def __init__(self, model: AccompanyLSTM):
        lstm = model.lstm
        with torch.no_grad():
            w0 = lstm.weight_ih_l0
            self.token_gates = model.embed.weight @ w0.T + lstm.bias_ih_l0 + lstm.bias_hh_l0
            self.cond_w = model.cond.weight.T @ w0.T  # (cond_dim, 4d)
            self.cond_b = model.cond.bias @ w0.T
            self.w_hh = [
                getattr(lstm, f"weight_hh_l{k}").T.contiguous() for k in range(lstm.num_layers)
            ]
            self.w_ih = [None] + [
                getattr(lstm, f"weight_ih_l{k}").T.contiguous() for k in range(1, lstm.num_layers)
            ]
            self.bias = [None] + [
                getattr(lstm, f"bias_ih_l{k}") + getattr(lstm, f"bias_hh_l{k}")
                for k in range(1, lstm.num_layers)
            ]
            self.head_w = model.head.weight.T.contiguous()
            self.head_b = model.head.bias.clone()

    def cond_gates(self, cond: torch.Tensor) -> torch.Tensor:
        """(n, cond_dim) conditions -> (n, 4d) first-layer input gates."""
        return cond @ self.cond_w + self.cond_b

    def step(self, token: int, cond_gates: torch.Tensor, state):
        """Advance one token; ``state`` is (h, c) shaped (layers, 1, d) as nn.LSTM returns.

        Returns (logits (vocab,), new state)."""
        h, c = state
        x = self.token_gates[token] + cond_gates
        hs, cs = [], []
        for k in range(len(self.w_hh)):
            gates = (x if k == 0 else x @ self.w_ih[k] + self.bias[k]) + h[k, 0] @ self.w_hh[k]
            i, f, g, o = gates.chunk(4)
            ck = torch.sigmoid(f) * c[k, 0] + torch.sigmoid(i) * torch.tanh(g)
            hk = torch.sigmoid(o) * torch.tanh(ck)
            hs.append(hk)
            cs.append(ck)
            x = hk
        logits = x @ self.head_w + self.head_b
        return logits, (torch.stack(hs)[:, None], torch.stack(cs)[:, None])


def save_model(model: AccompanyLSTM, path: Path, card: dict) -> None:
    """Weights in half precision (``.pt``) and the model card beside them (``.json``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    torch.save({"config": model.config, "state": state}, path)
    path.with_suffix(".json").write_text(json.dumps(card, indent=1) + "\n")


def load_model(path: str | Path) -> AccompanyLSTM:
    """The band's model from ``path``; InstrumentError for a file it cannot use.

    A checkpoint that unpickles is still checked: every weight finite, and a probe
    sequence through every token gives finite logits (a few flipped bytes in the weights
    load cleanly and then make sampling fail mid-song).
    """
    p = Path(path)
    if not p.exists():
        raise InstrumentError(
            f"accompaniment model not found: {p} (train it: instrument train accompany)"
        )
    with untrusted(p, "accompaniment model"):
        blob = torch.load(p, map_location="cpu", weights_only=True)
        state = {k: v.float() for k, v in blob["state"].items()}
        check_finite(state)
        model = AccompanyLSTM(**blob["config"])
        model.load_state_dict(state)
        model.eval()
        probe_logits(model)
    return model


def probe_logits(model: AccompanyLSTM) -> None:
    """ValueError unless every token, after every other, under a zero and a busy
    condition, gives finite logits (weights that are finite can still overflow)."""
    vocab, cond_dim = model.config["vocab"], model.config["cond_dim"]
    tokens = torch.arange(vocab)[None]
    with torch.no_grad():
        for level in (0.0, 1.0):
            logits, _ = model(tokens, torch.full((1, vocab, cond_dim), level))
            if not bool(torch.isfinite(logits).all()):
                raise ValueError("its output on a probe sequence is not finite (damaged?)")
