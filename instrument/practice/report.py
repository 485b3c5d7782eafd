"""Progress over practice sessions: a text table, trends per exercise, and a PNG plot."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from instrument.practice.history import History, SessionStats


def by_exercise(stats: list[SessionStats]) -> dict[str, list[SessionStats]]:
    """Sessions grouped by exercise (in the order each was first practised), oldest first."""
    out: dict[str, list[SessionStats]] = {}
    for s in stats:
        out.setdefault(s.exercise, []).append(s)
    return out


def trend_line(exercise: str, sessions: list[SessionStats], best=None) -> str:
    """One exercise's trend: first to last score and timing, its best and streak."""
    first, last = sessions[0], sessions[-1]
    text = f"{exercise}: "
    if len(sessions) >= 2:
        text += f"score {first.score:.0%} -> {last.score:.0%} over {len(sessions)} sessions"
        if first.mean_abs_timing_ms is not None and last.mean_abs_timing_ms is not None:
            text += f", timing {first.mean_abs_timing_ms:.0f} -> {last.mean_abs_timing_ms:.0f} ms"
    else:
        text += f"score {last.score:.0%} in 1 session"
    if best is not None:
        days = "day" if best.streak == 1 else "days"
        text += f"; best {best.best:.0%}, streak {best.streak} {days} (longest {best.best_streak})"
    return text


def progress_text(history: History, exercise: str | None = None) -> str:
    """One line per session (oldest first), the trend of each exercise, then the chords
    most often wrong."""
    stats = history.sessions(exercise)
    if not stats:
        what = f" for {exercise!r}" if exercise else ""
        return f"no practice sessions recorded{what} in {history.path}"
    lines = [
        f"{'date':16}  {'exercise':28} {'tempo':>5} {'chords':>6} {'right':>6} "
        f"{'score':>6} {'timing':>7}"
    ]
    for s in stats:
        when = dt.datetime.fromtimestamp(s.started).strftime("%Y-%m-%d %H:%M")
        timing = "-" if s.mean_abs_timing_ms is None else f"{s.mean_abs_timing_ms:.0f} ms"
        flag = "" if s.finished else "  (interrupted)"
        lines.append(
            f"{when:16}  {s.exercise[:28]:28} {s.tempo:5.0f} {s.chords:6d} "
            f"{s.accuracy:6.0%} {s.score:6.0%} {timing:>7}{flag}"
        )
    bests = {b.exercise: b for b in history.bests(exercise)}
    lines.append("trends:")
    for name, sessions in by_exercise(stats).items():
        lines.append("  " + trend_line(name, sessions, bests.get(name)))
    weak = history.weakest_chords(exercise)
    if weak:
        lines.append(
            "chords to work on: " + ", ".join(f"{c} ({acc:.0%} of {n})" for c, n, acc in weak)
        )
    return "\n".join(lines)


def plot_progress(stats: list[SessionStats], path: str | Path, title: str = "") -> Path:
    """``progress_figure`` as a PNG."""
    import matplotlib.pyplot as plt

    fig = progress_figure(stats, title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def progress_figure(stats: list[SessionStats], title: str = ""):
    """Score (%) and mean absolute timing error (ms) per session, a line per exercise (its
    sessions numbered 1, 2, ...): a matplotlib Figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 5), sharex=True)
    groups = by_exercise(stats)
    for name, sessions in groups.items():
        x = list(range(1, len(sessions) + 1))
        ax1.plot(x, [100 * s.score for s in sessions], "o-", label=name)
        timed = [
            (i, s.mean_abs_timing_ms)
            for i, s in zip(x, sessions, strict=True)
            if s.mean_abs_timing_ms is not None
        ]
        ax2.plot([i for i, _ in timed], [t for _, t in timed], "o-", label=name)
    ax1.set_ylabel("score (%)")
    ax1.set_ylim(0, 105)
    ax1.grid(alpha=0.3)
    if len(groups) > 1:
        ax1.legend(fontsize="small")
    ax2.set_ylabel("mean |timing error| (ms)")
    ax2.set_xlabel("session")
    ax2.xaxis.set_major_locator(MaxNLocator(integer=True))  # sessions are whole numbers
    ax2.grid(alpha=0.3)
    ax1.set_title(title or "Practice progress")
    fig.tight_layout()
    return fig
