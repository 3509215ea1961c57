"""The stored-responses database: lookups, chains, bounds, paging, durability and the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from zerogravity_proxy.store.responses import ResponseStore, StoreError

REPO = Path(__file__).resolve().parents[2]
HOUR = 3600.0


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def message(item_id: str, text: str, role: str = "user") -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "role": role,
        "content": [{"type": "input_text", "text": text}],
    }


def response(response_id: str, *outputs: str) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "response",
        "created_at": 1_700_000_000,
        "model": "gemini-2.5-flash",
        "status": "completed",
        "output": [
            {
                "id": f"msg_{response_id}_{i}",
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
            for i, text in enumerate(outputs)
        ],
    }


def texts(items: list[dict[str, Any]]) -> list[str]:
    return [item["content"][0]["text"] for item in items]


def raw(path: Path) -> contextlib.closing[sqlite3.Connection]:
    """A second, independent connection (sqlite3's own context manager does not close)."""
    return contextlib.closing(sqlite3.connect(path, autocommit=True))


def row_count(path: Path) -> int:
    with raw(path) as conn:
        return int(conn.execute("SELECT count(*) FROM responses").fetchone()[0])


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "responses.sqlite3"


@pytest.fixture
async def store(db_path: Path, clock: Clock) -> AsyncIterator[ResponseStore]:
    s = ResponseStore(db_path, retention=HOUR, max_rows=1000, clock=clock)
    await s.open()
    yield s
    await s.close()


async def test_put_get_round_trip(store: ResponseStore) -> None:
    stored = response("resp_1", "hello")
    await store.put(stored, [message("in_1", "hi")], previous_id=None)
    assert await store.get("resp_1") == stored


async def test_put_replaces_an_existing_id(store: ResponseStore, db_path: Path) -> None:
    await store.put(response("resp_1", "old"), [], previous_id=None)
    await store.put(response("resp_1", "new"), [], previous_id=None)
    got = await store.get("resp_1")
    assert got is not None and texts(got["output"]) == ["new"]
    assert row_count(db_path) == 1


async def test_input_items_without_ids_get_stable_ones(store: ResponseStore) -> None:
    items: list[dict[str, Any]] = [
        {"role": "user", "content": "easy"},
        {"type": "function_call_output", "call_id": "call_1", "output": "42"},
        message("msg_given", "kept"),
    ]
    await store.put(response("resp_1"), items, previous_id=None)
    assert "id" not in items[0]  # the caller's objects are not modified
    page = await store.input_items("resp_1", order="asc")
    assert page is not None
    ids = [item["id"] for item in page["data"]]
    assert ids[0].startswith("msg_") and ids[1].startswith("item_") and ids[2] == "msg_given"
    again = await store.input_items("resp_1", order="asc")
    assert again is not None and [item["id"] for item in again["data"]] == ids
    after_first = await store.input_items("resp_1", order="asc", after=ids[0])
    assert after_first is not None and after_first["first_id"] == ids[1]


async def test_delete_then_delete_again(store: ResponseStore) -> None:
    await store.put(response("resp_1", "x"), [message("in_1", "hi")], previous_id=None)
    assert await store.delete("resp_1") is True
    assert await store.get("resp_1") is None
    assert await store.input_items("resp_1") is None
    assert await store.history("resp_1") is None
    assert await store.delete("resp_1") is False


async def test_unknown_ids(store: ResponseStore) -> None:
    assert await store.get("resp_missing") is None
    assert await store.delete("resp_missing") is False
    assert await store.input_items("resp_missing") is None
    assert await store.history("resp_missing") is None


async def test_put_needs_a_string_id(store: ResponseStore) -> None:
    with pytest.raises(ValueError, match="id"):
        await store.put({"object": "response"}, [], previous_id=None)


async def put_chain(store: ResponseStore, clock: Clock) -> None:
    previous: str | None = None
    for n in (1, 2, 3):
        await store.put(
            response(f"resp_{n}", f"r{n} out"),
            [message(f"in_{n}a", f"r{n} in a"), message(f"in_{n}b", f"r{n} in b")],
            previous_id=previous,
        )
        previous = f"resp_{n}"
        clock.now += 1


async def test_history_follows_the_chain_oldest_first(store: ResponseStore, clock: Clock) -> None:
    await put_chain(store, clock)
    history = await store.history("resp_3")
    assert history is not None
    assert texts(history) == [
        "r1 in a",
        "r1 in b",
        "r1 out",
        "r2 in a",
        "r2 in b",
        "r2 out",
        "r3 in a",
        "r3 in b",
        "r3 out",
    ]
    assert [item["id"] for item in history][2] == "msg_resp_1_0"
    middle = await store.history("resp_2")
    assert middle is not None
    assert texts(middle) == ["r1 in a", "r1 in b", "r1 out", "r2 in a", "r2 in b", "r2 out"]


async def test_history_stops_at_a_deleted_link(store: ResponseStore, clock: Clock) -> None:
    await put_chain(store, clock)
    assert await store.delete("resp_2")
    history = await store.history("resp_3")
    assert history is not None and texts(history) == ["r3 in a", "r3 in b", "r3 out"]
    first = await store.history("resp_1")
    assert first is not None and texts(first) == ["r1 in a", "r1 in b", "r1 out"]


async def test_history_keeps_the_newest_max_depth_responses(
    store: ResponseStore, clock: Clock
) -> None:
    await put_chain(store, clock)
    history = await store.history("resp_3", max_depth=2)
    assert history is not None
    assert texts(history) == ["r2 in a", "r2 in b", "r2 out", "r3 in a", "r3 in b", "r3 out"]


async def test_history_survives_a_cycle(store: ResponseStore) -> None:
    await store.put(response("resp_a", "a"), [], previous_id="resp_b")
    await store.put(response("resp_b", "b"), [], previous_id="resp_a")
    history = await store.history("resp_b")
    assert history is not None and texts(history) == ["a", "b"]


async def test_retention_hides_old_rows_and_prune_removes_them(
    store: ResponseStore, clock: Clock, db_path: Path
) -> None:
    await store.put(response("resp_old", "old"), [message("in_o", "o")], previous_id=None)
    clock.now += HOUR - 1
    await store.put(response("resp_new", "new"), [message("in_n", "n")], previous_id="resp_old")
    assert await store.get("resp_old") is not None
    clock.now += 2  # resp_old is now just over an hour old
    assert await store.get("resp_old") is None
    assert await store.input_items("resp_old") is None
    assert await store.history("resp_old") is None
    # An expired link ends the chain like a deleted one.
    history = await store.history("resp_new")
    assert history is not None and texts(history) == ["n", "new"]
    assert row_count(db_path) == 2  # hidden, not yet deleted
    assert await store.prune() == 1
    assert row_count(db_path) == 1
    assert await store.prune() == 0
    assert await store.get("resp_new") is not None


async def test_put_deletes_expired_rows(store: ResponseStore, clock: Clock, db_path: Path) -> None:
    await store.put(response("resp_old"), [], previous_id=None)
    clock.now += HOUR + 1
    await store.put(response("resp_new"), [], previous_id=None)
    assert row_count(db_path) == 1


async def test_delete_of_an_expired_row_reports_not_found(
    store: ResponseStore, clock: Clock
) -> None:
    await store.put(response("resp_old"), [], previous_id=None)
    clock.now += HOUR + 1
    assert await store.delete("resp_old") is False


async def test_max_rows_keeps_the_newest(db_path: Path, clock: Clock) -> None:
    store = ResponseStore(db_path, retention=HOUR, max_rows=3, clock=clock)
    for n in range(1, 6):
        await store.put(response(f"resp_{n}"), [], previous_id=None)
        clock.now += 1
    assert [await store.get(f"resp_{n}") is not None for n in range(1, 6)] == [
        False,
        False,
        True,
        True,
        True,
    ]
    assert row_count(db_path) == 3
    assert await store.prune() == 0
    await store.close()
    # A smaller bound takes effect at the next prune, still oldest first.
    smaller = ResponseStore(db_path, retention=HOUR, max_rows=2, clock=clock)
    assert await smaller.prune() == 1
    assert await smaller.get("resp_3") is None and await smaller.get("resp_5") is not None
    await smaller.close()


async def test_max_rows_notices_rows_deleted_by_another_connection(
    db_path: Path, clock: Clock
) -> None:
    store = ResponseStore(db_path, retention=HOUR, max_rows=3, clock=clock)
    for n in range(1, 4):
        await store.put(response(f"resp_{n}"), [], previous_id=None)
        clock.now += 1
    with raw(db_path) as conn:
        conn.execute("DELETE FROM responses WHERE id = 'resp_2'")
    await store.put(response("resp_4"), [], previous_id=None)
    # Three rows fit: a stale count of four would have evicted resp_1.
    assert await store.get("resp_1") is not None
    assert row_count(db_path) == 3
    await store.close()


ITEM_IDS = ["i1", "i2", "i3", "i4", "i5"]


@pytest.fixture
async def five_items(store: ResponseStore) -> ResponseStore:
    await store.put(
        response("resp_p"), [message(i, f"text {i}") for i in ITEM_IDS], previous_id=None
    )
    return store


async def page(
    store: ResponseStore, **kwargs: Any
) -> tuple[list[str], str | None, str | None, bool]:
    result = await store.input_items("resp_p", **kwargs)
    assert result is not None and result["object"] == "list"
    ids = [item["id"] for item in result["data"]]
    return ids, result["first_id"], result["last_id"], result["has_more"]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, (["i5", "i4", "i3", "i2", "i1"], "i5", "i1", False)),
        ({"order": "asc"}, (["i1", "i2", "i3", "i4", "i5"], "i1", "i5", False)),
        ({"order": "asc", "limit": 5}, (["i1", "i2", "i3", "i4", "i5"], "i1", "i5", False)),
        ({"order": "asc", "limit": 2}, (["i1", "i2"], "i1", "i2", True)),
        ({"order": "asc", "limit": 2, "after": "i2"}, (["i3", "i4"], "i3", "i4", True)),
        ({"order": "asc", "limit": 2, "after": "i4"}, (["i5"], "i5", "i5", False)),
        ({"order": "asc", "after": "i5"}, ([], None, None, False)),
        ({"limit": 2}, (["i5", "i4"], "i5", "i4", True)),
        ({"limit": 2, "after": "i4"}, (["i3", "i2"], "i3", "i2", True)),
        ({"limit": 2, "after": "i2"}, (["i1"], "i1", "i1", False)),
        ({"order": "asc", "limit": 2, "before": "i4"}, (["i2", "i3"], "i2", "i3", True)),
        ({"order": "asc", "limit": 2, "before": "i3"}, (["i1", "i2"], "i1", "i2", False)),
        ({"limit": 10, "before": "i2"}, (["i5", "i4", "i3"], "i5", "i3", False)),
        ({"limit": 1, "before": "i2"}, (["i3"], "i3", "i3", True)),
        ({"order": "asc", "before": "i1"}, ([], None, None, False)),
        (
            {"order": "asc", "limit": 2, "after": "i1", "before": "i5"},
            (["i2", "i3"], "i2", "i3", True),
        ),
        ({"order": "asc", "after": "i1", "before": "i5"}, (["i2", "i3", "i4"], "i2", "i4", False)),
        ({"after": "i2", "before": "i4"}, ([], None, None, False)),
    ],
)
async def test_input_items_pages(
    five_items: ResponseStore,
    kwargs: dict[str, Any],
    expected: tuple[list[str], str | None, str | None, bool],
) -> None:
    assert await page(five_items, **kwargs) == expected


async def test_input_items_page_through_everything(five_items: ResponseStore) -> None:
    """What the SDK's auto-pager does: follow last_id while has_more."""
    seen: list[str] = []
    after: str | None = None
    while True:
        ids, _, last, more = await page(five_items, limit=2, after=after)
        seen += ids
        if not more:
            break
        after = last
    assert seen == ["i5", "i4", "i3", "i2", "i1"]


async def test_input_items_refuses_bad_arguments(five_items: ResponseStore) -> None:
    with pytest.raises(ValueError, match="after"):
        await five_items.input_items("resp_p", after="nope")
    with pytest.raises(ValueError, match="before"):
        await five_items.input_items("resp_p", before="nope")
    for limit in (0, 101):
        with pytest.raises(ValueError, match="limit"):
            await five_items.input_items("resp_p", limit=limit)


async def test_input_items_are_valid_sdk_items(five_items: ResponseStore) -> None:
    from openai.types.responses import ResponseItemList

    result = await five_items.input_items("resp_p", limit=2)
    assert result is not None
    parsed = ResponseItemList.model_validate(result)
    assert parsed.first_id == "i5" and parsed.has_more


async def test_survives_reopen(db_path: Path, clock: Clock) -> None:
    first = ResponseStore(db_path, retention=HOUR, max_rows=100, clock=clock)
    await first.open()
    await put_chain(first, clock)
    await first.close()
    second = ResponseStore(db_path, retention=HOUR, max_rows=100, clock=clock)
    got = await second.get("resp_3")  # opens lazily
    assert got is not None and texts(got["output"]) == ["r3 out"]
    history = await second.history("resp_3")
    assert history is not None and len(history) == 9
    await second.close()


KILLED_WRITER = """
import asyncio, sys
from pathlib import Path
from zerogravity_proxy.store.responses import ResponseStore

async def main() -> None:
    store = ResponseStore(Path(sys.argv[1]), retention=3600, max_rows=100)
    await store.open()
    await store.put({"id": "resp_k", "output": []}, [{"id": "in_k", "role": "user",
                    "content": "keep me"}], previous_id=None)
    print("ok", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


async def test_a_put_that_returned_survives_sigkill(db_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        KILLED_WRITER,
        str(db_path),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    assert line == b"ok\n"
    assert proc.returncode == -signal.SIGKILL
    # The row lives only in the WAL (nothing checkpointed it): recovery must replay it.
    assert Path(f"{db_path}-wal").stat().st_size > 0
    store = ResponseStore(db_path, retention=HOUR, max_rows=100)
    got = await store.get("resp_k")
    assert got == {"id": "resp_k", "output": []}
    items = await store.input_items("resp_k")
    assert items is not None and items["data"][0]["content"] == "keep me"
    await store.close()


async def test_files_are_private(tmp_path: Path) -> None:
    db_path = tmp_path / "new" / "responses.sqlite3"
    store = ResponseStore(db_path, retention=HOUR, max_rows=10)
    await store.put(response("resp_1"), [], previous_id=None)
    assert stat.S_IMODE(db_path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(f"{db_path}-wal").stat().st_mode) == 0o600
    await store.close()


async def test_an_existing_loose_file_is_tightened(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.touch(mode=0o644)
    db_path.chmod(0o644)
    store = ResponseStore(db_path, retention=HOUR, max_rows=10)
    await store.open()
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    await store.close()


async def test_concurrent_puts_all_land(store: ResponseStore, db_path: Path) -> None:
    await asyncio.gather(
        *(
            store.put(response(f"resp_{n}", str(n)), [message(f"in_{n}", str(n))], previous_id=None)
            for n in range(200)
        )
    )
    assert row_count(db_path) == 200
    got = await asyncio.gather(*(store.get(f"resp_{n}") for n in range(200)))
    assert all(g is not None and texts(g["output"]) == [str(n)] for n, g in enumerate(got))


async def test_event_loop_keeps_running_during_a_large_put(store: ResponseStore) -> None:
    ticks = 0
    done = False

    async def ticker() -> None:
        nonlocal ticks
        while not done:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.get_running_loop().create_task(ticker())
    await asyncio.sleep(0)
    big = [message(f"in_{n}", "x" * (2 * 1024 * 1024)) for n in range(16)]  # 32 MiB
    before = ticks
    await store.put(response("resp_big"), big, previous_id=None)
    during = ticks - before
    done = True
    await task
    # A put that ran SQLite on the loop would let the ticker run at most once.
    assert during >= 10, during


async def test_corrupt_database_raises_store_error(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"this is not an SQLite database, just some bytes\n" * 100)
    store = ResponseStore(db_path, retention=HOUR, max_rows=10)
    with pytest.raises(StoreError, match="not a database"):
        await store.open()
    with pytest.raises(StoreError):  # lazily retried, still failing
        await store.get("resp_1")
    await store.close()


async def test_locked_database_raises_store_error(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    holder = sqlite3.connect(db_path, autocommit=True)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        store = ResponseStore(db_path, retention=HOUR, max_rows=10, busy_timeout=0.05)
        with pytest.raises(StoreError, match="locked"):
            await store.open()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    await store.open()  # and recovers once the lock is gone
    await store.close()


async def test_newer_schema_is_refused(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    with raw(db_path) as conn:
        conn.execute("PRAGMA user_version = 99")
    store = ResponseStore(db_path, retention=HOUR, max_rows=10)
    with pytest.raises(StoreError, match="schema version 99"):
        await store.open()
    await store.close()


async def test_schema_and_pragmas(store: ResponseStore, db_path: Path) -> None:
    with raw(db_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        columns = [row[1] for row in conn.execute("PRAGMA table_info(responses)")]
        assert columns == ["id", "created_at", "previous_id", "response", "input_items"]
        indexes = [row[1] for row in conn.execute("PRAGMA index_list(responses)")]
        assert "responses_created_at" in indexes


async def test_closed_store_refuses_calls(db_path: Path) -> None:
    store = ResponseStore(db_path, retention=HOUR, max_rows=10)
    await store.open()
    await store.close()
    await store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        await store.get("resp_1")


def test_bad_bounds_are_refused(db_path: Path) -> None:
    with pytest.raises(ValueError, match="retention"):
        ResponseStore(db_path, retention=0, max_rows=10)
    with pytest.raises(ValueError, match="retention"):
        ResponseStore(db_path, retention=float("nan"), max_rows=10)
    with pytest.raises(ValueError, match="max_rows"):
        ResponseStore(db_path, retention=HOUR, max_rows=0)
