"""Opt-in debug traces: one JSON file per exchange, credentials redacted, the oldest pruned.

A trace answers "what exactly did we send, and what came back?" for one exchange: a summary of
what the client asked for, the upstream request as it left the proxy (headers and body, with
credentials and inline media blanked), every event parsed from the answer, and the outcome.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson


def blank_media(value: Any) -> Any:
    """Inline data (images, files) replaced by its size: traces are for reading, not archives."""
    if isinstance(value, dict):
        if isinstance(value.get("data"), str) and "mimeType" in value:
            return {**value, "data": f"<{len(value['data'])} base64 chars>"}
        return {k: blank_media(v) for k, v in value.items()}
    if isinstance(value, list):
        return [blank_media(v) for v in value]
    return value


class TraceStore:
    """A directory of `<unix ms>-<exchange id>.json` files, at most `max_traces` of them.

    The methods do file I/O: call them off the event loop (`asyncio.to_thread`).
    """

    def __init__(self, directory: Path, max_traces: int) -> None:
        self.directory = directory
        self.max_traces = max_traces

    def write(self, trace: Mapping[str, Any], ended_ms: int) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.directory / f"{ended_ms:013d}-{trace['id']}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps(trace, option=orjson.OPT_INDENT_2, default=str))
        os.chmod(tmp, 0o600)
        tmp.replace(path)
        self._prune()
        return path

    def _prune(self) -> None:
        files = self._files()
        for old in files[: max(0, len(files) - self.max_traces)]:
            old.unlink(missing_ok=True)

    def _files(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*.json"))

    def list(self) -> list[dict[str, Any]]:
        """Newest first: a line's worth of each trace."""
        rows = []
        for path in reversed(self._files()):
            trace = orjson.loads(path.read_bytes())
            rows.append(
                {
                    k: trace.get(k)
                    for k in ("id", "ended_at", "endpoint", "model", "outcome", "reason")
                }
            )
        return rows

    def get(self, exchange_id: str) -> dict[str, Any] | None:
        """A trace by exchange id (or a unique prefix of it)."""
        matches = [p for p in self._files() if p.stem.split("-", 1)[1].startswith(exchange_id)]
        if len(matches) != 1:
            return None
        trace: dict[str, Any] = orjson.loads(matches[0].read_bytes())
        return trace
