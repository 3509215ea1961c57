"""A real Prometheus server scrapes the daemon's `/metrics` and sees the tokens of a request.

Needs the `prometheus` binary (Debian/Ubuntu package `prometheus`; CI installs it). Without it
the test fails: a scrape that was never tried must not pass.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.integration.harness import free_port, get_json, running_daemon

FLASH = "gemini-2.5-flash"
SCRAPE_SECONDS = 1
TIMEOUT_SECONDS = 30


def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        pytest.fail("the prometheus binary is missing: apt-get install -y prometheus")
    return found


@contextmanager
def running_prometheus(tmp: Path, target: str) -> Iterator[str]:
    """Start Prometheus scraping `http://<target>/metrics` every second; yield its base URL."""
    tmp.mkdir(parents=True, exist_ok=True)
    config = tmp / "prometheus.yml"
    config.write_text(  # JSON is YAML
        json.dumps(
            {
                "global": {
                    "scrape_interval": f"{SCRAPE_SECONDS}s",
                    "scrape_timeout": f"{SCRAPE_SECONDS}s",
                },
                "scrape_configs": [
                    {
                        "job_name": "zerogravity",
                        "metrics_path": "/metrics",
                        "static_configs": [{"targets": [target]}],
                    }
                ],
            }
        )
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp / "prometheus.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                prometheus_binary(),
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=tmp,
        )
    try:
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"prometheus exited with {process.returncode}:\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"prometheus not ready in {TIMEOUT_SECONDS}s:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def query(prometheus: str, promql: str) -> list[dict[str, Any]]:
    """An instant query; the result vector (each item: `metric` labels, `value` [t, "v"])."""
    answer = get_json(f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': promql})}")
    assert answer["status"] == "success", answer
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


def scrape_state(prometheus: str) -> str:
    targets = get_json(f"{prometheus}/api/v1/targets")["data"]["activeTargets"]
    return json.dumps(
        [{k: t.get(k) for k in ("scrapeUrl", "health", "lastError")} for t in targets]
    )


def test_prometheus_scrapes_the_token_counters(tmp_path: Path) -> None:
    args = ["--public-paths", "/healthz", "--public-paths", "/metrics"]
    with running_daemon(tmp_path, args) as daemon:
        with openai.OpenAI(
            base_url=daemon.base_url, api_key="unused", max_retries=0, timeout=30
        ) as client:
            completion = client.chat.completions.create(
                model=FLASH, messages=[{"role": "user", "content": "Hello there"}]
            )
        usage = completion.usage
        assert usage is not None and usage.prompt_tokens > 0

        target = daemon.sidecar.removeprefix("http://")
        with running_prometheus(tmp_path / "prometheus", target) as prometheus:
            promql = f'zerogravity_input_tokens_total{{model="{FLASH}",source="exchange"}}'
            deadline = time.monotonic() + TIMEOUT_SECONDS
            while True:
                result = query(prometheus, promql)
                if result and float(result[0]["value"][1]) > 0:
                    break
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"no {promql} > 0 within {TIMEOUT_SECONDS}s; targets: "
                        f"{scrape_state(prometheus)}\n{daemon.log()}"
                    )
                time.sleep(0.5)

            # The one request's tokens, exactly as its OpenAI usage reported them.
            assert float(result[0]["value"][1]) == usage.prompt_tokens
            output = query(
                prometheus, f'zerogravity_output_tokens_total{{model="{FLASH}",source="exchange"}}'
            )
            assert float(output[0]["value"][1]) == usage.completion_tokens
            exchanges = query(
                prometheus, f'sum(zerogravity_exchanges_total{{model="{FLASH}"}}) by (outcome)'
            )
            by_outcome = {r["metric"]["outcome"]: float(r["value"][1]) for r in exchanges}
            assert by_outcome == {"completed": 1.0, "failed": 0.0, "cancelled": 0.0}
            assert query(prometheus, 'up{job="zerogravity"}')[0]["value"][1] == "1"
