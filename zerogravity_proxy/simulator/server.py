"""Run the simulator on the current event loop, in-process (the daemon, tests) or from the CLI."""

from __future__ import annotations

from types import TracebackType

from aiohttp import web

from .app import REQUEST_LOG, SimConfig, create_app
from .plan import JSON


class Simulator:
    """`port = await sim.start(host, port=0)` binds and serves; `await sim.stop()` shuts down.

    Handlers are cancelled when their client goes away, so a stalled stream never outlives it.
    """

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.app = create_app(self.config)
        self.host = "127.0.0.1"
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Bind and serve; returns the bound port (useful with `port=0`)."""
        if self._runner is not None:
            raise RuntimeError("the simulator is already running")
        runner = web.AppRunner(
            self.app,
            handler_cancellation=True,
            shutdown_timeout=self.config.shutdown_timeout,
            access_log=None,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.host = host
        self.port = int(runner.addresses[0][1])
        return self.port

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def requests(self) -> list[JSON]:
        """The request log (same entries as `GET /_sim/requests`)."""
        return self.app[REQUEST_LOG].entries()

    def clear_requests(self) -> None:
        self.app[REQUEST_LOG].clear()

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
