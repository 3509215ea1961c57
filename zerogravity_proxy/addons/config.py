"""Registers every setting as a mitmproxy option and keeps the runtime's Settings in step."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from mitmproxy import ctx, exceptions
from mitmproxy.addonmanager import Loader

from zerogravity_proxy.runtime import Runtime
from zerogravity_proxy.settings import FIELDS, Settings, SettingsError, coerce, kind_of

log = logging.getLogger(__name__)

OWN = frozenset(name for name, f in FIELDS.items() if not f.metadata["core"])

# mitmproxy's option parser knows str, int, bool and Sequence[str]: floats travel as strings.
_TYPESPECS: dict[type, Any] = {str: str, int: int, bool: bool, float: str, tuple: Sequence[str]}


def to_option(value: Any) -> Any:
    if isinstance(value, float):
        return repr(value).removesuffix(".0")
    if isinstance(value, tuple):
        return list(value)
    return value


class Config:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def load(self, loader: Loader) -> None:
        settings = self.runtime.settings
        for name in sorted(OWN):
            f = FIELDS[name]
            loader.add_option(
                name,
                _TYPESPECS[kind_of(name)],
                to_option(getattr(settings, name)),
                f.metadata["help"],
                list(f.metadata["choices"]) or None,
            )
        options = loader.master.options
        if not options._options["connection_strategy"].has_changed():
            # Eager would dial Google before our request hook could redirect or answer the flow.
            options.update(connection_strategy="lazy")

    def configure(self, updated: set[str]) -> None:
        if not updated & FIELDS.keys():
            return
        try:
            values = {
                name: coerce(name, value)
                for name in FIELDS
                if (value := getattr(ctx.options, name, None)) is not None
            }
            settings = Settings(**values)
        except SettingsError as e:
            raise exceptions.OptionsError(str(e)) from None
        self.runtime.apply(settings)
