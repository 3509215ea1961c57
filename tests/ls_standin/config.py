"""How one stand-in is set up: where Cloud Code is, how to reach it, and how patient to be."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from .envelope import DEFAULT_PROJECT

DEFAULT_CLOUDCODE_HOST = "daily-cloudcode-pa.googleapis.com"

Wire = Literal["json", "grpc"]
"""How a turn asks for its generation: Cloud Code JSON (SSE), or the public API over gRPC."""
WIRES: tuple[Wire, ...] = ("json", "grpc")


def local_now() -> datetime:
    return datetime.now().astimezone()


@dataclass(frozen=True, slots=True)
class StandInConfig:
    """Knobs for one stand-in; see `LanguageServerStandIn` for what each means."""

    proxy: str | None = None
    ca_file: str | Path | None = None
    cloudcode_host: str = DEFAULT_CLOUDCODE_HOST
    cloudcode_url: str | None = None
    project: str = DEFAULT_PROJECT
    parallel_followup: bool = False
    turn_timeout: float = 30.0
    accept_gzip: bool = True
    max_tool_rounds: int = 8
    wire: Wire = "json"
    clock: Callable[[], datetime] = field(default=local_now)

    @property
    def base_url(self) -> str:
        """Where Cloud Code calls go: `cloudcode_url`, else `https://<cloudcode_host>`."""
        return (self.cloudcode_url or f"https://{self.cloudcode_host}").rstrip("/")
