"""Writing measured figures into the shared Markdown reports (docs/results.md, benchmarks.md).

Each producer owns one section, fenced by HTML comments, and rewrites only that section,
so several evaluations can update one file without clobbering each other.
"""

from __future__ import annotations

import datetime
import os
import platform
import re
from pathlib import Path

from instrument.paths import DOCS


def write_section(filename: str, key: str, markdown: str) -> Path:
    """Replace (or append) the section ``key`` of ``docs/<filename>`` with ``markdown``."""
    path = DOCS / filename
    begin, end = f"<!-- BEGIN {key} -->", f"<!-- END {key} -->"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    text = path.read_text() if path.exists() else f"# {Path(filename).stem.capitalize()}\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def run_line(script: str, argv: list[str]) -> str:
    """How a bench was run, for its section: the command, the date, the machine and its
    CPUs (``script``: its path from the repository root; ``argv``: its arguments)."""
    command = " ".join([".venv/bin/python", script, *argv])
    return f"`{command}`, {datetime.date.today()}, {platform.node()} ({os.cpu_count()} CPUs)"


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    """A GitHub-flavoured Markdown table; floats get 4 significant decimals."""

    def cell(v: object) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
