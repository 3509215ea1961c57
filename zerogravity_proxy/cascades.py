"""Cascades we started on the Antigravity language server, and the keys their requests carry.

The first request of a cascade is matched by the placeholder marker; every later request of the
same cascade (the LS's follow-ups and parallel requests) carries the same conversation or
trajectory id, which maps back here so the proxy can answer it itself instead of Google.
Bounded and expiring, like every registry here.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable


class Cascades:
    def __init__(
        self,
        max_entries: int = 4096,
        ttl: float = 3600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max = max_entries
        self._ttl = ttl
        self._clock = clock
        self._keys: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def bind(self, keys: Iterable[str], exchange_id: str) -> None:
        """Remember that requests carrying any of `keys` belong to `exchange_id`'s cascade."""
        expires = self._clock() + self._ttl
        for key in keys:
            self._keys[key] = (exchange_id, expires)
            self._keys.move_to_end(key)
        while len(self._keys) > self._max:
            self._keys.popitem(last=False)

    def owner(self, keys: Iterable[str]) -> tuple[str, str] | None:
        """(exchange id, the key that matched) for the first known key, or None."""
        now = self._clock()
        for key in keys:
            entry = self._keys.get(key)
            if entry is None:
                continue
            if entry[1] < now:
                del self._keys[key]
                continue
            return entry[0], key
        return None

    def __len__(self) -> int:
        return len(self._keys)
