"""The repository root on ``sys.path``, for the benches run as ``python bench/x.py``.

Python puts ``bench/`` itself first on the path; this adds the root before it, so that a
bench imports this checkout's ``instrument`` and the test rigs it shares with the tests
(``tests.support``). A bench imports it before any of those: ``import _root  # noqa: F401``.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
