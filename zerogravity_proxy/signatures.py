"""A bounded server-side cache of thought signatures, keyed by tool-call id.

OpenAI clients drop unknown fields, so the signature Gemini put on a function call would be lost
by the time the call is replayed. We keep it here and restore it on the way back.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class SignatureCache:
    """LRU with a TTL. A signature is only returned for the model family it was issued for."""

    def __init__(
        self,
        max_entries: int = 50_000,
        ttl: float = 24 * 3600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max = max_entries
        self._ttl = ttl
        self._clock = clock
        self._items: OrderedDict[str, tuple[str, str, float]] = OrderedDict()

    def put(self, call_id: str, signature: str, model: str) -> None:
        self._items[call_id] = (signature, model, self._clock() + self._ttl)
        self._items.move_to_end(call_id)
        while len(self._items) > self._max:
            self._items.popitem(last=False)

    def get(self, call_id: str, model: str) -> str | None:
        item = self._items.get(call_id)
        if item is None:
            return None
        signature, issued_for, expires = item
        if expires < self._clock():
            del self._items[call_id]
            return None
        self._items.move_to_end(call_id)
        return signature if issued_for == model else None

    def __len__(self) -> int:
        return len(self._items)
