"""`python -m tests.ls_standin --proxy URL --ca FILE --ready-file PATH`: serve until SIGTERM.

The ready file gets `{"port", "csrf_token", "pid", "base_url", "cert_pem"}` once listening.
`--server_port` and `--csrf_token` (the real LS's flag names) fix the port and token so that
discovery code can find them in /proc/<pid>/cmdline.

`--wire grpc` makes each turn one public-API `StreamGenerateContent` gRPC call; grpc takes its
proxy and trust from the environment, so `--proxy` and `--ca` become `https_proxy` and
`GRPC_DEFAULT_SSL_ROOTS_FILE_PATH` before anything uses grpc.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from pathlib import Path

import orjson

from .config import DEFAULT_CLOUDCODE_HOST, WIRES
from .grpc_wire import grpc_environment
from .server import LanguageServerStandIn


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.ls_standin",
        description="A stand-in for the Antigravity language server, for tests.",
    )
    parser.add_argument("--proxy", help="HTTP proxy for Cloud Code calls, e.g. http://127.0.0.1:P")
    parser.add_argument("--ca", type=Path, help="CA bundle that verifies Cloud Code (the proxy's)")
    parser.add_argument("--cloudcode-host", default=DEFAULT_CLOUDCODE_HOST)
    parser.add_argument("--cloudcode-url", help="override the Cloud Code base URL entirely")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--server_port", type=int, help="the real LS's flag; overrides --port")
    parser.add_argument("--csrf_token", help="the real LS's flag; default: a random token")
    parser.add_argument("--ready-file", type=Path, help="where to write the JSON readiness note")
    parser.add_argument("--parallel-followup", action="store_true")
    parser.add_argument("--turn-timeout", type=float, default=30.0)
    parser.add_argument("--project", default="standin-project-1")
    parser.add_argument("--no-gzip", action="store_true", help="send Accept-Encoding: identity")
    parser.add_argument(
        "--wire",
        choices=WIRES,
        default="json",
        help="json: Cloud Code over HTTPS (default); grpc: the public API's StreamGenerateContent",
    )
    return parser.parse_args(argv)


def _write_ready(path: Path, standin: LanguageServerStandIn) -> None:
    """Atomically, so a poller never reads half a file."""
    note = {
        "port": standin.port,
        "csrf_token": standin.csrf_token,
        "pid": os.getpid(),
        "base_url": standin.base_url,
        "cert_pem": standin.cert_pem.decode(),
    }
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(orjson.dumps(note))
    partial.replace(path)


async def _serve(args: argparse.Namespace) -> None:
    standin = LanguageServerStandIn(
        proxy=args.proxy,
        ca_file=args.ca,
        cloudcode_host=args.cloudcode_host,
        cloudcode_url=args.cloudcode_url,
        host=args.host,
        port=args.server_port if args.server_port is not None else args.port,
        csrf_token=args.csrf_token,
        project=args.project,
        parallel_followup=args.parallel_followup,
        turn_timeout=args.turn_timeout,
        accept_gzip=not args.no_gzip,
        wire=args.wire,
    )
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    await standin.start()
    try:
        if args.ready_file is not None:
            _write_ready(args.ready_file, standin)
        print(f"ls stand-in listening on {standin.base_url}", flush=True)
        await stopped.wait()
    finally:
        await standin.stop()


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    if args.wire == "grpc":
        grpc_environment(args.proxy, args.ca)
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
