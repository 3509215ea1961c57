"""The thought-signature cache: bounded, expiring, and per model."""

from __future__ import annotations

from zerogravity_proxy.signatures import SignatureCache


class Clock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_put_and_get() -> None:
    cache = SignatureCache()
    cache.put("call_1", "sig-1", "gemini-2.5-pro")
    assert cache.get("call_1", "gemini-2.5-pro") == "sig-1"
    assert cache.get("call_2", "gemini-2.5-pro") is None
    assert len(cache) == 1


def test_model_mismatch_returns_nothing_and_keeps_entry() -> None:
    cache = SignatureCache()
    cache.put("call_1", "sig-1", "gemini-3-pro-preview")
    assert cache.get("call_1", "gemini-3-flash-preview") is None
    assert cache.get("call_1", "claude-sonnet-4-6") is None
    assert cache.get("call_1", "gemini-3-pro-preview") == "sig-1"
    assert len(cache) == 1


def test_put_replaces_signature_and_model() -> None:
    cache = SignatureCache()
    cache.put("call_1", "old", "gemini-2.5-pro")
    cache.put("call_1", "new", "gemini-2.5-flash")
    assert cache.get("call_1", "gemini-2.5-pro") is None
    assert cache.get("call_1", "gemini-2.5-flash") == "new"
    assert len(cache) == 1


def test_bound_evicts_least_recently_put() -> None:
    cache = SignatureCache(max_entries=3)
    for i in range(1, 4):
        cache.put(f"call_{i}", f"sig-{i}", "m")
    cache.put("call_1", "sig-1b", "m")  # re-putting refreshes call_1: order is 2, 3, 1
    cache.put("call_4", "sig-4", "m")  # evicts call_2
    assert len(cache) == 3
    cache.put("call_5", "sig-5", "m")  # evicts call_3
    assert len(cache) == 3
    found = {f"call_{i}": cache.get(f"call_{i}", "m") for i in range(1, 6)}
    assert found == {
        "call_1": "sig-1b",
        "call_2": None,
        "call_3": None,
        "call_4": "sig-4",
        "call_5": "sig-5",
    }


def test_bound_of_one() -> None:
    cache = SignatureCache(max_entries=1)
    cache.put("a", "1", "m")
    cache.put("b", "2", "m")
    assert (cache.get("a", "m"), cache.get("b", "m"), len(cache)) == (None, "2", 1)


def test_ttl_with_injected_clock() -> None:
    clock = Clock()
    cache = SignatureCache(ttl=60, clock=clock)
    cache.put("call_1", "sig-1", "m")
    clock.now = 160.0  # exactly at expiry: still valid
    assert cache.get("call_1", "m") == "sig-1"
    clock.now = 160.001
    assert cache.get("call_1", "m") is None
    assert len(cache) == 0  # an expired entry is dropped when seen


def test_ttl_restarts_on_put() -> None:
    clock = Clock()
    cache = SignatureCache(ttl=60, clock=clock)
    cache.put("call_1", "sig-1", "m")
    clock.now = 150.0
    cache.put("call_1", "sig-1", "m")
    clock.now = 200.0
    assert cache.get("call_1", "m") == "sig-1"


def test_expired_entry_for_other_model_is_dropped_too() -> None:
    clock = Clock()
    cache = SignatureCache(ttl=1, clock=clock)
    cache.put("call_1", "sig-1", "m")
    clock.now = 200.0
    assert cache.get("call_1", "other") is None
    assert len(cache) == 0


def test_reading_an_entry_refreshes_it() -> None:
    # The docstring promises LRU: a signature read for a replayed call is "used".
    cache = SignatureCache(max_entries=2)
    cache.put("a", "1", "m")
    cache.put("b", "2", "m")
    assert cache.get("a", "m") == "1"
    cache.put("c", "3", "m")
    assert cache.get("a", "m") == "1"
    assert cache.get("b", "m") is None
