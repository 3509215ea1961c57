from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests.integration.harness import Daemon, running_daemon


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One daemon per test module: fresh machine, no credentials, so the simulator serves."""
    tmp: Path = tmp_path_factory.mktemp("daemon")
    with running_daemon(tmp, ["--max-body-size", str(4 * 1024 * 1024)]) as d:
        yield d


@pytest.fixture
def client(daemon: Daemon) -> Iterator[openai.OpenAI]:
    """The official client, validating every response strictly, with retries off."""
    with openai.OpenAI(
        base_url=daemon.base_url,
        api_key="unused",
        max_retries=0,
        timeout=30,
        _strict_response_validation=True,
    ) as c:
        yield c
