"""`python -m zerogravity_proxy.simulator --host 127.0.0.1 --port N`: serve until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import signal
from dataclasses import replace

from .app import SimConfig
from .server import Simulator

_NEWLINES = {"crlf": "\r\n", "lf": "\n"}


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m zerogravity_proxy.simulator",
        description="A deterministic Gemini / Cloud Code upstream for tests and offline use.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--signature-key", help="HMAC key for thought signatures")
    parser.add_argument(
        "--gemini-newline",
        choices=sorted(_NEWLINES),
        default="crlf",
        help="SSE line ending on the public Gemini endpoints (Google uses CRLF)",
    )
    return parser.parse_args(argv)


async def _serve(config: SimConfig, host: str, port: int) -> None:
    simulator = Simulator(config)
    await simulator.start(host, port)
    print(f"zerogravity simulator listening on {simulator.base_url}", flush=True)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    try:
        await stopped.wait()
    finally:
        await simulator.stop()


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    config = SimConfig(gemini_sse_newline=_NEWLINES[args.gemini_newline])
    if args.signature_key:
        config = replace(config, signature_key=args.signature_key.encode())
    asyncio.run(_serve(config, args.host, args.port))


if __name__ == "__main__":
    main()
