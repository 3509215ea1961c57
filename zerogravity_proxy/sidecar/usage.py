"""`GET /v1/usage`: token and cost totals from the usage store, and their terminal rendering.

Costs are estimates at list prices (see `zerogravity_proxy.pricing`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from zerogravity_proxy.openai.errors import OpenAIError, invalid_request
from zerogravity_proxy.store.usage import UsageStore

USAGE = web.AppKey("usage", UsageStore)

# (header, key) of the table's numeric columns, in order.
_COLUMNS = (
    ("Requests", "requests"),
    ("Completed", "completed"),
    ("Failed", "failed"),
    ("Cancelled", "cancelled"),
    ("Prompt", "prompt_tokens"),
    ("Cached", "cached_tokens"),
    ("Output", "output_tokens"),
    ("Reasoning", "reasoning_tokens"),
    ("Cost (USD)", "cost_usd"),
)


async def usage(request: web.Request) -> web.Response:
    """Totals and per-model figures for records that ended in [since, until) (unix seconds)."""
    since = _time_param(request, "since")
    until = _time_param(request, "until")
    if since is not None and until is not None and since > until:
        raise invalid_request("since must not be later than until.", param="since")
    store = request.app.get(USAGE)
    if store is None:
        raise OpenAIError(404, "Usage records are not kept by this proxy.", code="not_found")
    summary = await store.summary(since, until)
    return web.json_response(
        {
            "object": "usage",
            "since": since,
            "until": until,
            "totals": summary["totals"],
            "models": summary["models"],
        }
    )


def _time_param(request: web.Request, name: str) -> int | float | None:
    text = request.query.get(name)
    if text is None:
        return None
    value: int | float
    try:
        value = int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
    if not math.isfinite(value) or value < 0:
        raise invalid_request(f"{name} must be a unix time in seconds.", param=name)
    return value


def usage_table(summary: Mapping[str, Any]) -> str:
    """A plain-text table of a summary (`UsageStore.summary` or `read_summary`): one row per
    model, then the totals, then notes on requests whose cost is unknown."""
    title = f"Usage {_period(summary.get('since'), summary.get('until'))}"
    models: Sequence[Mapping[str, Any]] = summary.get("models") or []
    totals: Mapping[str, Any] = summary.get("totals") or {}
    if not models:
        return f"{title}: nothing recorded.\n"
    header = ["Model", *(h for h, _ in _COLUMNS)]
    rows = [[str(m.get("model") or "(unknown)"), *_cells(m)] for m in models]
    total_row = ["Total", *_cells(totals)]
    widths = [max(len(row[i]) for row in (header, *rows, total_row)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
        return "  ".join((first, *rest)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [title, "", line(header), rule, *(line(r) for r in rows), rule, line(total_row)]
    notes = []
    if unpriced := int(totals.get("unpriced") or 0):
        notes.append(f"{unpriced} request(s) have no cost: unknown model or missing usage.")
    if missing := int(totals.get("usage_missing") or 0):
        notes.append(f"{missing} request(s) returned content without usage; tokens are missing.")
    notes.append("Costs are estimates at list prices.")
    return "\n".join([*out, "", *notes]) + "\n"


def _cells(entry: Mapping[str, Any]) -> list[str]:
    cells = []
    for _, key in _COLUMNS:
        value = entry.get(key)
        if key == "cost_usd":
            if value is None:
                cells.append("-")
            elif 0 < value < 0.0001:
                cells.append("<$0.0001")
            else:
                cells.append(f"${value:,.4f}")
        else:
            cells.append(f"{int(value or 0):,}")
    return cells


def _period(since: float | None, until: float | None) -> str:
    if since is None and until is None:
        return "(all retained records)"
    start = "the beginning" if since is None else _when(since)
    end = "now" if until is None else _when(until)
    return f"from {start} until {end}"


def _when(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M UTC")
