"""The state the addons share within one daemon: settings, live exchanges, caches, addresses.

Built once by `addons.default_addons()` and handed to each addon's constructor, so nothing is a
module global and a script reload builds a fresh one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from zerogravity_proxy.cascades import Cascades
from zerogravity_proxy.exchanges import Exchanges
from zerogravity_proxy.gemini.available import QuotaBook
from zerogravity_proxy.hooks import Observers
from zerogravity_proxy.metrics import Metrics
from zerogravity_proxy.openai.models import DEFAULT_MODELS, Catalogue
from zerogravity_proxy.pricing import PriceTable
from zerogravity_proxy.settings import Settings
from zerogravity_proxy.signatures import SignatureCache
from zerogravity_proxy.store.usage import UsageStore


@dataclass(eq=False)
class Runtime:
    settings: Settings
    exchanges: Exchanges = field(init=False)
    signatures: SignatureCache = field(default_factory=SignatureCache)
    observers: Observers = field(default_factory=Observers)
    cascades: Cascades = field(default_factory=Cascades)
    quota: QuotaBook = field(default_factory=QuotaBook)
    usage: UsageStore | None = None  # the usage and audit records, when the daemon keeps them
    catalogue: Catalogue = field(init=False)
    prices: PriceTable = field(init=False)
    metrics: Metrics = field(init=False)
    proxy_url: str | None = None  # http://host:port of our own proxy, once it listens
    sidecar_url: str | None = None  # http://host:port of the sidecar, once it listens
    simulator_url: str | None = None  # base URL of the in-process simulator, when serving from it

    def __post_init__(self) -> None:
        self.exchanges = Exchanges(self.settings.max_exchanges)
        self.apply(self.settings)
        self.metrics = Metrics(self)  # after apply: it labels by the catalogue

    def apply(self, settings: Settings) -> None:
        """Take new settings (mitmproxy may reconfigure a running daemon)."""
        self.settings = settings
        self.exchanges.resize(settings.max_exchanges)
        self.prices = PriceTable.from_entries(settings.prices)
        # The language server speaks Cloud Code, whatever the direct driver's flavour would be.
        flavour = "cloudcode" if settings.driver == "antigravity" else settings.upstream_flavour
        specs = settings.models or DEFAULT_MODELS[flavour]
        owned_by = "zerogravity-simulator" if settings.use_simulator else "google"
        self.catalogue = Catalogue.from_specs(specs, owned_by=owned_by)
        self.learn_models(self.quota.models)  # what the upstream told us survives a reconfigure

    def learn_models(self, wire_ids: Iterable[str]) -> None:
        """Add models the upstream says are available (fetchAvailableModels) to the catalogue."""
        known = {m.upstream for m in self.catalogue}
        new = [w for w in wire_ids if w not in known and self.catalogue.get(w) is None]
        if new:
            owned_by = next(iter(self.catalogue)).owned_by if len(self.catalogue) else "google"
            learned = Catalogue.from_specs(new, owned_by=owned_by)
            self.catalogue = Catalogue([*self.catalogue, *learned])

    @property
    def upstream_override(self) -> str:
        """Where intercepted Google API traffic really goes, if not to Google."""
        return self.simulator_url or self.settings.upstream_override
