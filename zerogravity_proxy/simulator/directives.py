"""`[[sim:NAME]]` / `[[sim:NAME=VALUE]]` directives in the last user text.

The prompt is the only channel every originator (SDKs, gemini-cli, the Antigravity language
server) carries through unchanged, so tests steer the simulator from inside it. Several
directives may appear, separately or comma-joined (`[[sim:events=50,size=20]]`); they are
removed from the echoed text, and an unknown one is a 400 (a typo should fail loudly).

    error=429|quota|500|503|context|midstream|400|401|403|404|504   fail the way Google does
    cut=N          send N chunks (none finished), then close the connection
    stall=S        after the first chunk, wait S seconds
    delay=MS       wait MS milliseconds between chunks
    events=N size=B   the text answer is N chunks of B bytes
    gzip           compress even if the client did not ask
    finish=REASON  end with that finishReason
    block=REASON   block the prompt: promptFeedback.blockReason, no candidates
    signatures     verify thought signatures whatever the model
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

MAX_EVENTS = 100_000
MAX_STREAM_BYTES = 16 * 1024 * 1024
_PATTERN = re.compile(r"\[\[sim:([^\]]*)\]\]")
ERRORS = frozenset({"429", "quota", "500", "503", "context", "midstream", "400", "401", "403", "404", "504"})  # fmt: skip


class DirectiveError(ValueError):
    """A directive the simulator does not understand (a typo in a test, usually)."""


@dataclass(frozen=True, slots=True)
class Directives:
    error: str | None = None
    cut: int | None = None
    stall: float = 0.0
    events: int | None = None
    size: int | None = None
    delay: float = 0.0
    gzip: bool = False
    finish: str | None = None
    block: str | None = None
    signatures: bool = False


def parse_directives(text: str) -> tuple[Directives, str]:
    """The directives in `text` and the text without them; raises DirectiveError."""
    found = Directives()
    for match in _PATTERN.finditer(text):
        for item in match.group(1).split(","):
            name, has_value, value = item.strip().partition("=")
            found = _apply(found, name.strip().lower(), value.strip() if has_value else None)
    events, size = found.events or 1, found.size or 1
    if events > MAX_EVENTS or events * size > MAX_STREAM_BYTES:
        raise DirectiveError(
            f"Simulator directives allow at most {MAX_EVENTS} events and {MAX_STREAM_BYTES} bytes."
        )
    return found, _PATTERN.sub("", text)


def _apply(found: Directives, name: str, value: str | None) -> Directives:
    match name:
        case "error" if value is not None and value.lower() in ERRORS:
            return replace(found, error=value.lower())
        case "cut":
            return replace(found, cut=_count(name, value, 0))
        case "events":
            return replace(found, events=_count(name, value, 1))
        case "size":
            return replace(found, size=_count(name, value, 1))
        case "stall":
            return replace(found, stall=_seconds(name, value, 1.0))
        case "delay":
            return replace(found, delay=_seconds(name, value, 0.001))
        case "gzip" if value is None:
            return replace(found, gzip=True)
        case "signatures" if value is None:
            return replace(found, signatures=True)
        case "finish" if value:
            return replace(found, finish=value.upper())
        case "block" if value:
            return replace(found, block=value.upper())
    shown = name if value is None else f"{name}={value}"
    raise DirectiveError(f"Unknown simulator directive [[sim:{shown}]].")


def _count(name: str, value: str | None, minimum: int) -> int:
    if value is None or not (value.isascii() and value.isdigit()) or int(value) < minimum:
        raise DirectiveError(f"Simulator directive {name} needs an integer >= {minimum}.")
    return int(value)


def _seconds(name: str, value: str | None, unit: float) -> float:
    try:
        amount = float(value) if value is not None else -1.0
    except ValueError:
        amount = -1.0
    if not amount >= 0:
        raise DirectiveError(f"Simulator directive {name} needs a non-negative number.")
    return amount * unit
