from __future__ import annotations

from pathlib import Path

from mitmproxy.test import tflow

from zerogravity_proxy.addons.trace import Trace
from zerogravity_proxy.events import TextDelta, UpstreamError
from zerogravity_proxy.exchanges import Outcome
from zerogravity_proxy.gemini.spec import ExchangeSpec
from zerogravity_proxy.runtime import Runtime
from zerogravity_proxy.settings import Settings
from zerogravity_proxy.trace import TraceStore

SPEC = ExchangeSpec("m", "gemini-2.5-flash", [{"role": "user", "parts": [{"text": "hi"}]}])


async def test_late_events_of_an_ended_exchange_start_no_trace(tmp_path: Path) -> None:
    runtime = Runtime(Settings(trace=True, state_dir=str(tmp_path)))
    trace = Trace(runtime)
    exchange = runtime.exchanges.open(SPEC, endpoint="chat.completions", timeout=60)
    trace.gemini_events(tflow.tflow(), exchange, [TextDelta("a")])
    runtime.exchanges.on_end = trace.exchange_end
    runtime.exchanges.finish(exchange, Outcome.CANCELLED, "client went away")
    # The cut upstream is reported after the cancel: it must not open a trace nobody closes.
    trace.gemini_events(tflow.tflow(), exchange, [UpstreamError(502, "STREAM_TRUNCATED", "cut")])
    assert trace._open == {}
    done = trace.done()
    assert done is not None
    await done
    written = TraceStore(runtime.settings.state_path / "traces", 10).list()
    assert [(t["id"], t["outcome"]) for t in written] == [(exchange.id, "cancelled")]
