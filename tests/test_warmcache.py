"""setup.sh's last step (``instrument.live.warmcache``): it compiles the live path into
numba's cache, and an ensemble whose model cannot be loaded costs a line, not the set-up."""

from __future__ import annotations

import instrument.arrange as arrange
from instrument.errors import InstrumentError
from instrument.live import warmcache


def test_a_damaged_model_is_one_line_and_the_rest_is_compiled(monkeypatch, capsys):
    made = []
    real = arrange.make_arranger

    def make(name: str, ensemble):
        if ensemble.name == "pop":
            raise InstrumentError("model for 'pop' is damaged\n(truncated)")
        made.append(ensemble.name)
        return real(name, ensemble)

    monkeypatch.setattr(arrange, "make_arranger", make)
    assert warmcache.main() == 0
    err = capsys.readouterr().err.splitlines()
    assert "setup: pop: model for 'pop' is damaged (truncated)" in err
    assert sorted(made) == ["choir", "pop909", "quartet"]
    assert err[-1].startswith("setup: the live path is in numba's cache")
