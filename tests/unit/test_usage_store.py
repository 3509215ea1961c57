"""The usage database (record/summary/recent/prune, durability, privacy, the event loop) and its
read side: `GET /v1/usage` and the CLI's table."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import sqlite3
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from zerogravity_proxy.openai.errors import OpenAIError
from zerogravity_proxy.sidecar.usage import USAGE, usage_table
from zerogravity_proxy.sidecar.usage import usage as usage_endpoint
from zerogravity_proxy.store.sqlite import StoreError
from zerogravity_proxy.store.usage import PRUNE_INTERVAL, UsageRecord, UsageStore, read_summary

REPO = Path(__file__).resolve().parents[2]
DAY = 86400.0
T0 = 1_700_000_000.0


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def rec(record_id: str, ended_at: float = T0, **fields: Any) -> UsageRecord:
    values: dict[str, Any] = {
        "kind": "exchange",
        "endpoint": "chat.completions",
        "model_requested": "gemini-2.5-flash",
        "model_served": "gemini-2.5-flash",
        "driver": "direct",
        "started_at": ended_at - 2.0,
        "first_token_at": ended_at - 1.5,
        "ended_at": ended_at,
        "prompt_tokens": 100,
        "cached_tokens": 40,
        "output_tokens": 30,
        "reasoning_tokens": 10,
        "cost_usd": 0.0001,
        "tool_calls": 0,
        "outcome": "completed",
        "reason": None,
        "usage_missing": False,
    }
    values.update(fields)
    return UsageRecord(id=record_id, **values)


def row_count(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path, autocommit=True)) as conn:
        return int(conn.execute("SELECT count(*) FROM records").fetchone()[0])


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "usage.sqlite3"


@pytest.fixture
async def store(db_path: Path, clock: Clock) -> AsyncIterator[UsageStore]:
    s = UsageStore(db_path, retention=30 * DAY, clock=clock)
    await s.open()
    yield s
    await s.close()


async def test_record_then_recent_round_trip(store: UsageStore) -> None:
    first = rec("ex_1", T0 - 10, tool_calls=2, reason=None)
    second = rec(
        "obs_1",
        T0,
        kind="observed",
        endpoint="cloudcode:streamGenerateContent",
        driver=None,
        first_token_at=None,
        cost_usd=None,
        outcome="failed",
        reason="stream ended without a finish reason",
        usage_missing=True,
    )
    store.record(first)
    store.record(second)
    await store.flush()
    got = await store.recent(10)
    assert got == [dataclasses.asdict(second), dataclasses.asdict(first)]  # newest first
    assert got[0]["usage_missing"] is True and got[1]["usage_missing"] is False
    assert await store.recent(1) == [dataclasses.asdict(second)]


async def test_a_record_with_the_same_id_replaces_the_old_one(
    store: UsageStore, db_path: Path
) -> None:
    store.record(rec("ex_1", outcome="failed"))
    store.record(rec("ex_1", outcome="completed"))
    await store.flush()
    assert row_count(db_path) == 1
    assert [r["outcome"] for r in await store.recent()] == ["completed"]


@pytest.mark.parametrize("limit", [0, 1001])
async def test_recent_refuses_a_bad_limit(store: UsageStore, limit: int) -> None:
    with pytest.raises(ValueError, match="limit must be between 1 and 1000"):
        await store.recent(limit)


def fill(store: UsageStore) -> None:
    store.record(rec("a1", T0 - 300, cost_usd=0.25))
    store.record(rec("a2", T0 - 200, cost_usd=0.5, outcome="failed", reason="x", tool_calls=3))
    store.record(
        rec(
            "b1",
            T0 - 100,
            model_requested="gemini-3-pro",
            model_served="gemini-3-pro-high",
            prompt_tokens=1000,
            cached_tokens=0,
            output_tokens=500,
            reasoning_tokens=400,
            cost_usd=1.0,
            outcome="cancelled",
        )
    )
    store.record(
        rec(
            "c1",
            T0,
            kind="observed",
            model_requested=None,
            model_served="mystery-model",
            driver=None,
            cost_usd=None,
            usage_missing=True,
        )
    )


FLASH = {
    "model": "gemini-2.5-flash",
    "requests": 2,
    "exchanges": 2,
    "observed": 0,
    "completed": 1,
    "failed": 1,
    "cancelled": 0,
    "prompt_tokens": 200,
    "cached_tokens": 80,
    "output_tokens": 60,
    "reasoning_tokens": 20,
    "tool_calls": 3,
    "usage_missing": 0,
    "unpriced": 0,
    "cost_usd": 0.75,
}
PRO = {
    "model": "gemini-3-pro-high",
    "requests": 1,
    "exchanges": 1,
    "observed": 0,
    "completed": 0,
    "failed": 0,
    "cancelled": 1,
    "prompt_tokens": 1000,
    "cached_tokens": 0,
    "output_tokens": 500,
    "reasoning_tokens": 400,
    "tool_calls": 0,
    "usage_missing": 0,
    "unpriced": 0,
    "cost_usd": 1.0,
}
MYSTERY = {
    "model": "mystery-model",
    "requests": 1,
    "exchanges": 0,
    "observed": 1,
    "completed": 1,
    "failed": 0,
    "cancelled": 0,
    "prompt_tokens": 100,
    "cached_tokens": 40,
    "output_tokens": 30,
    "reasoning_tokens": 10,
    "tool_calls": 0,
    "usage_missing": 1,
    "unpriced": 1,
    "cost_usd": None,
}


async def test_summary_totals_and_models(store: UsageStore) -> None:
    fill(store)
    await store.flush()
    summary = await store.summary()
    assert summary == {
        "since": None,
        "until": None,
        "totals": {
            "requests": 4,
            "exchanges": 3,
            "observed": 1,
            "completed": 2,
            "failed": 1,
            "cancelled": 1,
            "prompt_tokens": 1300,
            "cached_tokens": 120,
            "output_tokens": 590,
            "reasoning_tokens": 430,
            "tool_calls": 3,
            "usage_missing": 1,
            "unpriced": 1,
            "cost_usd": 1.75,
        },
        # Most expensive first; unpriced last.
        "models": [PRO, FLASH, MYSTERY],
    }


async def test_summary_window_is_half_open_on_ended_at(store: UsageStore) -> None:
    fill(store)
    await store.flush()
    window = await store.summary(since=T0 - 200, until=T0)  # a2 and b1
    assert window["since"] == T0 - 200 and window["until"] == T0
    assert window["totals"]["requests"] == 2
    assert [(m["model"], m["requests"]) for m in window["models"]] == [
        ("gemini-3-pro-high", 1),
        ("gemini-2.5-flash", 1),
    ]
    assert (await store.summary(since=T0 + 1))["models"] == []
    assert (await store.summary(until=T0 - 300))["totals"]["cost_usd"] is None


async def test_summary_of_nothing(store: UsageStore) -> None:
    summary = await store.summary()
    assert summary["models"] == []
    assert summary["totals"]["requests"] == 0 and summary["totals"]["cost_usd"] is None


async def test_a_record_without_any_model_is_grouped_as_none(store: UsageStore) -> None:
    store.record(rec("x", model_requested=None, model_served=None))
    await store.flush()
    assert [m["model"] for m in (await store.summary())["models"]] == [None]


async def test_prune_by_retention(store: UsageStore, clock: Clock, db_path: Path) -> None:
    store.record(rec("old", T0 - 31 * DAY))
    store.record(rec("edge", T0 - 30 * DAY))
    store.record(rec("new", T0))
    await store.flush()
    # A write within PRUNE_INTERVAL of open does not prune: only explicit prune() and the hourly one.
    assert row_count(db_path) == 3
    assert await store.prune() == 1
    assert [r["id"] for r in await store.recent()] == ["new", "edge"]
    clock.now += 1
    assert await store.prune() == 1
    assert await store.prune() == 0
    assert [r["id"] for r in await store.recent()] == ["new"]


async def test_the_worker_prunes_periodically(
    store: UsageStore, clock: Clock, db_path: Path
) -> None:
    store.record(rec("old", T0 - 31 * DAY))
    await store.flush()
    clock.now += PRUNE_INTERVAL - 1
    store.record(rec("a", clock.now))
    await store.flush()
    assert row_count(db_path) == 2  # not yet due
    clock.now += 1
    store.record(rec("b", clock.now))
    await store.flush()
    assert [r["id"] for r in await store.recent()] == ["b", "a"]


async def test_prune_on_open(db_path: Path, clock: Clock) -> None:
    first = UsageStore(db_path, retention=DAY, clock=clock)
    first.record(rec("r1", T0))
    first.record(rec("r2", T0 + DAY))
    await first.close()  # writes what is queued, then closes
    clock.now = T0 + 2 * DAY - 1
    assert row_count(db_path) == 2
    second = UsageStore(db_path, retention=DAY, clock=clock)
    await second.open()
    assert row_count(db_path) == 1
    assert [r["id"] for r in await second.recent()] == ["r2"]
    await second.close()


async def test_survives_reopen(db_path: Path, clock: Clock) -> None:
    first = UsageStore(db_path, retention=DAY, clock=clock)
    await first.open()
    fill(first)
    await first.flush()
    before = await first.summary()
    await first.close()
    second = UsageStore(db_path, retention=DAY, clock=clock)
    assert await second.summary() == before  # opens lazily
    await second.close()


KILLED_WRITER = """
import asyncio, sys, time
from pathlib import Path
from zerogravity_proxy.store.usage import UsageRecord, UsageStore

async def main() -> None:
    store = UsageStore(Path(sys.argv[1]), retention=3600)
    await store.open()
    now = time.time()
    store.record(UsageRecord(id="ex_k", kind="exchange", endpoint="responses",
        model_requested="m", model_served="m", driver="direct", started_at=now - 1,
        first_token_at=None, ended_at=now, prompt_tokens=7, output_tokens=3))
    if sys.argv[2] == "flush":
        await store.flush()
    print("ok", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


@pytest.mark.parametrize("mode", ["flush", "no-flush"])
async def test_a_record_survives_sigkill(db_path: Path, mode: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        KILLED_WRITER,
        str(db_path),
        mode,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
        if mode == "no-flush":
            await asyncio.sleep(0.3)  # no flush(): the worker must have committed by itself
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    assert line == b"ok\n"
    assert proc.returncode == -signal.SIGKILL
    # The row lives only in the WAL (nothing checkpointed it): recovery must replay it.
    assert Path(f"{db_path}-wal").stat().st_size > 0
    store = UsageStore(db_path, retention=3600)
    got = await store.recent()
    assert [(r["id"], r["prompt_tokens"], r["output_tokens"]) for r in got] == [("ex_k", 7, 3)]
    await store.close()


async def test_event_loop_keeps_ticking_while_records_are_written(store: UsageStore) -> None:
    ticks = 0
    done = False

    async def ticker() -> None:
        nonlocal ticks
        while not done:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.get_running_loop().create_task(ticker())
    await asyncio.sleep(0)
    before = ticks
    for n in range(50_000):
        store.record(rec(f"r{n}", T0 + n))
    assert ticks == before  # record() never yields: it only queues
    await store.flush()
    during = ticks - before
    done = True
    await task
    # Writing on the loop would let the ticker run at most once while flush() waits.
    assert during >= 10, during
    assert (await store.summary())["totals"]["requests"] == 50_000


async def test_files_are_private(tmp_path: Path) -> None:
    db_path = tmp_path / "new" / "usage.sqlite3"
    store = UsageStore(db_path, retention=DAY)
    store.record(rec("r1"))
    await store.flush()
    assert stat.S_IMODE(db_path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(f"{db_path}-wal").stat().st_mode) == 0o600
    await store.close()


async def test_wal_and_normal_sync(store: UsageStore, db_path: Path) -> None:
    await store.flush()
    modes = await store._call(
        lambda conn: (
            conn.execute("PRAGMA journal_mode").fetchone()[0],
            conn.execute("PRAGMA synchronous").fetchone()[0],
        )
    )
    assert modes == ("wal", 1)  # 1 is NORMAL


async def test_schema_and_index(store: UsageStore, db_path: Path) -> None:
    await store.flush()
    with contextlib.closing(sqlite3.connect(db_path, autocommit=True)) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(records)")]
        indexes = [row[1] for row in conn.execute("PRAGMA index_list(records)")]
        plan = conn.execute("EXPLAIN QUERY PLAN DELETE FROM records WHERE ended_at < 1").fetchall()
    assert columns == [f.name for f in dataclasses.fields(UsageRecord)]
    assert "records_ended_at" in indexes
    assert "records_ended_at" in str(plan)


async def test_record_never_raises_when_the_file_cannot_be_opened(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    store = UsageStore(blocker / "usage.sqlite3", retention=DAY)
    store.record(rec("r1"))
    store.record(rec("r2"))
    with pytest.raises(StoreError):
        await store.flush()  # the worker's later lazy open fails too
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "usage record(s) lost" in errors[0].getMessage()
    await store.close()


async def test_a_closed_store_drops_records_and_refuses_calls(
    store: UsageStore, caplog: pytest.LogCaptureFixture
) -> None:
    await store.close()
    store.record(rec("late"))
    assert "record late dropped" in caplog.text
    with pytest.raises(StoreError, match="closed"):
        await store.flush()
    await store.close()  # idempotent


async def test_close_writes_what_is_queued(db_path: Path) -> None:
    store = UsageStore(db_path, retention=DAY)
    for n in range(100):
        store.record(rec(f"r{n}"))
    await store.close()
    assert row_count(db_path) == 100


async def test_bad_retention_is_refused(db_path: Path) -> None:
    with pytest.raises(ValueError, match="retention"):
        UsageStore(db_path, retention=0)
    with pytest.raises(ValueError, match="retention"):
        UsageStore(db_path, retention=float("nan"))


async def test_newer_schema_is_refused(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    with contextlib.closing(sqlite3.connect(db_path, autocommit=True)) as conn:
        conn.execute("PRAGMA user_version = 99")
    store = UsageStore(db_path, retention=DAY)
    with pytest.raises(StoreError, match="schema version 99"):
        await store.open()
    await store.close()


# --- read_summary: the CLI's read-only view ------------------------------------------------------


async def test_read_summary_matches_the_store_while_it_is_open(
    store: UsageStore, db_path: Path
) -> None:
    fill(store)
    await store.flush()
    assert read_summary(db_path) == await store.summary()
    assert read_summary(db_path, since=T0 - 200, until=T0) == await store.summary(T0 - 200, T0)


async def test_read_summary_after_close_and_of_a_missing_file(
    store: UsageStore, db_path: Path, tmp_path: Path
) -> None:
    fill(store)
    await store.close()
    assert read_summary(db_path)["totals"]["requests"] == 4
    empty = read_summary(tmp_path / "nowhere" / "usage.sqlite3", since=5.0)
    assert empty["since"] == 5.0 and empty["models"] == [] and empty["totals"]["requests"] == 0
    assert not (tmp_path / "nowhere").exists()  # read-only: nothing created


def test_read_summary_of_a_corrupt_file_raises_store_error(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite3"
    path.write_bytes(b"not a database at all\n" * 100)
    with pytest.raises(StoreError, match="not a database"):
        read_summary(path)


# --- GET /v1/usage and the CLI's table ---------------------------------------------------------


def usage_request(store: UsageStore, query: str = "") -> web.Request:
    app = web.Application()
    app[USAGE] = store
    return make_mocked_request("GET", f"/v1/usage{query}", app=app)


async def test_usage_endpoint(store: UsageStore) -> None:
    fill(store)
    await store.flush()
    response = await usage_endpoint(usage_request(store, f"?since={int(T0) - 200}&until={T0}"))
    assert response.status == 200 and response.content_type == "application/json"
    body = orjson.loads(_body(response))
    assert list(body) == ["object", "since", "until", "totals", "models"]
    assert body["object"] == "usage"
    assert (body["since"], body["until"]) == (int(T0) - 200, T0)
    assert isinstance(body["since"], int)  # an integer in, an integer out
    assert body["totals"]["requests"] == 2
    assert [m["model"] for m in body["models"]] == ["gemini-3-pro-high", "gemini-2.5-flash"]
    everything = orjson.loads(_body(await usage_endpoint(usage_request(store))))
    assert everything["since"] is None and everything["until"] is None
    assert everything["models"] == [PRO, FLASH, MYSTERY]


def _body(response: web.StreamResponse) -> bytes:
    assert isinstance(response, web.Response) and isinstance(response.body, bytes)
    return response.body


async def test_usage_endpoint_without_a_store() -> None:
    request = make_mocked_request("GET", "/v1/usage", app=web.Application())
    with pytest.raises(OpenAIError) as caught:
        await usage_endpoint(request)
    assert (caught.value.status, caught.value.code) == (404, "not_found")


async def test_usage_endpoint_fractional_times(store: UsageStore) -> None:
    body = orjson.loads(_body(await usage_endpoint(usage_request(store, "?since=1.5&until=2"))))
    assert (body["since"], body["until"]) == (1.5, 2)


@pytest.mark.parametrize(
    ("query", "param", "message"),
    [
        ("?since=yesterday", "since", "since must be a unix time in seconds."),
        ("?until=-5", "until", "until must be a unix time in seconds."),
        ("?since=nan", "since", "since must be a unix time in seconds."),
        ("?until=inf", "until", "until must be a unix time in seconds."),
        ("?since=", "since", "since must be a unix time in seconds."),
        ("?since=20&until=10", "since", "since must not be later than until."),
    ],
)
async def test_usage_endpoint_bad_params(
    store: UsageStore, query: str, param: str, message: str
) -> None:
    with pytest.raises(OpenAIError) as caught:
        await usage_endpoint(usage_request(store, query))
    error = caught.value
    assert error.status == 400
    assert error.body() == {
        "error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}
    }


async def test_usage_table(store: UsageStore) -> None:
    fill(store)
    await store.flush()
    table = usage_table(await store.summary(since=T0 - DAY))
    assert table == (
        "Usage from 2023-11-13 22:13 UTC until now\n"
        "\n"
        "Model              Requests  Completed  Failed  Cancelled  Prompt  Cached  Output"
        "  Reasoning  Cost (USD)\n"
        "-----------------  --------  ---------  ------  ---------  ------  ------  ------"
        "  ---------  ----------\n"
        "gemini-3-pro-high         1          0       0          1   1,000       0     500"
        "        400     $1.0000\n"
        "gemini-2.5-flash          2          1       1          0     200      80      60"
        "         20     $0.7500\n"
        "mystery-model             1          1       0          0     100      40      30"
        "         10           -\n"
        "-----------------  --------  ---------  ------  ---------  ------  ------  ------"
        "  ---------  ----------\n"
        "Total                     4          2       1          1   1,300     120     590"
        "        430     $1.7500\n"
        "\n"
        "1 request(s) have no cost: unknown model or missing usage.\n"
        "1 request(s) returned content without usage; tokens are missing.\n"
        "Costs are estimates at list prices.\n"
    )


def test_usage_table_of_nothing(tmp_path: Path) -> None:
    empty = read_summary(tmp_path / "usage.sqlite3", since=T0, until=T0 + DAY)
    assert usage_table(empty) == (
        "Usage from 2023-11-14 22:13 UTC until 2023-11-15 22:13 UTC: nothing recorded.\n"
    )
    assert usage_table(read_summary(tmp_path / "usage.sqlite3")) == (
        "Usage (all retained records): nothing recorded.\n"
    )


def test_usage_table_shows_tiny_costs_as_such() -> None:
    model = {**FLASH, "model": "m", "cost_usd": 5.9e-06}
    summary = {"since": None, "until": None, "totals": model, "models": [model]}
    lines = usage_table(summary).splitlines()
    assert lines[4].endswith("<$0.0001") and lines[6].endswith("<$0.0001")
