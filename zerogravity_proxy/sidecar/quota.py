"""`GET /v1/quota`: the per-model quota the LS was last told by `fetchAvailableModels`.

Nothing here calls Google: the numbers are what the proxy saw pass by, with the time it saw
them, so a client can judge how stale they are.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from zerogravity_proxy.gemini.available import QuotaBook

QUOTA = web.AppKey("quota", QuotaBook)


async def quota(request: web.Request) -> web.Response:
    snapshot = request.app[QUOTA].snapshot()
    data: list[dict[str, Any]] = [
        {
            "model": q.model,
            "display_name": q.display_name,
            "remaining_fraction": q.remaining_fraction,
            "reset_time": q.reset_time,
            "exhausted": q.exhausted,
            "observed_at": _seconds(snapshot.observed[wire_id]),
        }
        for wire_id, q in snapshot.models.items()
    ]
    return web.json_response(
        {
            "object": "list",
            "data": data,
            "source": "fetchAvailableModels",
            "observed_at": _seconds(snapshot.observed_at),
        }
    )


def _seconds(t: float | None) -> int | None:
    """Whole unix seconds, as OpenAI's `created` fields are."""
    return None if t is None else int(t)
