"""The history file: SQLite, its schema written by numbered migrations.

A file is refused (UsageError, exit 2), never half read, when it is not a
regular file, is larger than :data:`MAX_DB_BYTES`, is not SQLite, is another
program's database (``PRAGMA application_id``), has a schema other than the
one the migrations make, fails ``PRAGMA quick_check``, or was written by a
newer relbuild. An older one is upgraded in one transaction. Writers take
the write lock up front (``BEGIN IMMEDIATE``) and the file is in WAL mode
with a busy timeout, so two relbuild processes may add at the same time.
"""

from __future__ import annotations

import functools
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from relbuild.errors import UsageError

APP_ID = 0x72656C62  # "relb"
MAX_DB_BYTES = 256 * 1024 * 1024
BUSY_MS = 30_000
HEADER = b"SQLite format 3\x00"

# Each entry moves the schema one version up; never edit one that shipped.
MIGRATIONS: tuple[str, ...] = (
    # 1: releases and their artifacts
    """
    CREATE TABLE relbuild_schema (version INTEGER NOT NULL) STRICT;
    CREATE TABLE releases (
        id INTEGER PRIMARY KEY,
        project TEXT NOT NULL,
        version TEXT NOT NULL,
        revision TEXT,
        dirty INTEGER NOT NULL,
        source_date_epoch INTEGER NOT NULL,
        manifest_sha256 TEXT NOT NULL UNIQUE,
        manifest BLOB NOT NULL,
        machine TEXT,
        build_seconds REAL,
        build_cpu REAL,
        checksum_seconds REAL
    ) STRICT;
    CREATE UNIQUE INDEX releases_version ON releases (project, version);
    CREATE TABLE artifacts (
        release_id INTEGER NOT NULL REFERENCES releases (id),
        path TEXT NOT NULL,
        target TEXT,
        component TEXT,
        kind TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        flash INTEGER,
        ram INTEGER,
        flash_budget INTEGER,
        ram_budget INTEGER
    ) STRICT;
    CREATE INDEX artifacts_release ON artifacts (release_id);
    """,
    # 2: each step's wall and CPU time, the checksum's CPU time, the machine's facts
    """
    CREATE TABLE steps (
        release_id INTEGER NOT NULL REFERENCES releases (id),
        target TEXT NOT NULL,
        component TEXT NOT NULL,
        tool TEXT NOT NULL,
        seconds REAL NOT NULL,
        cpu_seconds REAL NOT NULL
    ) STRICT;
    CREATE INDEX steps_release ON steps (release_id);
    ALTER TABLE releases ADD COLUMN checksum_cpu REAL;
    ALTER TABLE releases ADD COLUMN machine_json TEXT;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def _refuse(path: Path, why: str) -> UsageError:
    return UsageError(
        f"{path}: {why}; not a usable relbuild history",
        hint="Point --db (or [history] db) at a history relbuild wrote, or at a new file.",
    )


@functools.cache
def expected_schema(version: int = SCHEMA_VERSION) -> tuple[tuple[str, str, str], ...]:
    """(type, name, sql) of every table and index the migrations make."""
    con = sqlite3.connect(":memory:")
    try:
        for script in MIGRATIONS[:version]:
            con.executescript(script)
        return _schema(con)
    finally:
        con.close()


def _schema(con: sqlite3.Connection) -> tuple[tuple[str, str, str], ...]:
    rows = con.execute(
        "SELECT type, name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name"
    ).fetchall()
    return tuple((str(t), str(n), str(s)) for t, n, s in rows)


def _check_file(path: Path, create: bool) -> bool:
    """Is there a file to open (True), or one to create (False)?"""
    try:
        st = path.lstat()
    except FileNotFoundError:
        if not create:
            raise UsageError(
                f"{path}: no release history here",
                hint="`relbuild history add DIST` starts one.",
            ) from None
        return False
    except OSError as exc:
        raise _refuse(path, f"cannot read: {exc.strerror}") from None
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
        raise _refuse(path, "not a regular file")
    if st.st_size > MAX_DB_BYTES:
        raise _refuse(path, f"{st.st_size} bytes is more than a history may be ({MAX_DB_BYTES})")
    if st.st_size:
        try:
            with path.open("rb") as fh:
                head = fh.read(len(HEADER))
        except OSError as exc:
            raise _refuse(path, f"cannot read: {exc.strerror}") from None
        if head != HEADER:
            raise _refuse(path, "not an SQLite database")
    return st.st_size > 0


def connect(path: Path, *, create: bool = False) -> sqlite3.Connection:
    """The history at ``path``, checked and at the current schema (an older
    one is upgraded; a missing file is made when ``create``)."""
    exists = _check_file(path, create)
    if not exists:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = sqlite3.connect(
            f"file:{quote(str(path.absolute()))}?mode={'rwc' if create else 'rw'}",
            uri=True,
            timeout=BUSY_MS / 1000,
            isolation_level=None,  # transactions are explicit
        )
    except sqlite3.Error as exc:
        raise _refuse(path, f"cannot open ({exc})") from None
    # Text in a damaged file may not be UTF-8: shown as such, never an
    # exception (a PRAGMA's message may still be decoded strictly: caught below).
    con.text_factory = lambda b: b.decode("utf-8", "replace")
    try:
        con.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
        _prepare(con, path)
    except (sqlite3.Error, UnicodeDecodeError) as exc:
        con.close()
        raise _refuse(path, f"unreadable ({exc})") from None
    except BaseException:
        con.close()
        raise
    return con


def _version(con: sqlite3.Connection, path: Path) -> int:
    app = con.execute("PRAGMA application_id").fetchone()[0]
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
    if app == 0 and not names:
        return 0  # an empty file: a new history
    if app != APP_ID:
        raise _refuse(path, "another program's database (its application_id is not relbuild's)")
    if "relbuild_schema" not in names:
        raise _refuse(path, "it has no schema version")
    rows = con.execute("SELECT version FROM relbuild_schema").fetchall()
    if len(rows) != 1 or type(rows[0][0]) is not int or rows[0][0] < 1:
        raise _refuse(path, "its schema version is not one number")
    version: int = rows[0][0]
    if version > SCHEMA_VERSION:
        raise UsageError(
            f"{path}: this history has schema version {version}, written by a newer relbuild; "
            f"this one reads up to version {SCHEMA_VERSION} and will not change it",
            hint="Use a relbuild at least as new as the one that last wrote the history.",
        )
    if _schema(con) != expected_schema(version):
        raise _refuse(path, f"its tables are not those of schema version {version}")
    return version


def _prepare(con: sqlite3.Connection, path: Path) -> None:
    if con.execute("PRAGMA quick_check").fetchone()[0] != "ok":
        raise _refuse(path, "damaged (PRAGMA quick_check)")
    if _version(con, path) == SCHEMA_VERSION:
        return
    con.execute("PRAGMA journal_mode = WAL")
    with transaction(con):
        # Read again under the write lock: another process may have upgraded it.
        version = _version(con, path)
        for script in MIGRATIONS[version:]:
            for statement in _statements(script):
                con.execute(statement)
        if version == 0:
            con.execute(f"PRAGMA application_id = {APP_ID}")
            con.execute("INSERT INTO relbuild_schema (version) VALUES (?)", (SCHEMA_VERSION,))
        else:
            con.execute("UPDATE relbuild_schema SET version = ?", (SCHEMA_VERSION,))


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


@contextmanager
def transaction(con: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, the lock taken at its start: all or nothing."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
