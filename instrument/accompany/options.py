"""The band's options (``jam``, ``accompany``, the soak) and the planner they describe.

``BandOptions`` is what ``--style``, ``--model``, ``--continue-beats`` ... say
(``cli.options.add_band_options``); ``make_planner`` builds the ``BandPlanner`` from them,
loading the model for the model style.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from instrument.errors import InstrumentError, one_line
from instrument.paths import MODELS

DEFAULT_MODEL = MODELS / "accompany-lstm.pt"


@dataclass
class BandOptions:
    """style: ``model``, or a rule-based style's name (``accompany.styles``). rules: the
    rule-based style that plays drums, intro, ending and late plans beside the model.
    model: the model's weights. continue_beats: beats the band continues the player's
    phrase for (0: off), after continue_after beats of silence. temperature, top_k,
    top_p, seed: the model's sampling. drums: the drum groove. intro: bars. count_in:
    bars, None: the command's default (none offline; ``live.jam``: a bar before a chart)."""

    style: str = "model"
    rules: str = "block"
    model: str = str(DEFAULT_MODEL)
    continue_beats: int = 8
    continue_after: float = 1.0
    temperature: float = 0.5
    top_k: int = 64
    top_p: float = 0.9
    seed: int = 0
    drums: bool = True
    intro: int = 0
    count_in: int | None = None


def make_planner(options: BandOptions, chords, beats_per_bar: int):
    """The ``BandPlanner`` the options describe, and the style as it plays (the model's,
    or the rule-based ``rules`` when the shipped model is unusable: said on stderr and in
    the returned name). A model named by ``options.model`` other than the shipped one
    must load (else ``InstrumentError``)."""
    from instrument.accompany.planner import BandPlanner, Sections
    from instrument.accompany.styles import make_style

    generator = None
    style_name = options.style
    if options.style == "model":
        import torch

        from instrument.accompany.generator import ModelGenerator
        from instrument.accompany.model import load_model

        torch.set_num_threads(1)
        try:
            model = load_model(options.model)
        except InstrumentError as e:
            # The shipped model may fall back to the rule-based style (and says so, also
            # on the status line through the style's name); a model named must work.
            if Path(options.model) != DEFAULT_MODEL:
                raise
            print(
                f"instrument: warning: {one_line(e)}; falling back to the rule-based "
                f"style {options.rules}",
                file=sys.stderr,
            )
            style_name = f"{options.rules} (fallback: model unusable)"
            model = None
        if model is not None:
            generator = ModelGenerator(
                model,
                temperature=options.temperature,
                top_k=options.top_k,
                top_p=options.top_p,
                seed=options.seed,
            )
        style = make_style(options.rules)
    else:
        style = make_style(options.style)
    if options.continue_beats < 0:
        raise InstrumentError("--continue-beats must be 0 or more")
    planner = BandPlanner(
        chords,
        beats_per_bar,
        style,
        generator,
        sections=Sections(beats_per_bar, intro_bars=options.intro),
        continue_after=options.continue_after,
        continue_beats=options.continue_beats,
        drums=options.drums,
        count_in=(options.count_in or 0) * beats_per_bar,
    )
    return planner, style_name
