"""The exchange registry: exact lookups, one take, one outcome, deadlines and the size bound."""

from __future__ import annotations

import asyncio
import re

import pytest

from zerogravity_proxy.events import Event, TextDelta, UpstreamError, Usage
from zerogravity_proxy.exchanges import Batch, Exchange, Exchanges, ExchangesFull, Outcome
from zerogravity_proxy.gemini.spec import ExchangeSpec

SPEC = ExchangeSpec(
    model="gemini-2.5-flash",
    upstream_model="gemini-2.5-flash",
    contents=[{"role": "user", "parts": [{"text": "hi"}]}],
)


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def drain(queue: asyncio.Queue[Batch]) -> list[Batch]:
    out: list[Batch] = []
    while not queue.empty():
        out.append(queue.get_nowait())
    return out


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ended() -> list[Exchange]:
    return []


@pytest.fixture
def registry(clock: Clock, ended: list[Exchange]) -> Exchanges:
    return Exchanges(3, clock=clock, on_end=ended.append)


def test_open_get_take_exactly_once(registry: Exchanges, clock: Clock) -> None:
    ex = registry.open(SPEC, endpoint="chat.completions", timeout=30)
    assert re.fullmatch(r"[0-9a-f]{32}", ex.id)
    assert ex.spec is SPEC
    assert ex.endpoint == "chat.completions"
    assert ex.created == 1000.0
    assert ex.deadline == 1030.0
    assert (ex.matched.is_set(), ex.rule, ex.ended) == (False, None, False)
    assert registry.get(ex.id) is ex
    assert list(registry) == [ex] and len(registry) == 1

    assert registry.take(ex.id, "tag") is ex
    assert ex.matched.is_set() and ex.rule == "tag"
    assert registry.take(ex.id, "tag") is None
    assert registry.take(ex.id, "other") is None
    assert ex.rule == "tag"
    assert registry.get(ex.id) is ex  # taking does not remove it


def test_unknown_ids_find_nothing(registry: Exchanges) -> None:
    ex = registry.open(SPEC, endpoint="chat.completions", timeout=30)
    assert registry.get("nope") is None
    assert registry.take("nope", "tag") is None
    assert registry.take(ex.id.upper(), "tag") is None  # exact keys only
    assert registry.take(ex.id[:-1], "tag") is None
    assert registry.take("", "tag") is None
    assert not ex.matched.is_set()


def test_ids_are_distinct(registry: Exchanges) -> None:
    registry.resize(100)
    ids = {registry.open(SPEC, endpoint="e", timeout=1).id for _ in range(50)}
    assert len(ids) == 50


def test_size_bound(registry: Exchanges) -> None:
    exchanges = [registry.open(SPEC, endpoint="e", timeout=1) for _ in range(3)]
    with pytest.raises(ExchangesFull, match=r"^3 exchanges in flight \(max_exchanges\)$"):
        registry.open(SPEC, endpoint="e", timeout=1)
    assert len(registry) == 3
    registry.finish(exchanges[0], Outcome.COMPLETED)
    fourth = registry.open(SPEC, endpoint="e", timeout=1)
    assert registry.get(fourth.id) is fourth and len(registry) == 3


def test_finish_first_wins_and_on_end_once(
    registry: Exchanges, clock: Clock, ended: list[Exchange]
) -> None:
    ex = registry.open(SPEC, endpoint="e", timeout=30)
    clock.now = 1002.5
    assert registry.finish(ex, Outcome.COMPLETED) is True
    clock.now = 1003.0
    assert registry.finish(ex, Outcome.FAILED, "late") is False
    assert registry.finish(ex, Outcome.CANCELLED, "later") is False
    assert ex.outcome is Outcome.COMPLETED and ex.reason is None and ex.ended
    assert ex.ended_at == 1002.5
    assert ended == [ex]
    assert registry.get(ex.id) is None and len(registry) == 0
    assert registry.take(ex.id, "tag") is None  # a finished exchange cannot be matched


def test_finish_records_reason(registry: Exchanges, ended: list[Exchange]) -> None:
    ex = registry.open(SPEC, endpoint="e", timeout=30)
    assert registry.finish(ex, Outcome.CANCELLED, "client went away")
    assert (ex.outcome, ex.reason) == (Outcome.CANCELLED, "client went away")
    assert ended == [ex]


def test_finish_without_on_end() -> None:
    registry = Exchanges(1)
    ex = registry.open(SPEC, endpoint="e", timeout=30)
    assert registry.finish(ex, Outcome.FAILED, "x") is True
    assert len(registry) == 0


def test_deliver_and_upstream_done(registry: Exchanges) -> None:
    ex = registry.open(SPEC, endpoint="e", timeout=30)
    ex.deliver([], 1001.0)  # nothing to deliver: no batch, no first-event time
    assert (ex.first_event_at, ex.queue.qsize()) == (None, 0)
    first: list[Event] = [TextDelta("a")]
    second: list[Event] = [TextDelta("b"), Usage(prompt=1, total=1)]
    ex.deliver(first, 1001.5)
    ex.deliver(second, 1002.0)
    ex.upstream_done()
    assert ex.first_event_at == 1001.5
    assert drain(ex.queue) == [first, second, None]


def test_deliver_and_upstream_done_after_finish_are_noops(registry: Exchanges) -> None:
    ex = registry.open(SPEC, endpoint="e", timeout=30)
    registry.finish(ex, Outcome.CANCELLED, "client went away")
    ex.deliver([TextDelta("late")], 1005.0)
    ex.upstream_done()
    assert ex.queue.empty()
    assert ex.first_event_at is None


def test_expire_fails_late_exchanges(
    registry: Exchanges, clock: Clock, ended: list[Exchange]
) -> None:
    early = registry.open(SPEC, endpoint="e", timeout=5)
    late = registry.open(SPEC, endpoint="e", timeout=10)
    clock.now = 1004.999
    assert registry.expire() == []
    clock.now = 1005.0  # the deadline itself is late
    assert registry.expire() == [early]
    assert (early.outcome, early.reason) == (Outcome.FAILED, "deadline exceeded")
    assert early.ended_at == 1005.0
    assert drain(early.queue) == [None]
    assert late.outcome is None and late.queue.empty()
    assert list(registry) == [late]
    assert ended == [early]

    clock.now = 2000.0
    assert registry.expire() == [late]
    assert drain(late.queue) == [None]
    assert ended == [early, late]
    assert registry.expire() == []
    assert len(registry) == 0


def test_expire_skips_finished(registry: Exchanges, clock: Clock, ended: list[Exchange]) -> None:
    ex = registry.open(SPEC, endpoint="e", timeout=1)
    registry.finish(ex, Outcome.COMPLETED)
    clock.now = 5000.0
    assert registry.expire() == []
    assert ex.outcome is Outcome.COMPLETED
    assert ended == [ex]


def test_abort_all_delivers_error_then_end(registry: Exchanges, clock: Clock) -> None:
    a = registry.open(SPEC, endpoint="e", timeout=30)
    b = registry.open(SPEC, endpoint="e", timeout=30)
    done = registry.open(SPEC, endpoint="e", timeout=30)
    registry.finish(done, Outcome.COMPLETED)
    a.deliver([TextDelta("partial")], 1000.5)
    error = UpstreamError(503, "SHUTTING_DOWN", "The proxy is shutting down.")
    clock.now = 1001.0
    registry.abort_all(error)
    assert drain(a.queue) == [[TextDelta("partial")], [error], None]
    assert drain(b.queue) == [[error], None]
    assert b.first_event_at == 1001.0
    assert done.queue.empty()
    # Aborting tells the consumers; they finish the exchanges themselves.
    assert a.outcome is None and b.outcome is None
    assert set(registry) == {a, b}


def test_resize(registry: Exchanges) -> None:
    registry.resize(1)
    first = registry.open(SPEC, endpoint="e", timeout=1)
    with pytest.raises(ExchangesFull, match=r"^1 exchanges in flight"):
        registry.open(SPEC, endpoint="e", timeout=1)
    registry.resize(2)
    second = registry.open(SPEC, endpoint="e", timeout=1)
    registry.resize(1)  # shrinking does not evict exchanges in flight
    assert set(registry) == {first, second}
    with pytest.raises(ExchangesFull):
        registry.open(SPEC, endpoint="e", timeout=1)


def test_iteration_is_a_snapshot(registry: Exchanges) -> None:
    a = registry.open(SPEC, endpoint="e", timeout=1)
    b = registry.open(SPEC, endpoint="e", timeout=1)
    for ex in registry:
        registry.finish(ex, Outcome.FAILED, "x")  # no "changed size during iteration"
    assert a.ended and b.ended and len(registry) == 0
