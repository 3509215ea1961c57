"""`zerogravity-proxy ls status`: is there a language server, and does it answer us?"""

from __future__ import annotations

from pathlib import Path

import aiohttp

from zerogravity_proxy.drivers.antigravity.client import LanguageServerClient, LanguageServerError
from zerogravity_proxy.drivers.antigravity.discovery import Resolution, resolve
from zerogravity_proxy.settings import Settings


async def status_report(
    settings: Settings, *, proc: Path = Path("/proc"), timeout: float = 5.0
) -> tuple[bool, str]:
    """(ok, a report for a person): where the LS was found, its address, whether it answers.

    Never prints the CSRF token: the report is meant to be pasted into bug reports.
    """
    lines = ["Antigravity language server"]
    try:
        found = resolve(settings.ls_host, settings.ls_port, settings.ls_csrf_token, proc=proc)
    except LanguageServerError as e:
        lines += [_row("found", "no"), _row("error", str(e))]
        return False, _report(False, lines)
    lines += [_row("found", _provenance(found)), _row("address", found.endpoint.address)]
    try:
        async with aiohttp.ClientSession() as session:
            await LanguageServerClient(found.endpoint, session, timeout=timeout).probe()
    except LanguageServerError as e:
        lines += [_row("answers", "no"), _row("error", str(e))]
        return False, _report(False, lines)
    lines.append(_row("answers", "yes"))
    return True, _report(True, lines)


def _provenance(found: Resolution) -> str:
    if found.server is None:
        return "configured (ls_port and ls_csrf_token)"
    text = f"running, pid {found.server.pid} ({found.server.exe})"
    if len(found.candidates) > 1:
        others = ", ".join(str(s.pid) for s in found.candidates[1:])
        text += f"; the newest of {len(found.candidates)}, also pids {others}"
    return text


def _row(name: str, value: str) -> str:
    return f"  {name + ':':<9}{value}"


def _report(ok: bool, lines: list[str]) -> str:
    lines[0] += ": OK" if ok else ": NOT OK"
    return "\n".join(lines)
