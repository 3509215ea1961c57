"""Stored Responses API results: `previous_response_id`, `GET/DELETE /v1/responses/{id}` and
`GET /v1/responses/{id}/input_items`, kept in SQLite so they survive a daemon restart.

One table, one row per response: the Response object and the input items of its request, both
orjson BLOBs, plus the `previous_response_id` link that `history()` follows.

Threading, durability and file modes are `store.sqlite`'s: one worker thread owns the only
connection, WAL with `synchronous=NORMAL`, and every write commits before its coroutine returns.

Bounds: rows older than `retention` seconds are invisible at once and deleted by the next `put`
or `prune()`; past `max_rows` the oldest rows go first.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import orjson

from zerogravity_proxy.store.sqlite import WAL_SIZE_LIMIT as WAL_SIZE_LIMIT
from zerogravity_proxy.store.sqlite import StoreError as StoreError
from zerogravity_proxy.store.sqlite import WorkerDatabase, scalar, transaction

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MAX_PAGE = 100  # the largest `limit` OpenAI accepts on list endpoints

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS responses (
        id TEXT PRIMARY KEY,
        created_at REAL NOT NULL,
        previous_id TEXT,
        response BLOB NOT NULL,
        input_items BLOB NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS responses_created_at ON responses (created_at)",
)


class ResponseStore(WorkerDatabase):
    """Responses persisted in one SQLite file, bounded by age and by row count.

    The connection opens in `open()`, or lazily on the first call. `close()` is final: later
    calls raise StoreError. Arguments to `put` are encoded before it first awaits, so the caller
    may mutate them afterwards.
    """

    label = "response store"
    schema = _SCHEMA
    schema_version = SCHEMA_VERSION
    corrupt_errors = (orjson.JSONDecodeError,)

    def __init__(
        self,
        path: Path,
        *,
        retention: float,
        max_rows: int,
        clock: Callable[[], float] = time.time,
        busy_timeout: float = 5.0,
    ) -> None:
        if not retention > 0:  # also refuses NaN
            raise ValueError("retention must be a positive number of seconds")
        if max_rows < 1:
            raise ValueError("max_rows must be at least 1")
        super().__init__(path, busy_timeout=busy_timeout)
        self.retention = retention
        self.max_rows = max_rows
        self._clock = clock
        # Touched only on the worker thread:
        self._rows: int | None = None  # row count, valid while data_version is unchanged
        self._data_version: int | None = None

    # -- public API (event-loop side) -----------------------------------------------------------

    async def put(
        self,
        response: Mapping[str, Any],
        input_items: Sequence[Mapping[str, Any]],
        *,
        previous_id: str | None,
    ) -> None:
        """Store (or replace) a response and its input items; committed when this returns.

        Input items without an `id` get one (`msg_…` for messages, `item_…` otherwise): the
        input_items listing pages by item id, and OpenAI's items always carry one.
        """
        response_id = response.get("id")
        if not isinstance(response_id, str) or not response_id:
            raise ValueError("response has no string 'id'")
        response_blob = orjson.dumps(dict(response))
        items_blob = orjson.dumps(_with_ids(input_items))
        now = self._clock()
        cutoff = now - self.retention
        await self._write(
            lambda conn: self._put_rows(
                conn, response_id, now, previous_id, response_blob, items_blob, cutoff
            )
        )

    async def get(self, response_id: str) -> dict[str, Any] | None:
        """The stored Response object, or None when unknown, deleted or expired."""
        cutoff = self._cutoff()

        def read(conn: sqlite3.Connection) -> dict[str, Any] | None:
            blob = _one(
                conn,
                "SELECT response FROM responses WHERE id = ? AND created_at >= ?",
                (response_id, cutoff),
            )
            return None if blob is None else _decode_object(blob)

        return await self._call(read)

    async def delete(self, response_id: str) -> bool:
        """Delete a response; True only if it existed and had not expired."""
        cutoff = self._cutoff()
        return await self._write(lambda conn: self._delete_rows(conn, response_id, cutoff))

    async def input_items(
        self,
        response_id: str,
        *,
        limit: int = 20,
        order: Literal["asc", "desc"] = "desc",
        after: str | None = None,
        before: str | None = None,
    ) -> dict[str, Any] | None:
        """One page of a response's input items as OpenAI's list object; None for an unknown id.

        `order` desc (OpenAI's default) lists the newest item first. `after`/`before` are item
        ids in that order: the page holds the items following `after`, or, with only `before`,
        the `limit` items just preceding it. `has_more` says whether the page stopped short of
        further items in the direction of travel. `first_id`/`last_id` are null on an empty page.
        Raises ValueError for a bad `limit` or `order`, or a cursor that is not an item of this
        response.
        """
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
        if order not in ("asc", "desc"):
            raise ValueError("order must be 'asc' or 'desc'")
        cutoff = self._cutoff()

        def read(conn: sqlite3.Connection) -> dict[str, Any] | None:
            blob = _one(
                conn,
                "SELECT input_items FROM responses WHERE id = ? AND created_at >= ?",
                (response_id, cutoff),
            )
            if blob is None:
                return None
            items = _decode_list(blob)
            return _page(items, limit=limit, order=order, after=after, before=before)

        return await self._call(read)

    async def history(
        self, response_id: str, *, max_depth: int = 100
    ) -> list[dict[str, Any]] | None:
        """The conversation up to and including `response_id`, oldest first; None if unknown.

        For each response along the `previous_response_id` chain, oldest first: its input items,
        then its output items. A link that is missing (deleted, expired, never stored) ends the
        chain there, so the history silently starts after the gap: the client asked to continue
        `response_id`, which exists, and what is still known is the best context left. Beyond
        `max_depth` responses the oldest are dropped the same way.
        """
        if max_depth < 1:
            raise ValueError("max_depth must be at least 1")
        cutoff = self._cutoff()
        return await self._call(
            lambda conn: self._history_sync(conn, response_id, cutoff, max_depth)
        )

    async def prune(self) -> int:
        """Delete expired rows and the oldest rows beyond `max_rows`; return how many went.

        Also returns the freed pages to the file system, so a burst of large (image) inputs does
        not leave the file at its high-water mark for ever.
        """
        cutoff = self._cutoff()
        removed = await self._write(lambda conn: self._prune_rows(conn, cutoff))
        if removed:
            await self._call(lambda conn: conn.execute("PRAGMA incremental_vacuum").fetchall())
            log.debug("response store: pruned %d row(s)", removed)
        return removed

    # -- plumbing -------------------------------------------------------------------------------

    def _cutoff(self) -> float:
        """Rows created before this are expired: invisible now, deleted by the next write."""
        return self._clock() - self.retention

    async def _write[T](self, body: Callable[[sqlite3.Connection], tuple[int, T]]) -> T:
        return await self._call(lambda conn: self._write_sync(conn, body))

    def _opened(self, conn: sqlite3.Connection) -> None:
        self._rows = self._data_version = None  # a new connection recounts

    def _row_count(self, conn: sqlite3.Connection) -> int:
        """The row count, recounted only when another connection has written since last time.

        Our own writes keep it exact; `PRAGMA data_version` catches anyone else's (an operator's
        sqlite3 shell), so the bound never acts on a stale count.
        """
        data_version = scalar(conn, "PRAGMA data_version")
        if self._rows is None or data_version != self._data_version:
            self._rows = scalar(conn, "SELECT count(*) FROM responses")
            self._data_version = data_version
        return self._rows

    def _write_sync[T](
        self, conn: sqlite3.Connection, body: Callable[[sqlite3.Connection], tuple[int, T]]
    ) -> T:
        """Run `body` in a write transaction. It returns the new row count and a result; the
        count is kept only if the commit succeeded, else forgotten so the next write recounts."""
        try:
            with transaction(conn):
                rows, result = body(conn)
        except BaseException:
            self._rows = None
            raise
        self._rows = rows
        return result

    def _put_rows(
        self,
        conn: sqlite3.Connection,
        response_id: str,
        created_at: float,
        previous_id: str | None,
        response_blob: bytes,
        items_blob: bytes,
        cutoff: float,
    ) -> tuple[int, None]:
        rows = self._row_count(conn)
        exists = _one(conn, "SELECT 1 FROM responses WHERE id = ?", (response_id,)) is not None
        conn.execute(
            "INSERT INTO responses (id, created_at, previous_id, response, input_items)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
            " created_at = excluded.created_at, previous_id = excluded.previous_id,"
            " response = excluded.response, input_items = excluded.input_items",
            (response_id, created_at, previous_id, response_blob, items_blob),
        )
        rows += 0 if exists else 1
        # Both deletes walk the created_at index, so with nothing to drop they cost one seek.
        rows -= _delete_expired(conn, cutoff)
        return rows - _delete_oldest(conn, rows - self.max_rows), None

    def _delete_rows(
        self, conn: sqlite3.Connection, response_id: str, cutoff: float
    ) -> tuple[int, bool]:
        rows = self._row_count(conn)
        found = conn.execute(
            "DELETE FROM responses WHERE id = ? RETURNING created_at", (response_id,)
        ).fetchall()
        return rows - len(found), any(created >= cutoff for (created,) in found)

    def _prune_rows(self, conn: sqlite3.Connection, cutoff: float) -> tuple[int, int]:
        self._rows = None  # an explicit prune always recounts
        rows = self._row_count(conn)
        removed = _delete_expired(conn, cutoff)
        removed += _delete_oldest(conn, rows - removed - self.max_rows)
        return rows - removed, removed

    def _history_sync(
        self, conn: sqlite3.Connection, response_id: str, cutoff: float, max_depth: int
    ) -> list[dict[str, Any]] | None:
        chain: list[tuple[bytes, bytes]] = []  # (response, input_items), newest first
        seen: set[str] = set()
        current: str | None = response_id
        with transaction(conn, write=False):  # one snapshot for the whole walk
            while current is not None and current not in seen and len(chain) < max_depth:
                row = conn.execute(
                    "SELECT previous_id, response, input_items FROM responses"
                    " WHERE id = ? AND created_at >= ?",
                    (current, cutoff),
                ).fetchone()
                if row is None:
                    break
                seen.add(current)
                chain.append((row[1], row[2]))
                current = row[0]
        if not chain:
            return None
        items: list[dict[str, Any]] = []
        for response_blob, items_blob in reversed(chain):
            items.extend(_decode_list(items_blob))
            items.extend(_decode_object(response_blob).get("output") or [])
        return items


# -- helpers ------------------------------------------------------------------------------------


def _one(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> Any:
    row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0]


def _delete_expired(conn: sqlite3.Connection, cutoff: float) -> int:
    return conn.execute("DELETE FROM responses WHERE created_at < ?", (cutoff,)).rowcount


def _delete_oldest(conn: sqlite3.Connection, count: int) -> int:
    if count <= 0:
        return 0
    return conn.execute(
        "DELETE FROM responses WHERE rowid IN"
        " (SELECT rowid FROM responses ORDER BY created_at, rowid LIMIT ?)",
        (count,),
    ).rowcount


def _with_ids(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in items:
        copy = dict(item)
        if not isinstance(copy.get("id"), str) or not copy["id"]:
            prefix = "msg" if copy.get("type", "message") == "message" else "item"
            copy["id"] = f"{prefix}_{secrets.token_hex(24)}"
        out.append(copy)
    return out


def _decode_object(blob: bytes) -> dict[str, Any]:
    value = orjson.loads(blob)
    if not isinstance(value, dict):
        raise StoreError("response store: corrupt row: expected a JSON object")
    return value


def _decode_list(blob: bytes) -> list[dict[str, Any]]:
    value = orjson.loads(blob)
    if not isinstance(value, list):
        raise StoreError("response store: corrupt row: expected a JSON array")
    return value


def _page(
    items: list[dict[str, Any]],
    *,
    limit: int,
    order: Literal["asc", "desc"],
    after: str | None,
    before: str | None,
) -> dict[str, Any]:
    view = items if order == "asc" else items[::-1]
    ids = [item.get("id") for item in view]

    def position(cursor: str, param: str) -> int:
        try:
            return ids.index(cursor)
        except ValueError:
            raise ValueError(f"{param}: no input item with id {cursor!r}") from None

    start = position(after, "after") + 1 if after is not None else 0
    stop = position(before, "before") if before is not None else len(view)
    window = view[start:stop]
    # With only `before`, the client is paging backwards: give the items nearest the cursor.
    data = window[-limit:] if before is not None and after is None else window[:limit]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0].get("id") if data else None,
        "last_id": data[-1].get("id") if data else None,
        "has_more": len(window) > limit,
    }
