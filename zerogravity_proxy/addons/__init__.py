"""mitmproxy addons, one concern each, and the order they run in."""

from __future__ import annotations

from zerogravity_proxy.addons.audit import Audit
from zerogravity_proxy.addons.capture import Capture
from zerogravity_proxy.addons.config import Config
from zerogravity_proxy.addons.guard import Guard
from zerogravity_proxy.addons.inject import Inject
from zerogravity_proxy.addons.lifecycle import Lifecycle
from zerogravity_proxy.addons.metrics import MetricsAddon
from zerogravity_proxy.addons.models import Models
from zerogravity_proxy.addons.sidecar import Sidecar
from zerogravity_proxy.addons.trace import Trace
from zerogravity_proxy.addons.upstream import Upstream
from zerogravity_proxy.runtime import Runtime
from zerogravity_proxy.settings import Settings, resolve
from zerogravity_proxy.store.usage import UsageStore


def default_addons(settings: Settings | None = None) -> list[object]:
    """Our addons around one shared Runtime.

    Order matters: Config first (options), Inject before Upstream (rewrite, then redirect),
    Upstream before Sidecar (the simulator must be up before the sidecar announces readiness),
    Audit after Sidecar (its store must outlive the drain), Lifecycle last (READY=1 when all is up).
    Without explicit settings (under `mitmdump -s`), the environment and config file apply.
    """
    runtime = Runtime(settings or resolve().settings)
    runtime.usage = UsageStore(
        runtime.settings.state_path / "usage.sqlite3",
        retention=runtime.settings.usage_retention_days * 86400,
    )
    return [
        Config(runtime),
        Guard(runtime),
        Inject(runtime),
        Upstream(runtime),
        Capture(runtime),
        Models(runtime),
        MetricsAddon(runtime, runtime.metrics),
        Sidecar(runtime),
        # After Sidecar: its done waits for the traces of exchanges the drain ended.
        Trace(runtime),
        # After Sidecar: its done closes the store after the drain recorded the ended exchanges.
        Audit(runtime, runtime.usage),
        # Last: READY=1 once every addon's running hook is done (STOPPING=1 needs no place).
        Lifecycle(runtime),
    ]
