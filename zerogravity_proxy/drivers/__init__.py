"""Drivers make an originator send the one upstream request that carries an exchange."""

from __future__ import annotations

import asyncio
from typing import Protocol

from zerogravity_proxy.exchanges import Exchange


class Driver(Protocol):
    def start(self, exchange: Exchange) -> asyncio.Task[None]:
        """Start the originator's request; cancelling the task abandons it upstream too."""
        ...
