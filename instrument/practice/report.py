"""Progress over practice sessions: a text table and a PNG plot of accuracy and timing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from instrument.practice.history import History, SessionStats


def progress_text(history: History, exercise: str | None = None) -> str:
    """One line per session (oldest first), then the chords most often wrong."""
    stats = history.sessions(exercise)
    if not stats:
        what = f" for {exercise!r}" if exercise else ""
        return f"no practice sessions recorded{what} in {history.path}"
    lines = [f"{'date':16}  {'exercise':28} {'tempo':>5} {'chords':>6} {'right':>6} {'timing':>7}"]
    for s in stats:
        when = dt.datetime.fromtimestamp(s.started).strftime("%Y-%m-%d %H:%M")
        timing = "-" if s.mean_abs_timing_ms is None else f"{s.mean_abs_timing_ms:.0f} ms"
        flag = "" if s.finished else "  (interrupted)"
        lines.append(
            f"{when:16}  {s.exercise[:28]:28} {s.tempo:5.0f} {s.chords:6d} "
            f"{s.accuracy:6.0%} {timing:>7}{flag}"
        )
    if len(stats) >= 2:
        first, last = stats[0], stats[-1]
        lines.append(
            f"accuracy {first.accuracy:.0%} -> {last.accuracy:.0%} over {len(stats)} sessions"
        )
    weak = history.weakest_chords(exercise)
    if weak:
        lines.append(
            "chords to work on: " + ", ".join(f"{c} ({acc:.0%} of {n})" for c, n, acc in weak)
        )
    return "\n".join(lines)


def plot_progress(stats: list[SessionStats], path: str | Path, title: str = "") -> Path:
    """Accuracy (%) and mean absolute timing error (ms) per session, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = list(range(1, len(stats) + 1))
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 5), sharex=True)
    ax1.plot(x, [100 * s.accuracy for s in stats], "o-", color="tab:green")
    ax1.set_ylabel("chords right (%)")
    ax1.set_ylim(0, 105)
    ax1.grid(alpha=0.3)
    timing = [s.mean_abs_timing_ms for s in stats]
    ax2.plot(
        [i for i, t in zip(x, timing, strict=False) if t is not None],
        [t for t in timing if t is not None],
        "o-",
        color="tab:orange",
    )
    ax2.set_ylabel("mean |timing error| (ms)")
    ax2.set_xlabel("session")
    ax2.grid(alpha=0.3)
    ax1.set_title(title or "Practice progress")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
