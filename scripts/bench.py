"""Benchmark: the sidecar path against the simulator reached directly, in one run, as ratios.

    .venv/bin/python scripts/bench.py            # full run (a few minutes)
    .venv/bin/python scripts/bench.py --quick    # a smoke run (CI)

All paths stream from the same standalone simulator process, 50 text events of ~20 bytes per
response (the reference shape), in a burst and, in the last scenario, 20 ms apart as a model
paces them. Direct: a Gemini SSE request to the simulator. Sidecar: an OpenAI chat completion
(stream) → sidecar → direct driver → our proxy → simulator, the events parsed by the capture tap
and rendered as chat chunks. Responses: the same through `POST /v1/responses` (stream, no store). Time to first token is measured
at the first content token on both paths. The daemon's CPU time and peak RSS come from /proc.
Machine speed drifts, so compare the ratios within one run, not absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import aiohttp

BIN = Path(sys.executable).parent
BURST = "[[sim:events=50,size=20]]"
# The pace of a real model: 20 ms between events, about a second per response.
PACED = "[[sim:events=50,size=20,delay=20]]"
MODEL = "gemini-2.5-flash"
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


Request = Callable[[aiohttp.ClientSession], Awaitable[float]]


def streaming_request(
    url: str, body: dict[str, object], first_token: Callable[[bytes], bool], **headers: str
) -> Request:
    """A streamed POST whose time to first token is when `first_token` first holds for a chunk."""
    data = json.dumps(body)
    headers = {"content-type": "application/json", **headers}

    async def send(session: aiohttp.ClientSession) -> float:
        started = time.perf_counter()
        ttft = None
        async with session.post(url, data=data, headers=headers) as resp:
            assert resp.status == 200, resp.status
            async for chunk in resp.content.iter_any():
                if ttft is None and first_token(chunk):
                    ttft = time.perf_counter() - started
        assert ttft is not None
        return ttft

    return send


def direct_request(base: str, directive: str) -> Request:
    return streaming_request(
        f"{base}/v1beta/models/{MODEL}:streamGenerateContent?alt=sse",
        {"contents": [{"role": "user", "parts": [{"text": f"bench {directive}"}]}]},
        lambda chunk: b'"text"' in chunk,
        **{"x-goog-api-key": "bench"},
    )


def sidecar_request(base: str, directive: str) -> Request:
    body = {
        "model": MODEL,
        "stream": True,
        "reasoning_effort": "none",
        "messages": [{"role": "user", "content": f"bench {directive}"}],
    }
    # The role chunk carries "content":"" — the first token is the first non-empty content.
    return streaming_request(
        f"{base}/v1/chat/completions",
        body,
        lambda chunk: b'"content":"' in chunk.replace(b'"content":""', b""),
    )


def responses_request(base: str, directive: str) -> Request:
    body = {"model": MODEL, "stream": True, "store": False, "input": f"bench {directive}"}
    return streaming_request(
        f"{base}/v1/responses", body, lambda chunk: b"response.output_text.delta" in chunk
    )


@dataclass
class Row:
    path: str
    pacing: str
    concurrency: int
    requests: int
    requests_per_s: float
    ttft_p50_ms: float
    ttft_p95_ms: float
    daemon_cpu_ms_per_request: float | None


async def load(send: Request, concurrency: int, total: int) -> tuple[float, list[float]]:
    """Run `total` requests with `concurrency` in flight; returns wall seconds and TTFTs."""
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(min(concurrency, 5)):
            await send(session)  # warm connections and code paths
        queue = iter(range(total))
        ttfts: list[float] = []

        async def worker() -> None:
            for _ in queue:
                ttfts.append(await send(session))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, ttfts


def measure(
    path: str, pacing: str, send: Request, concurrency: int, total: int, pid: int | None
) -> Row:
    cpu_before = cpu_seconds(pid) if pid else 0.0
    wall, ttfts = asyncio.run(load(send, concurrency, total))
    cpu = (cpu_seconds(pid) - cpu_before) if pid else None
    quantiles = statistics.quantiles(ttfts, n=20)
    return Row(
        path,
        pacing,
        concurrency,
        total,
        round(total / wall, 1),
        round(statistics.median(ttfts) * 1000, 2),
        round(quantiles[18] * 1000, 2),
        round(cpu * 1000 / total, 2) if cpu is not None else None,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="few requests: prove it runs")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    levels = [(BURST, 1, 10), (BURST, 10, 40), (BURST, 50, 100), (PACED, 50, 50)]
    if not args.quick:
        levels = [(BURST, 1, 200), (BURST, 10, 1000), (BURST, 50, 2000), (PACED, 50, 500)]

    sim_port, proxy_port, sidecar_port = free_port(), free_port(), free_port()
    simulator_base = f"http://127.0.0.1:{sim_port}"
    sidecar_base = f"http://127.0.0.1:{sidecar_port}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZEROGRAVITY_")}
        sim = subprocess.Popen(
            [sys.executable, "-m", "zerogravity_proxy.simulator", "--port", str(sim_port)],
            stdout=subprocess.DEVNULL,
        )
        daemon = subprocess.Popen(
            [
                str(BIN / "zerogravity-proxy"), "run",
                "--state-dir", tmp,
                "--listen-port", str(proxy_port),
                "--sidecar-port", str(sidecar_port),
                "--simulator", "off",
                "--upstream-override", simulator_base,
                "--log-level", "warning",
            ],
            env=env,
        )  # fmt: skip
        try:
            wait_http(f"{simulator_base}/v1beta/models?key=bench")
            wait_http(f"{sidecar_base}/healthz")
            rows = []
            for directive, concurrency, total in levels:
                pacing = "paced" if directive == PACED else "burst"
                direct = direct_request(simulator_base, directive)
                sidecar = sidecar_request(sidecar_base, directive)
                rows.append(measure("direct", pacing, direct, concurrency, total, None))
                rows.append(measure("sidecar", pacing, sidecar, concurrency, total, daemon.pid))
                responses = responses_request(sidecar_base, directive)
                rows.append(measure("responses", pacing, responses, concurrency, total, daemon.pid))
            rss = peak_rss_mib(daemon.pid)
        finally:
            for process in (daemon, sim):
                process.terminate()
                process.wait(15)
    report(rows, rss)
    if args.json:
        args.json.write_text(
            json.dumps({"rows": [asdict(r) for r in rows], "daemon_peak_rss_mib": rss}, indent=2)
        )


def report(rows: list[Row], rss: float) -> None:
    print(
        f"{'path':9} {'pacing':6} {'conc':>4} {'reqs':>5} {'req/s':>8} "
        f"{'TTFT p50 ms':>12} {'TTFT p95 ms':>12} {'daemon CPU ms/req':>18}"
    )
    for r in rows:
        cpu = (
            f"{r.daemon_cpu_ms_per_request:.2f}" if r.daemon_cpu_ms_per_request is not None else "-"
        )
        print(
            f"{r.path:9} {r.pacing:6} {r.concurrency:>4} {r.requests:>5} {r.requests_per_s:>8.1f} "
            f"{r.ttft_p50_ms:>12.2f} {r.ttft_p95_ms:>12.2f} {cpu:>18}"
        )
    print("\nsidecar against direct, same run:")
    by_level = {(r.path, r.pacing, r.concurrency): r for r in rows}
    for pacing, concurrency in dict.fromkeys((r.pacing, r.concurrency) for r in rows):
        d = by_level[("direct", pacing, concurrency)]
        for path in ("sidecar", "responses"):
            s = by_level[(path, pacing, concurrency)]
            print(
                f"  {path:9} {pacing} c={concurrency:<3} "
                f"throughput x{s.requests_per_s / d.requests_per_s:.2f}  "
                f"TTFT p50 +{s.ttft_p50_ms - d.ttft_p50_ms:.2f} ms (x{s.ttft_p50_ms / d.ttft_p50_ms:.2f})  "
                f"TTFT p95 +{s.ttft_p95_ms - d.ttft_p95_ms:.2f} ms"
            )
    print(f"daemon peak RSS: {rss:.1f} MiB")


if __name__ == "__main__":
    main()
