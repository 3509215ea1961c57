"""Fixtures for every addon test module."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """mitmproxy swallows addon exceptions into ERROR logs: fail the test on any."""
    yield
    # caplog.records would be the teardown's: the test's own records are the call phase's.
    records = caplog.get_records("call")
    assert [r.getMessage() for r in records if r.levelno >= logging.ERROR] == []
