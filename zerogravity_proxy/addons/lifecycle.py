"""Tells systemd (Type=notify) when the daemon is ready, that it is alive, and that it stops.

Place it last, after Sidecar. mitmproxy triggers a hook addon by addon in chain order and
awaits the task each returns before the next addon's hook starts, so the sidecar listens before
our `running` sends READY=1. `done` goes in the same order, so ours would run only after the
sidecar's drain: STOPPING=1 is sent instead as soon as shutdown is requested. We wait on the
master's `should_exit` event from `running` on, before the master itself waits on it, so we
wake first, ahead of every addon's `done`.
"""

from __future__ import annotations

import asyncio
import logging

from mitmproxy import ctx

from zerogravity_proxy import systemd
from zerogravity_proxy.runtime import Runtime

log = logging.getLogger(__name__)


class Lifecycle:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.watchdog: asyncio.Task[None] | None = None
        self.shutdown_watch: asyncio.Task[None] | None = None
        self.stopping = False

    def running(self) -> asyncio.Task[None]:
        return asyncio.get_running_loop().create_task(self._start())

    async def _start(self) -> None:
        loop = asyncio.get_running_loop()
        self.shutdown_watch = loop.create_task(self._watch_shutdown())
        if self.runtime.sidecar_url is None:
            # Logged as an error, so mitmproxy's start-up error check stops the daemon.
            log.error("the sidecar is not listening: not telling systemd we are ready")
            return
        systemd.notify("READY=1", "STATUS=" + self.status())
        interval = systemd.watchdog_interval()
        if interval is not None:
            self.watchdog = loop.create_task(self._ping(interval))

    def status(self) -> str:
        """One line for `systemctl status`: where we listen and where traffic goes."""
        rt = self.runtime
        upstream = rt.upstream_override or rt.settings.upstream_base
        if rt.simulator_url:
            upstream += " (simulator)"
        line = f"proxy {rt.proxy_url}, sidecar {rt.sidecar_url}, upstream {upstream}"
        return " ".join(line.splitlines())  # a newline would start a new assignment

    async def _ping(self, interval: float) -> None:
        """WATCHDOG=1 every interval, from the loop, skipping a tick the loop was late for."""
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(interval)
            late = loop.time() - started - interval
            if late > interval / 2:
                log.warning("event loop stalled for %.1fs: skipped a watchdog ping", late)
                continue
            systemd.notify("WATCHDOG=1")

    async def _watch_shutdown(self) -> None:
        await ctx.master.should_exit.wait()
        self._stop()

    def _stop(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        if self.watchdog is not None:
            self.watchdog.cancel()
        open_exchanges = len(self.runtime.exchanges)
        systemd.notify("STOPPING=1", f"STATUS=stopping, {open_exchanges} open exchange(s)")

    def done(self) -> None:
        # Also called when a script reload unloads us: STOPPING=1 only if the master is exiting.
        if ctx.master.should_exit.is_set():
            self._stop()
        for task in (self.watchdog, self.shutdown_watch):
            if task is not None:
                task.cancel()
