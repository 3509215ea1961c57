"""Real processes on real loopback sockets: the daemon (or mitmdump) under test."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def clean_env(tmp: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a fresh machine: no credentials, no user config, our venv first."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ZEROGRAVITY_")
        and k not in {"GEMINI_API_KEY", "HTTPS_PROXY", "HTTP_PROXY"}
    }
    env.update(
        {
            "HOME": str(tmp),
            "XDG_CONFIG_HOME": str(tmp / "config"),
            "XDG_STATE_HOME": str(tmp / "state"),
            "PATH": f"{BIN}:{env.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


def get_json(url: str, timeout: float = 5) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


@dataclass
class Daemon:
    process: subprocess.Popen[bytes]
    sidecar: str
    proxy_port: int
    log_path: Path
    state_dir: Path

    @property
    def base_url(self) -> str:
        return f"{self.sidecar}/v1"

    @property
    def proxy(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    @property
    def ca_cert(self) -> Path:
        return self.state_dir / "mitmproxy" / "mitmproxy-ca-cert.pem"

    def health(self) -> Any:
        return get_json(f"{self.sidecar}/healthz")

    def simulator_url(self) -> str:
        url: str = self.health()["upstream"]["url"]
        return url

    def simulator_requests(self) -> list[dict[str, Any]]:
        requests: list[dict[str, Any]] = get_json(f"{self.simulator_url()}/_sim/requests")
        return requests

    def clear_simulator_requests(self) -> None:
        req = urllib.request.Request(f"{self.simulator_url()}/_sim/requests", method="DELETE")
        urllib.request.urlopen(req, timeout=5).close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)


def wait_ready(daemon: Daemon, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if daemon.process.poll() is not None:
            raise RuntimeError(f"daemon exited with {daemon.process.returncode}:\n{daemon.log()}")
        try:
            daemon.health()
            return
        except OSError:
            time.sleep(0.1)
    daemon.stop(signal.SIGKILL)
    raise RuntimeError(f"daemon not ready within {timeout}s:\n{daemon.log()}")


@contextmanager
def running_daemon(
    tmp: Path,
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    *,
    mitmdump: bool = False,
) -> Iterator[Daemon]:
    """Start `zerogravity-proxy run` (or `mitmdump -s addons/zerogravity.py`) and wait for it."""
    sidecar_port, proxy_port = free_port(), free_port()
    state_dir = tmp / "state-dir"
    if mitmdump:
        command = [
            str(BIN / "mitmdump"),
            "-q",
            "-s",
            str(ROOT / "addons" / "zerogravity.py"),
            "--listen-host",
            "127.0.0.1",
            "--listen-port",
            str(proxy_port),
            "--set",
            f"confdir={state_dir / 'mitmproxy'}",
            "--set",
            f"sidecar_port={sidecar_port}",
            *args,
        ]
    else:
        command = [
            str(BIN / "zerogravity-proxy"),
            "run",
            "--listen-port",
            str(proxy_port),
            "--sidecar-port",
            str(sidecar_port),
            "--state-dir",
            str(state_dir),
            *args,
        ]
    log_path = tmp / f"daemon-{sidecar_port}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command, stdout=log_file, stderr=subprocess.STDOUT, env=clean_env(tmp, env), cwd=tmp
        )
    daemon = Daemon(process, f"http://127.0.0.1:{sidecar_port}", proxy_port, log_path, state_dir)
    try:
        wait_ready(daemon)
        yield daemon
    finally:
        if daemon.process.poll() is None:
            try:
                daemon.stop()
            except subprocess.TimeoutExpired:
                daemon.stop(signal.SIGKILL)


def image_message(url: str) -> list[Any]:
    """Chat messages holding one user image, by URL (http(s) or data URI)."""
    return [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]


GEMINI_URL = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
BODY = b'{"contents":[{"role":"user","parts":[{"text":"Hi from a Gemini client"}]}]}'


async def fetch(
    url: str, *, proxy: str | None = None, cafile: Path | None = None
) -> tuple[int, bytes]:
    ssl_context = ssl.create_default_context(cafile=str(cafile)) if cafile else None
    headers = {"x-goog-api-key": "client-key", "content-type": "application/json"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=BODY, headers=headers, proxy=proxy, ssl=ssl_context or True) as resp,
    ):
        return resp.status, await resp.read()
