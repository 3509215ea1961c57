"""The state the addons share within one daemon: settings, live exchanges, caches, addresses.

Built once by `addons.default_addons()` and handed to each addon's constructor, so nothing is a
module global and a script reload builds a fresh one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from zerogravity_proxy.cascades import Cascades
from zerogravity_proxy.exchanges import Exchanges
from zerogravity_proxy.gemini.available import QuotaBook
from zerogravity_proxy.hooks import Observers
from zerogravity_proxy.openai.models import DEFAULT_MODELS, Catalogue
from zerogravity_proxy.settings import Settings
from zerogravity_proxy.signatures import SignatureCache


@dataclass(eq=False)
class Runtime:
    settings: Settings
    exchanges: Exchanges = field(init=False)
    signatures: SignatureCache = field(default_factory=SignatureCache)
    observers: Observers = field(default_factory=Observers)
    cascades: Cascades = field(default_factory=Cascades)
    quota: QuotaBook = field(default_factory=QuotaBook)
    catalogue: Catalogue = field(init=False)
    proxy_url: str | None = None  # http://host:port of our own proxy, once it listens
    simulator_url: str | None = None  # base URL of the in-process simulator, when serving from it

    def __post_init__(self) -> None:
        self.exchanges = Exchanges(self.settings.max_exchanges)
        self.apply(self.settings)

    def apply(self, settings: Settings) -> None:
        """Take new settings (mitmproxy may reconfigure a running daemon)."""
        self.settings = settings
        self.exchanges.resize(settings.max_exchanges)
        specs = settings.models or DEFAULT_MODELS[settings.upstream_flavour]
        owned_by = "zerogravity-simulator" if settings.use_simulator else "google"
        self.catalogue = Catalogue.from_specs(specs, owned_by=owned_by)

    @property
    def upstream_override(self) -> str:
        """Where intercepted Google API traffic really goes, if not to Google."""
        return self.simulator_url or self.settings.upstream_override
