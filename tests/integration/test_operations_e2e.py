"""Operating the real daemon: usage records that outlive it, and a live /metrics promtool accepts."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.integration.harness import BIN, GEMINI_URL, Daemon, fetch, running_daemon

FLASH = "gemini-2.5-flash"


def usage(daemon: Daemon) -> dict[str, Any]:
    with urllib.request.urlopen(f"{daemon.sidecar}/v1/usage", timeout=10) as resp:
        summary: dict[str, Any] = json.loads(resp.read())
        return summary


def wait_for_requests(daemon: Daemon, count: int) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while (summary := usage(daemon))["totals"]["requests"] < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return summary


def test_usage_records_survive_sigkill_and_restart(tmp_path: Path) -> None:
    with running_daemon(tmp_path) as daemon:
        with openai.OpenAI(base_url=daemon.base_url, api_key="unused", max_retries=0) as client:
            client.chat.completions.create(
                model=FLASH, messages=[{"role": "user", "content": "count me"}]
            )
            with pytest.raises(openai.RateLimitError):
                client.chat.completions.create(
                    model=FLASH, messages=[{"role": "user", "content": "no [[sim:error=429]]"}]
                )
        status, _ = asyncio.run(fetch(GEMINI_URL, proxy=daemon.proxy, cafile=daemon.ca_cert))
        assert status == 200
        before = wait_for_requests(daemon, 3)
        assert before["totals"]["exchanges"] == 2 and before["totals"]["observed"] == 1
        assert (before["totals"]["completed"], before["totals"]["failed"]) == (2, 1)
        assert before["totals"]["prompt_tokens"] > 0
        # The exchanges are over: a crash now must not lose their records.
        daemon.stop(signal.SIGKILL)
    report = subprocess.run(
        [str(BIN / "zerogravity-proxy"), "usage", "--state-dir", str(daemon.state_dir)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert report.returncode == 0, report.stderr
    assert FLASH in report.stdout
    with running_daemon(tmp_path) as restarted:
        assert usage(restarted)["totals"] == before["totals"]


def test_live_metrics_pass_promtool(tmp_path: Path) -> None:
    with running_daemon(
        tmp_path, ["--public-paths", "/healthz", "--public-paths", "/metrics"]
    ) as daemon:
        with openai.OpenAI(base_url=daemon.base_url, api_key="unused", max_retries=0) as client:
            client.chat.completions.create(
                model=FLASH, messages=[{"role": "user", "content": "measure me"}]
            )
        with urllib.request.urlopen(f"{daemon.sidecar}/metrics", timeout=10) as resp:
            exposition = resp.read()
    assert b"zerogravity_exchanges_total" in exposition
    check = subprocess.run(
        ["promtool", "check", "metrics"], input=exposition, capture_output=True, timeout=30
    )
    assert check.returncode == 0, check.stdout + check.stderr
