"""The SQLite plumbing the stores share: one file behind one worker thread.

Threading: every SQLite call runs on one dedicated worker thread that owns the only connection.
Calls are serialised in submission order, the event loop never waits on disk, and the connection
is only ever touched by the thread that created it.

Durability: WAL with `synchronous=NORMAL`, and every write commits before its coroutine returns.
A commit has then been written to the WAL through the OS, so it survives the process being killed
(SIGKILL, OOM); a power loss may roll back the last few commits but never corrupts the file.

Files: the directory is created 0700 and the database 0600 (its -wal/-shm files follow it). The
schema version lives in `PRAGMA user_version`; a file from a newer build is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar

WAL_SIZE_LIMIT = 64 * 1024 * 1024


class StoreError(Exception):
    """A store's database failed (unreadable, corrupt, locked, full or closed).

    Distinct from a missing id (`None`/`False` results) and from caller mistakes (`ValueError`),
    so the HTTP layer can answer 500 for this and 404/400 for the others.
    """


class WorkerDatabase:
    """One SQLite file behind one worker thread.

    Subclasses name themselves (`label`, for errors and the thread's name), give their schema,
    and may name the exceptions that mean a corrupt row (`corrupt_errors`). They run SQL through
    `_call`, which turns database and OS failures into StoreError, and may do housekeeping in
    `_opened`. The connection opens in `open()`, or lazily on the first call; `close()` is
    final: later calls raise StoreError.
    """

    label: ClassVar[str] = "store"
    schema: ClassVar[Sequence[str]] = ()
    schema_version: ClassVar[int] = 1
    corrupt_errors: ClassVar[tuple[type[Exception], ...]] = ()

    def __init__(self, path: Path, *, busy_timeout: float = 5.0) -> None:
        self.path = Path(path)
        self._busy_timeout = busy_timeout
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=self.label.replace(" ", "-")
        )
        self._closed = False
        self._conn: sqlite3.Connection | None = None  # touched only on the worker thread

    async def open(self) -> None:
        """Create the directory (0700), the file (0600) and the schema; fail fast if unusable."""
        await self._call(lambda conn: None)

    async def close(self) -> None:
        """Finish queued work, then close the connection (which checkpoints the WAL)."""
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._close_sync)
        finally:
            self._executor.shutdown(wait=False)

    async def _call[T](self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` on the worker with the connection, after everything queued before it."""
        if self._closed:
            raise StoreError(f"{self.label} {self.path} is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._in_worker, fn)

    def _in_worker[T](self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """On the worker: connect if need be, run `fn`, and report failures as StoreError."""
        try:
            return fn(self._conn if self._conn is not None else self._connect())
        except StoreError:
            raise
        except sqlite3.Error as e:
            raise StoreError(f"{self.label} {self.path}: {e}") from e
        except self.corrupt_errors as e:
            raise StoreError(f"{self.label} {self.path}: corrupt row: {e}") from e
        except OSError as e:
            raise StoreError(f"{self.label} {self.path}: {e.strerror or e}") from e

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Create the file ourselves: SQLite would use 0644, and gives the -wal/-shm files the
        # database file's mode, so this one chmod covers all three.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            if os.fstat(fd).st_mode & 0o077:
                os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
        conn = sqlite3.connect(self.path, timeout=self._busy_timeout, autocommit=True)
        try:
            self._migrate(conn)
            self._opened(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        # The first read of the header is what detects a file that is not a database.
        version = scalar(conn, "PRAGMA user_version")
        if version > self.schema_version:
            raise StoreError(
                f"{self.label} {self.path}: schema version {version} is newer than this "
                f"build supports ({self.schema_version})"
            )
        if version == 0:
            # Only takes effect on a database without tables, so set it before creating them.
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"{self.label} {self.path}: cannot use WAL (journal_mode {mode})")
        conn.execute("PRAGMA synchronous = NORMAL")
        # A large write grows the WAL; without a limit it keeps that size after the checkpoint.
        conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        if version == 0:
            with transaction(conn):
                for statement in self.schema:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {self.schema_version}")

    def _opened(self, conn: sqlite3.Connection) -> None:
        """Runs on the worker once the schema is in place (a subclass's housekeeping)."""

    def _close_sync(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error as e:
                raise StoreError(f"{self.label} {self.path}: {e}") from e


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection, *, write: bool = True) -> Iterator[None]:
    """BEGIN IMMEDIATE takes the write lock up front, so a write never fails half-way on BUSY."""
    conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise


def scalar(conn: sqlite3.Connection, sql: str) -> int:
    """The first column of the first row of `sql`, as an int (for PRAGMAs and counts)."""
    return int(conn.execute(sql).fetchone()[0])
