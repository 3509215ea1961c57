"""The real daemon speaks sd_notify: READY=1 once it serves, watchdog pings, STOPPING=1 on SIGTERM.

The test plays systemd: it binds the datagram socket that $NOTIFY_SOCKET names and sets
$WATCHDOG_USEC, as the service manager does for Type=notify with WatchdogSec=.
"""

from __future__ import annotations

import re
import signal
import socket
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.integration.harness import running_daemon

WATCHDOG_USEC = 400_000  # a ping every 0.2 s


@dataclass
class FakeManager:
    """Receives notifications on a thread; probes /healthz the moment READY=1 arrives."""

    sock: socket.socket
    messages: list[tuple[float, bytes]] = field(default_factory=list)
    health_at_ready: int | str | None = None
    closed: threading.Event = field(default_factory=threading.Event)

    def listen(self) -> None:
        self.sock.settimeout(0.1)
        while not self.closed.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            self.messages.append((time.monotonic(), data))
            if data.startswith(b"READY=1"):
                self.health_at_ready = self.probe(data)

    @staticmethod
    def probe(ready: bytes) -> int | str:
        match = re.search(rb"sidecar (http://\S+?),", ready)
        if match is None:
            return "no sidecar URL in STATUS"
        try:
            with urllib.request.urlopen(match[1].decode() + "/healthz", timeout=5) as resp:
                status: int = resp.status
                return status
        except OSError as e:
            return repr(e)

    def wait_for(self, prefix: bytes, timeout: float = 10) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for at, data in list(self.messages):
                if data.startswith(prefix):
                    return at
            time.sleep(0.02)
        raise AssertionError(f"no {prefix!r} within {timeout}s; got {self.messages}")

    def wait_count(self, prefix: bytes, count: int, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received(prefix)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"fewer than {count} {prefix!r} in {timeout}s: {self.messages}"
                )
            time.sleep(0.02)

    def received(self, prefix: bytes) -> list[float]:
        return [at for at, data in self.messages if data.startswith(prefix)]


def test_notify_protocol(tmp_path: Path) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        path = tmp_path / "notify"
        sock.bind(str(path))
        manager = FakeManager(sock)
        listener = threading.Thread(target=manager.listen, daemon=True)
        listener.start()
        env = {"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": str(WATCHDOG_USEC)}
        try:
            with running_daemon(tmp_path, env=env) as daemon:
                manager.wait_for(b"READY=1")
                ready = next(d for _, d in manager.messages if d.startswith(b"READY=1"))
                # READY=1 comes only once the sidecar serves: /healthz answered at that moment.
                assert manager.health_at_ready == 200, manager.health_at_ready
                assert f"sidecar {daemon.sidecar},".encode() in ready
                assert f"proxy {daemon.proxy},".encode() in ready

                manager.wait_count(b"WATCHDOG=1", 3)

                assert daemon.stop(signal.SIGTERM) == 0, daemon.log()
            stopping = manager.wait_for(b"STOPPING=1")
        finally:
            manager.closed.set()
            listener.join(5)

    assert len(manager.received(b"READY=1")) == 1
    assert len(manager.received(b"STOPPING=1")) == 1
    assert all(at < stopping for at in manager.received(b"WATCHDOG=1"))
