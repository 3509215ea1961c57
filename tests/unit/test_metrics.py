"""Metrics: exact values after recording, bounded labels, the quota collector, the exposition.

The exposition is checked by the real `promtool check metrics` (the Debian/Ubuntu `prometheus`
package). Without it the test installs it with apt when it can, and FAILS when it cannot: a
missing linter must never pass for a clean exposition.
"""

from __future__ import annotations

import asyncio
import math
import os
import platform
import shutil
import subprocess
import time
from typing import Any

import mitmproxy.version
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST as OPENMETRICS
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from zerogravity_proxy import __version__
from zerogravity_proxy.events import UpstreamError, Usage
from zerogravity_proxy.exchanges import Exchange, Outcome
from zerogravity_proxy.gemini.available import parse_available_models
from zerogravity_proxy.gemini.spec import ExchangeSpec
from zerogravity_proxy.metrics import (
    DURATION_BUCKETS,
    ENDPOINTS,
    FLOW_KINDS,
    Metrics,
    error_class,
    handler,
)
from zerogravity_proxy.openai.models import DEFAULT_MODELS
from zerogravity_proxy.runtime import Runtime
from zerogravity_proxy.settings import Settings

FLASH = "gemini-2.5-flash"


@pytest.fixture
def runtime() -> Runtime:
    return Runtime(Settings())


@pytest.fixture
def metrics(runtime: Runtime) -> Metrics:
    return Metrics(runtime)


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def exchange(
    *,
    model: str = FLASH,
    endpoint: str = "chat.completions",
    outcome: Outcome | None = Outcome.COMPLETED,
    created: float = 100.0,
    first_event_at: float | None = 100.3,
    ended_at: float | None = 102.5,
) -> Exchange:
    spec = ExchangeSpec(model=model, upstream_model=model, contents=[])
    ex = Exchange("e" * 32, spec, endpoint, created, created + 60)
    ex.first_event_at, ex.outcome, ex.ended_at = first_event_at, outcome, ended_at
    return ex


def quota_body(**fractions: Any) -> dict[str, Any]:
    return {
        "models": {
            wire_id: {"quotaInfo": info if isinstance(info, dict) else {"remainingFraction": info}}
            for wire_id, info in fractions.items()
        }
    }


# --- registry and start-up state ------------------------------------------------------------


def test_each_metrics_has_its_own_registry(runtime: Runtime) -> None:
    first, second = Metrics(runtime), Metrics(runtime)  # would raise on a shared registry
    first.record_flow("observed")
    assert value(first, "zerogravity_intercepted_flows_total", kind="observed") == 1
    assert value(second, "zerogravity_intercepted_flows_total", kind="observed") == 0


def test_build_info(metrics: Metrics) -> None:
    labels = {
        "version": __version__,
        "mitmproxy_version": mitmproxy.version.VERSION,
        "python_version": platform.python_version(),
    }
    assert value(metrics, "zerogravity_build_info", **labels) == 1


def test_known_series_exist_at_zero(metrics: Metrics, runtime: Runtime) -> None:
    for kind in FLOW_KINDS:
        assert value(metrics, "zerogravity_intercepted_flows_total", kind=kind) == 0
    assert (
        value(metrics, "zerogravity_upstream_errors_total", status="429", **{"class": "quota"}) == 0
    )
    for model in DEFAULT_MODELS["gemini"]:
        for endpoint in ENDPOINTS:
            for outcome in ("completed", "failed", "cancelled"):
                labels = {"endpoint": endpoint, "model": model, "outcome": outcome}
                assert value(metrics, "zerogravity_exchanges_total", driver="direct", **labels) == 0
        for name in ("input_tokens", "cached_input_tokens", "output_tokens"):
            labels = {"model": model, "source": "exchange"}
            assert value(metrics, f"zerogravity_{name}_total", **labels) == 0
        assert (
            value(metrics, "zerogravity_estimated_cost_usd_total", model=model, source="exchange")
            == 0
        )
    # Histograms are created on first use only.
    assert (
        value(
            metrics,
            "zerogravity_exchange_duration_seconds_count",
            endpoint="responses",
            model=FLASH,
        )
        is None
    )


def test_new_catalogue_and_driver_are_pre_initialised(metrics: Metrics, runtime: Runtime) -> None:
    runtime.apply(Settings(driver="antigravity"))
    runtime.learn_models(["gemini-9-ultra"])
    metrics.refresh()
    labels = {"endpoint": "responses", "outcome": "failed"}
    assert (
        value(
            metrics,
            "zerogravity_exchanges_total",
            model="gemini-9-ultra",
            driver="antigravity",
            **labels,
        )
        == 0
    )
    assert (
        value(
            metrics,
            "zerogravity_exchanges_total",
            model="gemini-3-flash",
            driver="antigravity",
            **labels,
        )
        == 0
    )


def test_in_flight_reads_the_registry_at_scrape_time(metrics: Metrics, runtime: Runtime) -> None:
    assert value(metrics, "zerogravity_exchanges_in_flight") == 0
    spec = ExchangeSpec(model=FLASH, upstream_model=FLASH, contents=[])
    opened = [runtime.exchanges.open(spec, endpoint="responses", timeout=60) for _ in range(3)]
    assert value(metrics, "zerogravity_exchanges_in_flight") == 3
    runtime.exchanges.finish(opened[0], Outcome.COMPLETED)
    assert value(metrics, "zerogravity_exchanges_in_flight") == 2


# --- exchanges ------------------------------------------------------------------------------


def test_record_exchange(metrics: Metrics) -> None:
    metrics.record_exchange(exchange())
    metrics.record_exchange(exchange(outcome=Outcome.FAILED, first_event_at=None, ended_at=130.0))
    base = {"endpoint": "chat.completions", "model": FLASH, "driver": "direct"}
    assert value(metrics, "zerogravity_exchanges_total", outcome="completed", **base) == 1
    assert value(metrics, "zerogravity_exchanges_total", outcome="failed", **base) == 1
    assert value(metrics, "zerogravity_exchanges_total", outcome="cancelled", **base) == 0
    labels = {"endpoint": "chat.completions", "model": FLASH}
    duration = "zerogravity_exchange_duration_seconds"
    assert value(metrics, f"{duration}_count", **labels) == 2
    assert value(metrics, f"{duration}_sum", **labels) == pytest.approx(2.5 + 30.0)
    assert value(metrics, f"{duration}_bucket", le="2.56", **labels) == 1
    assert value(metrics, f"{duration}_bucket", le="20.48", **labels) == 1
    assert value(metrics, f"{duration}_bucket", le="40.96", **labels) == 2
    ttft = "zerogravity_time_to_first_token_seconds"
    assert value(metrics, f"{ttft}_count", **labels) == 1  # only the one with a first event
    assert value(metrics, f"{ttft}_sum", **labels) == pytest.approx(0.3)
    assert value(metrics, f"{ttft}_bucket", le="0.16", **labels) == 0
    assert value(metrics, f"{ttft}_bucket", le="0.32", **labels) == 1


def test_histograms_use_the_otel_genai_buckets(metrics: Metrics) -> None:
    metrics.record_exchange(exchange())
    labels = {"endpoint": "chat.completions", "model": FLASH}
    for bound in [*(str(b) for b in DURATION_BUCKETS), "+Inf"]:
        assert (
            value(metrics, "zerogravity_exchange_duration_seconds_bucket", le=bound, **labels)
            is not None
        )
    assert (
        DURATION_BUCKETS[0] == 0.01
        and DURATION_BUCKETS[-1] == 81.92
        and len(DURATION_BUCKETS) == 14
    )


def test_exchange_odd_values_are_bounded(metrics: Metrics) -> None:
    metrics.record_exchange(
        exchange(model="gpt-4o", endpoint="embeddings", outcome=None, ended_at=None)
    )
    labels = {"endpoint": "other", "model": "other", "driver": "direct", "outcome": "other"}
    assert value(metrics, "zerogravity_exchanges_total", **labels) == 1
    assert (
        value(
            metrics, "zerogravity_exchange_duration_seconds_count", endpoint="other", model="other"
        )
        is None
    )


# --- tokens and cost ------------------------------------------------------------------------


def test_record_usage_separate_counters(metrics: Metrics) -> None:
    usage = Usage(
        prompt=1000, cached=600, candidates=50, thoughts=200, tool_use_prompt=7, total=1257
    )
    metrics.record_usage(FLASH, usage, "exchange", cost=0.0125)
    metrics.record_usage(FLASH, Usage(prompt=10, candidates=5), "exchange", cost=None)
    labels = {"model": FLASH, "source": "exchange"}
    assert value(metrics, "zerogravity_input_tokens_total", **labels) == 1017
    assert value(metrics, "zerogravity_cached_input_tokens_total", **labels) == 600
    assert (
        value(metrics, "zerogravity_output_tokens_total", **labels) == 255
    )  # candidates + thoughts
    assert value(metrics, "zerogravity_reasoning_output_tokens_total", **labels) == 200
    assert value(metrics, "zerogravity_estimated_cost_usd_total", **labels) == pytest.approx(0.0125)
    assert value(metrics, "zerogravity_input_tokens_total", model=FLASH, source="observed") is None


def test_observed_source_gets_all_five_counters_at_once(metrics: Metrics) -> None:
    metrics.record_usage(FLASH, Usage(prompt=3), "observed")
    labels = {"model": FLASH, "source": "observed"}
    assert value(metrics, "zerogravity_input_tokens_total", **labels) == 3
    for name in (
        "cached_input_tokens",
        "output_tokens",
        "reasoning_output_tokens",
        "estimated_cost_usd",
    ):
        assert value(metrics, f"zerogravity_{name}_total", **labels) == 0


@pytest.mark.parametrize("cost", [-1.0, math.nan, math.inf, 0.0])
def test_bad_costs_add_nothing(metrics: Metrics, cost: float) -> None:
    metrics.record_usage(FLASH, Usage(prompt=1), "exchange", cost=cost)
    assert (
        value(metrics, "zerogravity_estimated_cost_usd_total", model=FLASH, source="exchange") == 0
    )


def test_negative_counts_never_raise(metrics: Metrics) -> None:
    metrics.record_usage(FLASH, Usage(prompt=-5, cached=-1, candidates=-2, thoughts=-3), "exchange")
    assert value(metrics, "zerogravity_input_tokens_total", model=FLASH, source="exchange") == 0


# --- label bounding -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "label"),
    [
        (FLASH, FLASH),
        (f"models/{FLASH}", FLASH),
        ("gemini-2.5-flash-preview-09-2025", "other"),
        ("gpt-4o", "other"),
        ("", "other"),
        (None, "other"),
    ],
)
def test_model_label(metrics: Metrics, name: str | None, label: str) -> None:
    assert metrics.model_label(name) == label


def test_model_label_accepts_upstream_ids_and_quota_book_ids(runtime: Runtime) -> None:
    runtime.apply(Settings(models=("fast=gemini-2.5-flash-lite",)))
    metrics = Metrics(runtime)
    assert metrics.model_label("fast") == "fast"
    assert metrics.model_label("gemini-2.5-flash-lite") == "gemini-2.5-flash-lite"
    assert metrics.model_label("claude-opus-4-6-thinking") == "other"
    long_id = "x" * 200
    runtime.quota.update(
        parse_available_models(quota_body(**{"claude-opus-4-6-thinking": 0.5, long_id: 0.5})), 1.0
    )
    assert metrics.model_label("claude-opus-4-6-thinking") == "claude-opus-4-6-thinking"
    assert metrics.model_label(long_id) == "other"
    metrics.record_usage("some-future-model", Usage(prompt=4), "observed")
    metrics.record_usage("another-one", Usage(prompt=5), "observed")
    assert value(metrics, "zerogravity_input_tokens_total", model="other", source="observed") == 9


# --- upstream errors and flows --------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "cls"),
    [
        (UpstreamError(429, "RESOURCE_EXHAUSTED", "", quota="quota_exhausted"), "quota"),
        (UpstreamError(429, "RESOURCE_EXHAUSTED", "", quota="rate_limit"), "rate_limit"),
        (UpstreamError(429, "RESOURCE_EXHAUSTED", ""), "rate_limit"),
        (UpstreamError(400, "INVALID_ARGUMENT", ""), "invalid_argument"),
        (UpstreamError(500, "INTERNAL", ""), "server"),
        (UpstreamError(503, "UNAVAILABLE", ""), "server"),
        (UpstreamError(502, "STREAM_TRUNCATED", ""), "server"),
        (UpstreamError(403, "PERMISSION_DENIED", ""), "other"),
        (UpstreamError(404, "NOT_FOUND", ""), "other"),
    ],
)
def test_upstream_error_classes(metrics: Metrics, error: UpstreamError, cls: str) -> None:
    assert error_class(error) == cls
    metrics.record_upstream_error(error)
    metrics.record_upstream_error(error)
    assert (
        value(
            metrics, "zerogravity_upstream_errors_total", status=str(error.status), **{"class": cls}
        )
        == 2
    )


def test_upstream_error_odd_status_is_bounded(metrics: Metrics) -> None:
    metrics.record_upstream_error(UpstreamError(0, "WEIRD", ""))
    assert (
        value(metrics, "zerogravity_upstream_errors_total", status="other", **{"class": "other"})
        == 1
    )


def test_record_flow(metrics: Metrics) -> None:
    metrics.record_flow("rewritten")
    metrics.record_flow("rewritten")
    metrics.record_flow("passed_through")
    assert value(metrics, "zerogravity_intercepted_flows_total", kind="rewritten") == 2
    assert value(metrics, "zerogravity_intercepted_flows_total", kind="passed_through") == 1
    assert value(metrics, "zerogravity_intercepted_flows_total", kind="synthetic") == 0


# --- quota ----------------------------------------------------------------------------------


def test_quota_collector_reads_the_book_at_scrape_time(metrics: Metrics, runtime: Runtime) -> None:
    name = "zerogravity_quota_remaining_ratio"
    assert value(metrics, name, model="gemini-3-flash") is None
    body = quota_body(
        **{
            "gemini-3-flash": 0.75,
            "claude-sonnet-4-6": {"resetTime": "2026-01-01T00:00:00Z"},  # exhausted, no fraction
            "gemini-3.1-pro-high": {},  # nothing known
            "gemini-2.5-flash": "0.2",
        }
    )
    runtime.quota.update(parse_available_models(body), time.time())
    assert value(metrics, name, model="gemini-3-flash") == 0.75
    assert value(metrics, name, model="claude-sonnet-4-6") == 0
    assert value(metrics, name, model="gemini-3.1-pro-high") is None
    assert value(metrics, name, model="gemini-2.5-flash") == 0.2
    runtime.quota.update(parse_available_models(quota_body(**{"gemini-3-flash": 0.5})), time.time())
    assert value(metrics, name, model="gemini-3-flash") == 0.5
    assert value(metrics, name, model="gemini-2.5-flash") == 0.2  # answers merge


# --- event loop lag -------------------------------------------------------------------------


async def test_loop_lag_sampler_measures_a_blocked_loop(metrics: Metrics) -> None:
    task = asyncio.get_running_loop().create_task(metrics.sample_loop_lag(0.02))
    await asyncio.sleep(0.005)  # the sampler is asleep now
    time.sleep(0.1)  # block the loop: the sampler wakes ~80 ms late
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (value(metrics, "zerogravity_event_loop_lag_samples_seconds_count") or 0) >= 1
    assert (value(metrics, "zerogravity_event_loop_lag_samples_seconds_sum") or 0) >= 0.05
    assert (
        value(metrics, "zerogravity_event_loop_lag_samples_seconds_bucket", le="0.025") is not None
    )


def test_observe_loop_lag_clamps_early_wakeups(metrics: Metrics) -> None:
    metrics.observe_loop_lag(-0.001)
    assert value(metrics, "zerogravity_event_loop_lag_seconds") == 0
    metrics.observe_loop_lag(0.2)
    assert value(metrics, "zerogravity_event_loop_lag_seconds") == 0.2
    assert value(metrics, "zerogravity_event_loop_lag_samples_seconds_count") == 2


# --- exposition -----------------------------------------------------------------------------


def busy(metrics: Metrics, runtime: Runtime) -> Metrics:
    """A registry with every metric family holding samples."""
    metrics.record_exchange(exchange())
    metrics.record_usage(
        FLASH, Usage(prompt=10, cached=2, candidates=3, thoughts=4), "exchange", 0.001
    )
    metrics.record_usage("unknown", Usage(prompt=1), "observed")
    metrics.record_upstream_error(UpstreamError(429, "RESOURCE_EXHAUSTED", "", quota="rate_limit"))
    metrics.record_flow("observed")
    metrics.observe_loop_lag(0.003)
    runtime.quota.update(parse_available_models(quota_body(**{"gemini-3-flash": 0.5})), 1.0)
    return metrics


@pytest.fixture(scope="session")
def promtool() -> str:
    """The promtool binary; installed with apt when missing (CI); a failure when impossible."""
    found = shutil.which("promtool")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        pytest.fail(
            "promtool is missing: install the `prometheus` package (apt-get install prometheus)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        [apt, "update"],
        [apt, "install", "-y", "--no-install-recommends", "prometheus"],
    ):
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        if done.returncode != 0:
            pytest.fail(f"cannot install promtool ({' '.join(command)}):\n{done.stderr[-2000:]}")
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("the prometheus package installed no promtool")
    return found


def test_exposition_passes_promtool(metrics: Metrics, runtime: Runtime, promtool: str) -> None:
    text = generate_latest(busy(metrics, runtime).registry)
    for family in (
        "zerogravity_exchanges_total",
        "zerogravity_exchange_duration_seconds",
        "zerogravity_time_to_first_token_seconds",
        "zerogravity_input_tokens_total",
        "zerogravity_cached_input_tokens_total",
        "zerogravity_output_tokens_total",
        "zerogravity_reasoning_output_tokens_total",
        "zerogravity_estimated_cost_usd_total",
        "zerogravity_upstream_errors_total",
        "zerogravity_intercepted_flows_total",
        "zerogravity_exchanges_in_flight",
        "zerogravity_event_loop_lag_seconds",
        "zerogravity_quota_remaining_ratio",
        "zerogravity_build_info",
        "process_resident_memory_bytes",
    ):
        assert f"\n# TYPE {family} ".encode() in text, family
    done = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, timeout=60, check=False
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, b"")


def test_openmetrics_exposition_parses(metrics: Metrics, runtime: Runtime) -> None:
    text = openmetrics_latest(busy(metrics, runtime).registry).decode()  # type: ignore[no-untyped-call]
    parsed = text_string_to_metric_families(text)  # type: ignore[no-untyped-call]
    families = {f.name: f for f in parsed}
    assert families["zerogravity_build"].type == "info"
    assert families["zerogravity_input_tokens"].type == "counter"
    assert families["zerogravity_time_to_first_token_seconds"].type == "histogram"


# --- the aiohttp handler --------------------------------------------------------------------


async def test_handler_serves_on_a_real_socket(metrics: Metrics, runtime: Runtime) -> None:
    busy(metrics, runtime)
    app = web.Application()
    app.router.add_get("/metrics", handler(metrics))
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        response = await client.get("/metrics")
        assert response.status == 200
        assert response.headers["Content-Type"] == CONTENT_TYPE_PLAIN_0_0_4
        body = await response.text()
        labels = 'model="gemini-2.5-flash",source="exchange"'
        assert f"zerogravity_input_tokens_total{{{labels}}} 10.0" in body

        response = await client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
        assert response.status == 200
        assert response.headers["Content-Type"] == OPENMETRICS
        assert (await response.text()).endswith("# EOF\n")

        response = await client.get(
            "/metrics", params={"name[]": "zerogravity_quota_remaining_ratio"}
        )
        assert (await response.text()).splitlines()[2:] == [
            'zerogravity_quota_remaining_ratio{model="gemini-3-flash"} 0.5'
        ]

        response = await client.get("/metrics", headers={"Accept-Encoding": "gzip"})
        assert response.status == 200 and response.headers["Content-Encoding"] == "gzip"
