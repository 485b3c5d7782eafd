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

import datetime as dt
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
# Version 1 (PRAGMA user_version): close calls (half credit) and each exercise's best score
# and streak. Databases of version 0 are migrated when opened.
SCHEMA_VERSION = 1
MIGRATE_1 = """
ALTER TABLE attempts ADD COLUMN close INTEGER NOT NULL DEFAULT 0;  -- nearly right
CREATE TABLE IF NOT EXISTS bests (
    exercise TEXT PRIMARY KEY,
    best REAL NOT NULL,              -- best score of a finished session (0..1, close = half)
    best_session INTEGER,
    streak INTEGER NOT NULL,         -- days in a row with a finished session, to last_day
    best_streak INTEGER NOT NULL,
    last_day TEXT NOT NULL           -- local date of the last finished session, YYYY-MM-DD
);
"""
COLUMNS = {
    "sessions": {"id", "exercise", "title", "started", "tempo", "wait", "ended"},
    "attempts": {"id", "session", "target", "attempt", "expected", "played", "played_chord",
                 "correct", "missing", "extra", "timing_ms", "time"},
}  # fmt: skip


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
    score: float = 0.0  # accuracy with half credit for close calls


@dataclass(frozen=True)
class ExerciseBest:
    """An exercise's record: best score of a finished session, and the day streak."""

    exercise: str
    best: float
    best_session: int | None
    streak: int
    best_streak: int
    last_day: str


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
            self._migrate()
            # Damaged pages a query might not touch today would fail a later write.
            check = self.db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise ValueError(f"integrity check failed: {check}")

    def _migrate(self) -> None:
        """Bring a database of an older version up to ``SCHEMA_VERSION``, in one
        transaction; refuse one that is not a practice history or is from a newer version
        (ValueError: the caller's ``untrusted`` makes it one line)."""
        db = self.db
        for table, need in COLUMNS.items():
            have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
            if not need <= have:
                missing = ", ".join(sorted(need - have))
                raise ValueError(f"table {table} lacks columns {missing}: not a practice history")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if not 0 <= version <= SCHEMA_VERSION:
            raise ValueError(f"schema version {version}, this program knows up to {SCHEMA_VERSION}")
        if version == SCHEMA_VERSION:
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            have = {r[1] for r in db.execute("PRAGMA table_info(attempts)")}
            for stmt in MIGRATE_1.split(";"):
                if stmt.strip() and not ("ADD COLUMN close" in stmt and "close" in have):
                    db.execute(stmt)
            finished = db.execute(
                "SELECT id FROM sessions WHERE ended IS NOT NULL ORDER BY ended, id"
            ).fetchall()
            for (sid,) in finished:
                self._update_best(sid)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

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
                " correct, missing, extra, timing_ms, time, close)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
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
                    int(result.close),
                ),
            )

    def end_session(self, session: int) -> None:
        """Mark the session finished and update its exercise's best score and streak."""
        with self._tx():
            self.db.execute("UPDATE sessions SET ended = ? WHERE id = ?", (time.time(), session))
            self._update_best(session)

    def _update_best(self, session: int) -> None:
        """Fold one finished session into ``bests`` (inside the caller's transaction)."""
        row = self.db.execute(
            "SELECT s.exercise, s.ended, COUNT(a.id), SUM(a.correct + 0.5 * (a.close AND NOT"
            " a.correct)) FROM sessions s JOIN attempts a ON a.session = s.id AND a.attempt = 1"
            " WHERE s.id = ? GROUP BY s.id",
            (session,),
        ).fetchone()
        if row is None or not row[2] or not isinstance(row[1], (int, float)):
            return  # nothing judged, or an end time that is no time
        exercise, ended, n, points = row
        score = float(points or 0) / n
        day = dt.date.fromtimestamp(ended)
        old = self.db.execute(
            "SELECT best, best_session, streak, best_streak, last_day FROM bests"
            " WHERE exercise = ?",
            (exercise,),
        ).fetchone()
        if old is None:
            best, best_session, streak, best_streak = score, session, 1, 1
        else:
            best, best_session, streak, best_streak, last = old
            try:
                gap = (day - dt.date.fromisoformat(str(last))).days
            except ValueError:
                gap = 2  # a day we cannot read: the streak starts again
            streak = streak if gap == 0 else (streak + 1 if gap == 1 else 1)
            best_streak = max(best_streak, streak)
            if score > best:
                best, best_session = score, session
        self.db.execute(
            "INSERT OR REPLACE INTO bests (exercise, best, best_session, streak, best_streak,"
            " last_day) VALUES (?,?,?,?,?,?)",
            (exercise, best, best_session, streak, best_streak, day.isoformat()),
        )

    def bests(self, exercise: str | None = None) -> list[ExerciseBest]:
        """Each exercise's best score and streak (the ones finished at least once)."""
        where, params = ("WHERE exercise = ?", (exercise,)) if exercise else ("", ())
        with untrusted(self.path, "practice history database"):
            rows = self.db.execute(
                "SELECT exercise, best, best_session, streak, best_streak, last_day FROM bests"
                f" {where} ORDER BY exercise",
                params,
            ).fetchall()
        return [
            ExerciseBest(str(r[0]), float(r[1]), r[2], int(r[3]), int(r[4]), str(r[5]))
            for r in rows
        ]

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
                   COUNT(a.id), COALESCE(SUM(a.correct), 0), AVG(ABS(a.timing_ms)),
                   COALESCE(SUM(a.correct + 0.5 * (a.close AND NOT a.correct)), 0)
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
            score=(float(r[9]) / r[6]) if r[6] else 0.0,
        )

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
