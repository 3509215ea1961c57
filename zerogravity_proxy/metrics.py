"""Prometheus metrics of one daemon, in its own registry, served by the sidecar at `/metrics`.

Naming follows Prometheus practice: the `zerogravity_` prefix, base units (`_seconds`), `_total`
on counters, and bounded labels only. A `model` label is a catalogue name, a catalogue upstream
id or a wire id the quota book has seen; anything else is `other`. Token kinds are separate
counters because cached ⊂ input and reasoning ⊂ output (one `type` label would make `sum()`
double count).

Pre-initialised series (so `rate()` sees the first event): every flow kind, the usual upstream
error classes, and for each catalogue model every (endpoint, outcome) of `exchanges_total` (for
the current driver) and its `source="exchange"` token and cost counters. These are the series
a daemon in use has anyway, just earlier. Histograms (17 series per child) and
`source="observed"` series are created on first use.

Recording methods are cheap, bound their own labels and never raise on odd input.
"""

from __future__ import annotations

import asyncio
import math
import platform
from collections.abc import Iterable, Iterator, Sized
from typing import Final, Literal, Protocol

import mitmproxy.version
from aiohttp.typedefs import Handler
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
)
from prometheus_client.aiohttp import make_aiohttp_handler
from prometheus_client.gc_collector import GCCollector
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from zerogravity_proxy import __version__
from zerogravity_proxy.events import UpstreamError, Usage
from zerogravity_proxy.exchanges import Exchange, Outcome
from zerogravity_proxy.gemini.available import QuotaBook
from zerogravity_proxy.openai.models import Catalogue
from zerogravity_proxy.settings import Settings

__all__ = [
    "DURATION_BUCKETS",
    "ENDPOINTS",
    "FLOW_KINDS",
    "OTHER",
    "FlowKind",
    "Metrics",
    "MetricsRuntime",
    "QuotaCollector",
    "TokenSource",
    "error_class",
    "handler",
]

PREFIX: Final = "zerogravity_"
OTHER: Final = "other"

DURATION_BUCKETS: Final = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)
"""OpenTelemetry GenAI `gen_ai.client.operation.duration` boundaries, in seconds."""

LOOP_LAG_BUCKETS: Final = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
LOOP_LAG_INTERVAL: Final = 0.5
"""Seconds the loop-lag probe sleeps; the oversleep is the lag."""

ENDPOINTS: Final = ("chat.completions", "responses")
OUTCOMES: Final = tuple(o.value for o in Outcome)
TokenSource = Literal["exchange", "observed"]
FlowKind = Literal["rewritten", "synthetic", "refused", "observed", "passed_through"]
FLOW_KINDS: Final[tuple[FlowKind, ...]] = (
    "rewritten",
    "synthetic",
    "refused",
    "observed",
    "passed_through",
)
ERROR_CLASSES: Final = ("rate_limit", "quota", "invalid_argument", "server", OTHER)
KNOWN_ERRORS: Final = (
    ("400", "invalid_argument"),
    ("429", "rate_limit"),
    ("429", "quota"),
    ("500", "server"),
    ("502", "server"),
    ("503", "server"),
    ("504", "server"),
)
MAX_MODEL_LABEL: Final = 128
"""Longer wire ids from the quota book are not label values (the body is untrusted)."""


class MetricsRuntime(Protocol):
    """The parts of `Runtime` the metrics read (a Protocol, so runtime.py may import us)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def exchanges(self) -> Sized: ...
    @property
    def quota(self) -> QuotaBook: ...
    @property
    def catalogue(self) -> Catalogue: ...


def error_class(error: UpstreamError) -> str:
    """rate_limit, quota, invalid_argument, server or other, from an upstream error."""
    if error.status == 429:
        return "quota" if error.quota == "quota_exhausted" else "rate_limit"
    if error.status == 400:
        return "invalid_argument"
    if error.status >= 500:
        return "server"
    return OTHER


class QuotaCollector:
    """`zerogravity_quota_remaining_ratio{model}`, read from the quota book at scrape time.

    A model the answer reported as exhausted without a fraction reads 0; a model with neither
    a fraction nor a reset time is left out (nothing is known).
    """

    NAME: Final = PREFIX + "quota_remaining_ratio"
    HELP: Final = (
        "Remaining fraction (0-1) of each model's quota, as the last fetchAvailableModels "
        "answer the proxy saw reported it."
    )

    def __init__(self, quota: QuotaBook) -> None:
        self.quota = quota

    def describe(self) -> Iterable[Metric]:
        return [GaugeMetricFamily(self.NAME, self.HELP, labels=["model"])]

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(self.NAME, self.HELP, labels=["model"])
        for wire_id, entry in self.quota.snapshot().models.items():
            if len(wire_id) > MAX_MODEL_LABEL:
                continue
            if entry.remaining_fraction is not None:
                family.add_metric([wire_id], entry.remaining_fraction)
            elif entry.exhausted:
                family.add_metric([wire_id], 0.0)
        yield family


class Metrics:
    """Every metric of the daemon, in a registry of its own (never prometheus_client's global).

    One per Runtime: a script reload or a test builds a fresh one, and nothing collides.
    """

    def __init__(self, runtime: MetricsRuntime) -> None:
        self.runtime = runtime
        # No `*_created` series: Prometheus before 2.50 stores each as a series of its own,
        # doubling every counter and histogram. (A process-wide switch: we own the process.)
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        registry = self.registry
        # The standard process, GC and platform metrics, as the global registry would have.
        ProcessCollector(registry=registry)
        GCCollector(registry=registry)
        PlatformCollector(registry=registry)

        self.exchanges = Counter(
            PREFIX + "exchanges_total",
            "Exchanges (client requests served through Gemini) by terminal outcome.",
            ["endpoint", "model", "driver", "outcome"],
            registry=registry,
        )
        self.exchange_duration = Histogram(
            PREFIX + "exchange_duration_seconds",
            "Time from an exchange's opening to its terminal outcome.",
            ["endpoint", "model"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.time_to_first_token = Histogram(
            PREFIX + "time_to_first_token_seconds",
            "Time from an exchange's opening to its first upstream event "
            "(only exchanges that got one).",
            ["endpoint", "model"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.input_tokens = Counter(
            PREFIX + "input_tokens_total",
            "Input tokens: Gemini promptTokenCount + toolUsePromptTokenCount "
            "(the OpenAI prompt_tokens); includes cached input.",
            ["model", "source"],
            registry=registry,
        )
        self.cached_input_tokens = Counter(
            PREFIX + "cached_input_tokens_total",
            "Input tokens served from Gemini's context cache (cachedContentTokenCount); "
            "a subset of input tokens.",
            ["model", "source"],
            registry=registry,
        )
        self.output_tokens = Counter(
            PREFIX + "output_tokens_total",
            "Output tokens: Gemini candidatesTokenCount + thoughtsTokenCount "
            "(the OpenAI completion_tokens); includes reasoning tokens.",
            ["model", "source"],
            registry=registry,
        )
        self.reasoning_output_tokens = Counter(
            PREFIX + "reasoning_output_tokens_total",
            "Reasoning (thinking) tokens, Gemini thoughtsTokenCount; a subset of output tokens.",
            ["model", "source"],
            registry=registry,
        )
        self.estimated_cost = Counter(
            PREFIX + "estimated_cost_usd_total",
            "Estimated cost in US dollars from the configured prices "
            "(responses of models without a price add nothing).",
            ["model", "source"],
            registry=registry,
        )
        self.upstream_errors = Counter(
            PREFIX + "upstream_errors_total",
            "Failures reported by (or on the way to) the Gemini upstream, by HTTP status and "
            "class (rate_limit, quota, invalid_argument, server, other).",
            ["status", "class"],
            registry=registry,
        )
        self.intercepted_flows = Counter(
            PREFIX + "intercepted_flows_total",
            "Google API flows through the proxy: rewritten (carried an exchange), synthetic "
            "(answered locally), refused, observed (unmatched generate calls) or "
            "passed_through (other Google API calls).",
            ["kind"],
            registry=registry,
        )
        self.in_flight = Gauge(
            PREFIX + "exchanges_in_flight",
            "Exchanges open right now.",
            registry=registry,
        )
        self.in_flight.set_function(lambda: len(self.runtime.exchanges))
        self.loop_lag = Gauge(
            PREFIX + "event_loop_lag_seconds",
            f"Event loop lag: how late the last {LOOP_LAG_INTERVAL} s probe sleep woke up.",
            registry=registry,
        )
        self.loop_lag_samples = Histogram(
            PREFIX + "event_loop_lag_samples_seconds",
            f"Event loop lag of every {LOOP_LAG_INTERVAL} s probe (catches spikes between scrapes).",
            buckets=LOOP_LAG_BUCKETS,
            registry=registry,
        )
        self.build_info = Info(
            PREFIX + "build",
            "Versions of zerogravity-proxy, mitmproxy and Python.",
            registry=registry,
        )
        self.build_info.info(
            {
                "version": __version__,
                "mitmproxy_version": mitmproxy.version.VERSION,
                "python_version": platform.python_version(),
            }
        )
        self.quota = QuotaCollector(runtime.quota)
        registry.register(self.quota)

        self._catalogue: Catalogue | None = None
        self._driver: str | None = None
        self._known: frozenset[str] = frozenset()
        for kind in FLOW_KINDS:
            self.intercepted_flows.labels(kind)
        for status, cls in KNOWN_ERRORS:
            self.upstream_errors.labels(status, cls)
        self.refresh()

    # --- labels ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Follow the runtime's catalogue and driver: new allow-list, new pre-initialised series.

        Called by every recording method (an identity check when nothing changed).
        """
        runtime = self.runtime
        catalogue, driver = runtime.catalogue, runtime.settings.driver
        if catalogue is self._catalogue and driver == self._driver:
            return
        self._catalogue, self._driver = catalogue, driver
        names = {m.id for m in catalogue} | {m.upstream.removeprefix("models/") for m in catalogue}
        self._known = frozenset(names)
        for model in (m.id for m in catalogue):
            for endpoint in ENDPOINTS:
                for outcome in OUTCOMES:
                    self.exchanges.labels(endpoint, model, driver, outcome)
            self._tokens_of(model, "exchange")

    def model_label(self, name: str | None) -> str:
        """`name` if it is a catalogue model or a wire id the quota book knows, else `other`."""
        if not name:
            return OTHER
        name = name.removeprefix("models/")
        self.refresh()
        if name in self._known:
            return name
        if len(name) <= MAX_MODEL_LABEL and name in self.runtime.quota.models:
            return name
        return OTHER

    @staticmethod
    def endpoint_label(endpoint: str) -> str:
        return endpoint if endpoint in ENDPOINTS else OTHER

    # --- recording ------------------------------------------------------------------------

    def record_exchange(self, exchange: Exchange) -> None:
        """An exchange ended: its outcome, its duration and its time to first event."""
        endpoint = self.endpoint_label(exchange.endpoint)
        model = self.model_label(exchange.spec.model)
        outcome = exchange.outcome.value if exchange.outcome is not None else OTHER
        self.exchanges.labels(endpoint, model, self.runtime.settings.driver, outcome).inc()
        if exchange.ended_at is not None:
            duration = exchange.ended_at - exchange.created
            self.exchange_duration.labels(endpoint, model).observe(max(duration, 0.0))
        if exchange.first_event_at is not None:
            ttft = exchange.first_event_at - exchange.created
            self.time_to_first_token.labels(endpoint, model).observe(max(ttft, 0.0))

    def record_usage(
        self, model: str | None, usage: Usage, source: TokenSource, cost: float | None = None
    ) -> None:
        """The final usage of one Gemini response (Gemini's counts are cumulative: the last)."""
        input_, cached, output, reasoning, spend = self._tokens_of(self.model_label(model), source)
        input_.inc(max(usage.prompt, 0) + max(usage.tool_use_prompt, 0))
        cached.inc(max(usage.cached, 0))
        output.inc(max(usage.candidates, 0) + max(usage.thoughts, 0))
        reasoning.inc(max(usage.thoughts, 0))
        if cost is not None and math.isfinite(cost) and cost > 0:
            spend.inc(cost)

    def record_upstream_error(self, error: UpstreamError) -> None:
        status = str(error.status) if 100 <= error.status <= 599 else OTHER
        self.upstream_errors.labels(status, error_class(error)).inc()

    def record_flow(self, kind: FlowKind) -> None:
        self.intercepted_flows.labels(kind).inc()

    def observe_loop_lag(self, seconds: float) -> None:
        lag = max(seconds, 0.0)
        self.loop_lag.set(lag)
        self.loop_lag_samples.observe(lag)

    async def sample_loop_lag(self, interval: float = LOOP_LAG_INTERVAL) -> None:
        """Sleep `interval` again and again; the oversleep is the loop's lag. Runs until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(interval)
            self.observe_loop_lag(loop.time() - start - interval)

    def _tokens_of(
        self, model: str, source: TokenSource
    ) -> tuple[Counter, Counter, Counter, Counter, Counter]:
        """The five counters of (model, source), created together so none is ever missing."""
        return (
            self.input_tokens.labels(model, source),
            self.cached_input_tokens.labels(model, source),
            self.output_tokens.labels(model, source),
            self.reasoning_output_tokens.labels(model, source),
            self.estimated_cost.labels(model, source),
        )


def handler(metrics: Metrics) -> Handler:
    """The aiohttp handler of `GET /metrics` (text or OpenMetrics by `Accept`, gzip by aiohttp)."""
    return make_aiohttp_handler(metrics.registry)
