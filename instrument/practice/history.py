"""Practice history in an embedded SQLite database (stdlib ``sqlite3``, no server).

One row per session and one per judged chord. The database runs in WAL mode with
``synchronous=FULL`` and every attempt is committed in its own transaction the moment it
is judged, so a session that is killed loses nothing already shown to the player and
leaves no half-written rows: statistics are computed from the attempts, not from a
session summary that a killed process never writes.

Default location: ``<state_dir>/practice.sqlite`` (``$INSTRUMENT_HOME`` or
~/.local/share/instrument).
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from instrument.errors import untrusted
from instrument.harmony.chords import PITCH_NAMES
from instrument.paths import state_dir
from instrument.practice.engine import ChordResult

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    exercise TEXT NOT NULL,          -- chart name or path
    title TEXT NOT NULL,
    started REAL NOT NULL,           -- unix time
    tempo REAL NOT NULL,             -- played tempo (BPM, after scaling)
    wait INTEGER NOT NULL,
    ended REAL                       -- NULL if the session never finished cleanly
);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    session INTEGER NOT NULL REFERENCES sessions(id),
    target INTEGER NOT NULL,         -- index of the chord in the session
    attempt INTEGER NOT NULL,        -- 1 = first try (wait mode may retry)
    expected TEXT NOT NULL,          -- chord name
    played TEXT NOT NULL,            -- MIDI pitches, space separated ('' = missed)
    played_chord TEXT,               -- name of what was played
    correct INTEGER NOT NULL,
    missing TEXT NOT NULL,           -- pitch class names
    extra TEXT NOT NULL,
    timing_ms REAL,                  -- + late, - early; NULL when missed
    time REAL NOT NULL,              -- unix time recorded
    UNIQUE (session, target, attempt)
);
CREATE INDEX IF NOT EXISTS attempts_session ON attempts(session);
"""


@dataclass(frozen=True)
class SessionStats:
    id: int
    exercise: str
    title: str
    started: float
    tempo: float
    chords: int
    correct: int
    accuracy: float
    mean_abs_timing_ms: float | None
    finished: bool


def default_path() -> Path:
    return state_dir() / "practice.sqlite"


class History:
    """An open history database. Use as a context manager or call ``close``."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path else default_path()
        with untrusted(self.path, "practice history database"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=10)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.executescript(SCHEMA)
            # Damaged pages a query might not touch today would fail a later write.
            check = self.db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise ValueError(f"integrity check failed: {check}")

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def start_session(self, exercise: str, title: str, tempo: float, wait: bool) -> int:
        with self._tx():
            cur = self.db.execute(
                "INSERT INTO sessions (exercise, title, started, tempo, wait) VALUES (?,?,?,?,?)",
                (exercise, title, time.time(), tempo, int(wait)),
            )
        return int(cur.lastrowid)

    def record(self, session: int, result: ChordResult) -> None:
        """Store one judged chord, committed before this returns."""

        def names(pcs: frozenset[int]) -> str:
            return " ".join(PITCH_NAMES[pc] for pc in sorted(pcs))

        with self._tx():
            self.db.execute(
                "INSERT INTO attempts (session, target, attempt, expected, played, played_chord,"
                " correct, missing, extra, timing_ms, time) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    session,
                    result.target.index,
                    result.attempt,
                    result.target.chord.name,
                    " ".join(map(str, result.played)),
                    result.played_chord.name if result.played_chord else None,
                    int(result.correct),
                    names(result.missing),
                    names(result.extra),
                    result.timing_ms,
                    time.time(),
                ),
            )

    def end_session(self, session: int) -> None:
        with self._tx():
            self.db.execute("UPDATE sessions SET ended = ? WHERE id = ?", (time.time(), session))

    def _tx(self):
        """A BEGIN IMMEDIATE ... COMMIT transaction (ROLLBACK on error)."""
        db = self.db

        class _Tx:
            def __enter__(self):
                db.execute("BEGIN IMMEDIATE")

            def __exit__(self, exc_type, *_):
                db.execute("ROLLBACK" if exc_type else "COMMIT")

        return _Tx()

    def sessions(self, exercise: str | None = None) -> list[SessionStats]:
        """Per-session statistics from the first attempt at each chord, oldest first."""
        query = """
            SELECT s.id, s.exercise, s.title, s.started, s.tempo, s.ended IS NOT NULL,
                   COUNT(a.id), COALESCE(SUM(a.correct), 0), AVG(ABS(a.timing_ms))
            FROM sessions s LEFT JOIN attempts a ON a.session = s.id AND a.attempt = 1
            {where} GROUP BY s.id ORDER BY s.started, s.id
        """
        where, params = ("WHERE s.exercise = ?", (exercise,)) if exercise else ("", ())
        with untrusted(self.path, "practice history database"):
            rows = self.db.execute(query.format(where=where), params).fetchall()
            return [self._stats(r) for r in rows if r[6] > 0]

    @staticmethod
    def _stats(r: tuple) -> SessionStats:
        return SessionStats(
            id=r[0],
            exercise=r[1],
            title=r[2],
            started=r[3],
            tempo=r[4],
            finished=bool(r[5]),
            chords=r[6],
            correct=r[7],
            accuracy=(r[7] / r[6]) if r[6] else 0.0,
            mean_abs_timing_ms=r[8],
        )  # fmt: skip

    def attempts(self, session: int) -> list[tuple]:
        with untrusted(self.path, "practice history database"):
            return self.db.execute(
                "SELECT target, attempt, expected, played, correct, timing_ms FROM attempts"
                " WHERE session = ? ORDER BY id",
                (session,),
            ).fetchall()

    def weakest_chords(
        self, exercise: str | None = None, n: int = 5
    ) -> list[tuple[str, int, float]]:
        """(chord, tries, accuracy) of the chords most often wrong, worst first."""
        where = "WHERE a.attempt = 1" + (" AND s.exercise = ?" if exercise else "")
        params = (exercise,) if exercise else ()
        with untrusted(self.path, "practice history database"):
            rows = self.db.execute(
                "SELECT a.expected, COUNT(*), AVG(a.correct) FROM attempts a"
                f" JOIN sessions s ON s.id = a.session {where} GROUP BY a.expected"
                " HAVING AVG(a.correct) < 1 ORDER BY AVG(a.correct), a.expected LIMIT ?",
                (*params, n),
            ).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]
