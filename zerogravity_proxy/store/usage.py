"""Usage and audit records, one row per exchange and per observed Gemini response, in SQLite.

Threading, durability and file modes are `store.sqlite`'s: one worker thread owns the only
connection, WAL with `synchronous=NORMAL`, files 0600. `record()` is for mitmproxy hooks on the
event loop: it only appends to a list and, when no write is queued yet, queues one. The worker
writes whatever has accumulated in one transaction and commits at once, so a burst becomes one
small batch and an isolated record is committed within a millisecond or so: once committed it
survives SIGKILL. `flush()` returns when everything recorded before it has been committed.

Bounds: rows whose `ended_at` is older than `retention` seconds are deleted on open, by the
worker at most once per PRUNE_INTERVAL (one index seek when there is nothing to drop), and by
`prune()`. While the disk is stuck, at most MAX_PENDING records wait; later ones are dropped.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from zerogravity_proxy.store.sqlite import StoreError, WorkerDatabase, scalar, transaction

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
PRUNE_INTERVAL = 3600.0  # seconds between the worker's own prunes
MAX_PENDING = 100_000  # records waiting for the worker before new ones are dropped
MAX_RECENT = 1000

Kind = Literal["exchange", "observed"]

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS records (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        endpoint TEXT,
        model_requested TEXT,
        model_served TEXT,
        driver TEXT,
        started_at REAL NOT NULL,
        first_token_at REAL,
        ended_at REAL NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        cached_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        reasoning_tokens INTEGER NOT NULL,
        cost_usd REAL,
        tool_calls INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        reason TEXT,
        usage_missing INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS records_ended_at ON records (ended_at)",
)


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One finished exchange (`kind` exchange) or observed Gemini response (`kind` observed).

    Times are unix seconds. `prompt_tokens` includes cached and tool-use prompt tokens;
    `output_tokens` includes `reasoning_tokens` (OpenAI's convention). `cost_usd` is None when
    the model has no price or the usage is unknown; `usage_missing` marks content that came
    without any usage, so its tokens (and cost) are missing from the totals.
    """

    id: str
    kind: Kind
    endpoint: str | None
    model_requested: str | None
    model_served: str | None
    driver: str | None
    started_at: float
    first_token_at: float | None
    ended_at: float
    prompt_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float | None = None
    tool_calls: int = 0
    outcome: str = "completed"
    reason: str | None = None
    usage_missing: bool = False


_COLUMNS = tuple(f.name for f in dataclasses.fields(UsageRecord))
_INSERT = (
    f"INSERT OR REPLACE INTO records ({', '.join(_COLUMNS)})"
    f" VALUES ({', '.join('?' for _ in _COLUMNS)})"
)


class UsageStore(WorkerDatabase):
    """Usage records in one SQLite file, kept for `retention` seconds after they ended."""

    label = "usage store"
    schema = _SCHEMA
    schema_version = SCHEMA_VERSION

    def __init__(
        self,
        path: Path,
        *,
        retention: float,
        clock: Callable[[], float] = time.time,
        busy_timeout: float = 5.0,
    ) -> None:
        if not retention > 0:  # also refuses NaN
            raise ValueError("retention must be a positive number of seconds")
        super().__init__(path, busy_timeout=busy_timeout)
        self.retention = retention
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: list[UsageRecord] = []  # guarded by _lock
        self._scheduled = False  # guarded by _lock: a drain is queued on the worker
        self._dropped = 0  # guarded by _lock
        # Touched only on the worker thread:
        self._next_prune = 0.0
        self._failing = False

    # -- public API (event-loop side) -----------------------------------------------------------

    def record(self, rec: UsageRecord) -> None:
        """Queue a record for the worker; never blocks, never raises (a problem is logged)."""
        if self._closed:
            log.warning("usage store %s is closed: record %s dropped", self.path, rec.id)
            return
        with self._lock:
            if len(self._pending) >= MAX_PENDING:
                self._dropped += 1
                if self._dropped == 1:
                    log.error("usage store %s is not keeping up: dropping records", self.path)
                return
            self._pending.append(rec)
            if self._scheduled:
                return
            self._scheduled = True
        try:
            self._executor.submit(self._write_pending)
        except RuntimeError:  # the executor is shutting down: close() will not see this one
            log.warning("usage store %s is closing: record %s dropped", self.path, rec.id)

    async def flush(self) -> None:
        """Return once every record queued before this call is committed (or was logged as
        failed). Raises StoreError if the store is closed."""
        await self._call(lambda conn: None)

    async def summary(
        self, since: float | None = None, until: float | None = None
    ) -> dict[str, Any]:
        """Totals and per-model figures for records that ended in [since, until)."""
        rows = await self._call(lambda conn: _summary_rows(conn, since, until))
        return _summary(rows, since, until)

    async def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        """The last `limit` records, newest (by `ended_at`) first, as plain dicts."""
        if not 1 <= limit <= MAX_RECENT:
            raise ValueError(f"limit must be between 1 and {MAX_RECENT}")

        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            cursor = conn.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM records"
                " ORDER BY ended_at DESC, rowid DESC LIMIT ?",
                (limit,),
            )
            return [_as_dict(row) for row in cursor.fetchall()]

        return await self._call(read)

    async def prune(self) -> int:
        """Delete records past the retention; return how many went."""
        removed = await self._call(self._prune_sync)
        if removed:
            await self._call(lambda conn: conn.execute("PRAGMA incremental_vacuum").fetchall())
            log.debug("usage store: pruned %d record(s)", removed)
        return removed

    # -- worker side ----------------------------------------------------------------------------

    def _opened(self, conn: sqlite3.Connection) -> None:
        self._prune_sync(conn)

    def _prune_sync(self, conn: sqlite3.Connection) -> int:
        now = self._clock()
        self._next_prune = now + PRUNE_INTERVAL
        with transaction(conn):
            return _delete_expired(conn, now - self.retention)

    def _write_pending(self) -> None:
        """Write every pending record in one transaction and commit. Nobody awaits this, so a
        failure is logged (loudly once per failing streak) and the batch is lost."""
        with self._lock:
            batch, self._pending = self._pending, []
            self._scheduled = False
            dropped, self._dropped = self._dropped, 0
        if dropped:
            log.error("usage store %s: %d record(s) dropped while it lagged", self.path, dropped)
        if not batch:
            return
        try:
            self._in_worker(lambda conn: self._insert(conn, batch))
        except StoreError as e:
            level = logging.DEBUG if self._failing else logging.ERROR
            log.log(level, "%s; %d usage record(s) lost", e, len(batch))
            self._failing = True
            return
        except Exception:
            log.exception("usage store %s: %d record(s) lost", self.path, len(batch))
            return
        if self._failing:
            log.warning("usage store %s: writing again", self.path)
            self._failing = False

    def _insert(self, conn: sqlite3.Connection, batch: Sequence[UsageRecord]) -> None:
        now = self._clock()
        with transaction(conn):
            conn.executemany(_INSERT, [_row(r) for r in batch])
            if now >= self._next_prune:  # the periodic prune: one index seek if nothing expired
                self._next_prune = now + PRUNE_INTERVAL
                _delete_expired(conn, now - self.retention)


def read_summary(
    path: Path, *, since: float | None = None, until: float | None = None
) -> dict[str, Any]:
    """`UsageStore.summary` from a read-only connection (for the CLI, daemon running or not).

    A missing file is an empty summary; an unreadable one raises StoreError.
    """
    path = Path(path)
    if not path.exists():
        return _summary([], since, until)
    try:
        uri = f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, autocommit=True)
        try:
            if scalar(conn, "PRAGMA user_version") == 0:
                return _summary([], since, until)  # created, no schema yet
            return _summary(_summary_rows(conn, since, until), since, until)
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise StoreError(f"usage store {path}: {e}") from e


# -- queries ------------------------------------------------------------------------------------

_COUNTS = (
    "requests",
    "exchanges",
    "observed",
    "completed",
    "failed",
    "cancelled",
    "prompt_tokens",
    "cached_tokens",
    "output_tokens",
    "reasoning_tokens",
    "tool_calls",
    "usage_missing",
    "unpriced",
)


def _summary_rows(
    conn: sqlite3.Connection, since: float | None, until: float | None
) -> list[tuple[Any, ...]]:
    where: list[str] = []
    params: list[float] = []
    if since is not None:
        where.append("ended_at >= ?")
        params.append(since)
    if until is not None:
        where.append("ended_at < ?")
        params.append(until)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return conn.execute(
        "SELECT coalesce(model_served, model_requested),"
        " count(*), total(kind = 'exchange'), total(kind = 'observed'),"
        " total(outcome = 'completed'), total(outcome = 'failed'), total(outcome = 'cancelled'),"
        " total(prompt_tokens), total(cached_tokens), total(output_tokens),"
        " total(reasoning_tokens), total(tool_calls), total(usage_missing),"
        " total(cost_usd IS NULL), sum(cost_usd)"
        f" FROM records{clause} GROUP BY 1",
        params,
    ).fetchall()


def _summary(
    rows: Sequence[tuple[Any, ...]], since: float | None, until: float | None
) -> dict[str, Any]:
    models: list[dict[str, Any]] = []
    for model, *values in rows:
        *counts, cost = values
        entry: dict[str, Any] = {"model": model}
        entry.update(zip(_COUNTS, (int(v) for v in counts), strict=True))
        entry["cost_usd"] = None if cost is None else round(cost, 6)
        models.append(entry)
    models.sort(key=lambda m: (-(m["cost_usd"] or 0.0), -m["requests"], m["model"] or ""))
    totals: dict[str, Any] = {name: sum(m[name] for m in models) for name in _COUNTS}
    costs = [m["cost_usd"] for m in models if m["cost_usd"] is not None]
    totals["cost_usd"] = round(sum(costs), 6) if costs else None
    return {"since": since, "until": until, "totals": totals, "models": models}


def _as_dict(row: Sequence[Any]) -> dict[str, Any]:
    out = dict(zip(_COLUMNS, row, strict=True))
    out["usage_missing"] = bool(out["usage_missing"])
    return out


def _row(rec: UsageRecord) -> tuple[Any, ...]:
    return tuple(getattr(rec, name) for name in _COLUMNS)


def _delete_expired(conn: sqlite3.Connection, cutoff: float) -> int:
    return conn.execute("DELETE FROM records WHERE ended_at < ?", (cutoff,)).rowcount
