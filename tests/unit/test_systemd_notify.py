"""sd_notify over a real AF_UNIX datagram socket, and the Lifecycle addon that speaks it."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from mitmproxy.test import taddons

from zerogravity_proxy import systemd
from zerogravity_proxy.addons.lifecycle import Lifecycle
from zerogravity_proxy.runtime import Runtime
from zerogravity_proxy.settings import Settings

PROXY = "http://127.0.0.1:8080"
SIDECAR = "http://127.0.0.1:8741"
READY = (
    b"READY=1\nSTATUS=proxy http://127.0.0.1:8080, sidecar http://127.0.0.1:8741, "
    b"upstream https://generativelanguage.googleapis.com"
)
STOPPING = b"STOPPING=1\nSTATUS=stopping, 0 open exchange(s)"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(systemd, "_send_failed", False)


@pytest.fixture
def manager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """The service manager's end: a datagram socket named by $NOTIFY_SOCKET."""
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(2)
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        yield sock


def recv_nowait(sock: socket.socket) -> bytes | None:
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        return sock.recv(4096)
    except BlockingIOError:
        return None
    finally:
        sock.settimeout(timeout)


def pending(sock: socket.socket) -> list[bytes]:
    """Every datagram already queued, without waiting."""
    received = []
    while (data := recv_nowait(sock)) is not None:
        received.append(data)
    return received


async def receive(sock: socket.socket, timeout: float = 5) -> bytes:
    """The next datagram, waited for on the event loop (which keeps running meanwhile)."""
    deadline = time.monotonic() + timeout
    while (data := recv_nowait(sock)) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing received within {timeout}s")
        await asyncio.sleep(0.01)
    return data


def runtime() -> Runtime:
    rt = Runtime(Settings())
    rt.proxy_url = PROXY
    rt.sidecar_url = SIDECAR
    return rt


# notify


def test_notify_sends_one_datagram(manager: socket.socket) -> None:
    assert systemd.notify("READY=1", "STATUS=up")
    assert manager.recv(4096) == b"READY=1\nSTATUS=up"
    assert systemd.notify("WATCHDOG=1")
    assert manager.recv(4096) == b"WATCHDOG=1"
    assert pending(manager) == []


def test_notify_abstract_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"zerogravity-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert systemd.notify("READY=1")
        assert sock.recv(4096) == b"READY=1"


@pytest.mark.parametrize("value", [None, ""])
def test_notify_without_socket_is_a_no_op(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is not None:
        monkeypatch.setenv("NOTIFY_SOCKET", value)
    assert not systemd.notify("READY=1")


def test_notify_nothing_sends_nothing(manager: socket.socket) -> None:
    assert not systemd.notify()
    assert pending(manager) == []


@pytest.mark.parametrize("address", ["/nonexistent/notify", "vsock:2:1234", "@" + "x" * 200])
def test_notify_failure_returns_false_and_warns_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, address: str
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    with caplog.at_level(logging.WARNING, logger="zerogravity_proxy.systemd"):
        assert not systemd.notify("READY=1")
        assert not systemd.notify("WATCHDOG=1")
    assert len(caplog.records) == 1
    assert "NOTIFY_SOCKET" in caplog.records[0].getMessage()


# watchdog_interval


@pytest.mark.parametrize(
    ("usec", "pid", "expected"),
    [
        (None, None, None),
        ("200000", None, 0.1),
        ("30000000", "self", 15.0),
        ("30000000", "1", None),
        ("0", None, None),
        ("-5", None, None),
        ("soon", None, None),
        ("200000", "nobody", None),
    ],
)
def test_watchdog_interval(
    monkeypatch: pytest.MonkeyPatch, usec: str | None, pid: str | None, expected: float | None
) -> None:
    if usec is not None:
        monkeypatch.setenv("WATCHDOG_USEC", usec)
    if pid is not None:
        monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()) if pid == "self" else pid)
    assert systemd.watchdog_interval() == expected


# The Lifecycle addon


async def test_ready_and_status_on_running(manager: socket.socket) -> None:
    addon = Lifecycle(runtime())
    with taddons.context(addon):
        await addon.running()
        assert manager.recv(4096) == READY
        assert addon.watchdog is None  # no WATCHDOG_USEC: no pings
        addon.done()
    assert pending(manager) == []


async def test_status_names_the_simulator(manager: socket.socket) -> None:
    rt = runtime()
    rt.simulator_url = "http://127.0.0.1:9999"
    addon = Lifecycle(rt)
    with taddons.context(addon):
        await addon.running()
        assert manager.recv(4096).endswith(b"upstream http://127.0.0.1:9999 (simulator)")
        addon.done()


async def test_no_ready_while_the_sidecar_does_not_listen(
    manager: socket.socket, caplog: pytest.LogCaptureFixture
) -> None:
    rt = runtime()
    rt.sidecar_url = None
    addon = Lifecycle(rt)
    with taddons.context(addon):
        await addon.running()
        addon.done()
    assert pending(manager) == []
    assert any(r.levelno == logging.ERROR for r in caplog.records)


async def test_watchdog_pings(manager: socket.socket, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "200000")  # a ping every 0.1 s
    addon = Lifecycle(runtime())
    with taddons.context(addon):
        await addon.running()
        assert manager.recv(4096) == READY
        started = time.monotonic()
        pings = [await receive(manager) for _ in range(3)]
        elapsed = time.monotonic() - started
        addon.done()
    assert pings == [b"WATCHDOG=1"] * 3
    assert elapsed >= 0.25  # every 0.1 s, not in a burst


async def test_no_pings_while_the_loop_is_blocked(
    manager: socket.socket, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    addon = Lifecycle(runtime())
    with taddons.context(addon):
        await addon.running()
        assert manager.recv(4096) == READY
        assert await receive(manager) == b"WATCHDOG=1"
        time.sleep(0.5)  # a blocking call stalls the event loop for five ping intervals
        assert pending(manager) == []
        # The overdue tick runs within a few loop iterations, notices it is 0.4 s late, and
        # skips its ping instead of vouching for a loop that just stalled.
        for _ in range(100):
            if "stalled" in caplog.text:
                break
            await asyncio.sleep(0)
        assert "stalled" in caplog.text
        assert pending(manager) == []
        # A healthy loop pings again.
        assert await receive(manager) == b"WATCHDOG=1"
        addon.done()


async def test_stopping_when_shutdown_is_requested(
    manager: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    addon = Lifecycle(runtime())
    with taddons.context(addon) as tctx:
        await addon.running()
        assert manager.recv(4096) == READY
        tctx.master.shutdown()
        await asyncio.sleep(0.01)
        assert pending(manager) == [STOPPING]
        await asyncio.sleep(0.25)  # no pings once stopping
        addon.done()  # STOPPING=1 only once
    assert pending(manager) == []


async def test_stopping_on_done_during_shutdown(manager: socket.socket) -> None:
    addon = Lifecycle(runtime())
    with taddons.context(addon) as tctx:
        await addon.running()
        assert manager.recv(4096) == READY
        tctx.master.should_exit.set()  # done() runs before the watcher gets a turn
        addon.done()
        assert pending(manager) == [STOPPING]


async def test_no_stopping_when_a_script_reload_unloads_it(manager: socket.socket) -> None:
    addon = Lifecycle(runtime())
    with taddons.context(addon):
        await addon.running()
        assert manager.recv(4096) == READY
        addon.done()  # the master keeps running
        await asyncio.sleep(0.01)
    assert pending(manager) == []


class FakeSidecar:
    """Listens a little later than `running` starts; notes what systemd heard when `done` begins."""

    name = "sidecar"

    def __init__(self, rt: Runtime, sock: socket.socket) -> None:
        self.runtime = rt
        self.sock = sock
        self.heard_before_done: list[bytes] = []

    async def running(self) -> None:
        await asyncio.sleep(0.05)
        self.runtime.sidecar_url = SIDECAR

    async def done(self) -> None:
        self.heard_before_done = pending(self.sock)
        await asyncio.sleep(0.05)  # the drain


async def test_order_in_the_real_master(manager: socket.socket) -> None:
    """After Sidecar in the chain: READY once it listens, STOPPING=1 before its drain."""
    rt = runtime()
    rt.sidecar_url = None
    sidecar = FakeSidecar(rt, manager)
    with taddons.context(sidecar, Lifecycle(rt)) as tctx:
        run = asyncio.get_running_loop().create_task(tctx.master.run())
        # READY=1 names the sidecar URL, which the sidecar set only once it "listened".
        assert await receive(manager) == READY
        tctx.master.shutdown()
        await asyncio.wait_for(run, 5)
    assert sidecar.heard_before_done == [STOPPING]
    assert pending(manager) == []
