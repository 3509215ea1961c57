"""What every event sequence a decoder emits must look like, for the decoders' tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import get_args

from zerogravity_proxy.events import Event, Finish, UpstreamError, Usage


def assert_well_formed(events: Sequence[object], *, http_status: int = 200) -> None:
    """Only events; at most one finish, one usage and one error (exactly one for a non-200)."""
    assert all(isinstance(e, get_args(Event)) for e in events)
    assert sum(isinstance(e, Finish) for e in events) <= 1
    assert sum(isinstance(e, Usage) for e in events) <= 1
    errors = sum(isinstance(e, UpstreamError) for e in events)
    assert errors == 1 if http_status != 200 else errors <= 1
