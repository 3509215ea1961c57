"""Finding a running language server: its port and CSRF token are on its command line.

Antigravity starts one LS per window with a fresh `--server_port` and `--csrf_token` each time,
so unless both are configured they are read from /proc (Linux only; elsewhere nothing is found).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from zerogravity_proxy.drivers.antigravity.client import Endpoint, LanguageServerError

log = logging.getLogger(__name__)

EXE_PREFIX = "language_server"  # language_server_linux_x64, language_server_linux_arm, ...
NOT_FOUND = (
    "no running Antigravity language server found{where}; "
    "start Antigravity or set ls_port and ls_csrf_token"
)


@dataclass(frozen=True, slots=True)
class FoundServer:
    pid: int
    port: int
    csrf_token: str = field(repr=False)
    exe: str  # the path that identified it: /proc/<pid>/exe if readable, else argv[0]


@dataclass(frozen=True, slots=True)
class Resolution:
    """An endpoint and where it came from: `server` is None when it was configured."""

    endpoint: Endpoint
    server: FoundServer | None = None
    candidates: tuple[FoundServer, ...] = ()  # every matching LS, newest first


def find_language_servers(proc: Path = Path("/proc")) -> list[FoundServer]:
    """Running language servers with a port and a token on their command line, newest first.

    Processes vanish and other users' entries may be unreadable while we scan: those are
    skipped, never an error. "Newest" is the start time where /proc/<pid>/stat gives one (pids
    wrap around), else the higher pid.
    """
    try:
        entries = [e for e in proc.iterdir() if e.name.isdigit()]
    except OSError:
        return []
    found: list[tuple[tuple[int, int], FoundServer]] = []
    for entry in entries:
        server = _inspect(entry)
        if server is not None:
            found.append(((_start_time(entry), server.pid), server))
    found.sort(key=lambda item: item[0], reverse=True)
    return [server for _, server in found]


def resolve(host: str, port: int, csrf_token: str, *, proc: Path = Path("/proc")) -> Resolution:
    """The endpoint to use: the configured port and token if both are set, else a running LS.

    A configured port or token alone narrows discovery to the LS that has it, rather than being
    silently ignored. Of several matches the newest wins: it is most likely the window in use.
    """
    if port and csrf_token:
        return Resolution(Endpoint(host, port, csrf_token))
    candidates = [
        s
        for s in find_language_servers(proc)
        if (not port or s.port == port) and (not csrf_token or s.csrf_token == csrf_token)
    ]
    if not candidates:
        narrowed = [f"ls_port {port}"] if port else []
        narrowed += ["the configured ls_csrf_token"] if csrf_token else []
        where = f" with {' and '.join(narrowed)}" if narrowed else ""
        raise LanguageServerError("not_found", NOT_FOUND.format(where=where))
    chosen = candidates[0]
    if len(candidates) > 1:
        log.info(
            "found %d Antigravity language servers (pids %s); using the newest, pid %d on port %d "
            "(set ls_port and ls_csrf_token to choose another)",
            len(candidates),
            ", ".join(str(s.pid) for s in candidates),
            chosen.pid,
            chosen.port,
        )
    return Resolution(Endpoint(host, chosen.port, chosen.csrf_token), chosen, tuple(candidates))


def resolve_endpoint(
    host: str, port: int, csrf_token: str, *, proc: Path = Path("/proc")
) -> Endpoint:
    """`resolve` without the provenance; raises LanguageServerError("not_found", ...)."""
    return resolve(host, port, csrf_token, proc=proc).endpoint


def _inspect(entry: Path) -> FoundServer | None:
    try:
        raw = (entry / "cmdline").read_bytes()
    except OSError:
        return None
    argv = [os.fsdecode(arg) for arg in raw.split(b"\0")]
    if argv and argv[-1] == "":
        argv.pop()  # the terminating NUL
    if not argv:
        return None  # kernel threads and zombies have no command line
    try:
        link = os.readlink(entry / "exe")
    except OSError:
        link = ""  # another user's process: its argv[0] still tells
    # The exe link beats argv[0] (which a process may rewrite); argv[0] covers links we cannot
    # read and launches through a symlink, where the exe link names the symlink's target.
    exe = next((p for p in (link, argv[0]) if os.path.basename(p).startswith(EXE_PREFIX)), "")
    if not exe:
        return None
    flags = _flags(argv[1:])
    port_text, token = flags.get("server_port", ""), flags.get("csrf_token", "")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536 or not token:
        log.debug("pid %s looks like a language server but has no port and token", entry.name)
        return None
    return FoundServer(int(entry.name), int(port_text), token, exe)


def _flags(args: list[str]) -> dict[str, str]:
    """Go's flag syntax: -name value, --name value, -name=value, --name=value; the last wins."""
    values: dict[str, str] = {}
    for i, arg in enumerate(args):
        if not arg.startswith("-"):
            continue
        name, eq, value = arg.lstrip("-").partition("=")
        if eq:
            values[name] = value
        elif i + 1 < len(args):
            values[name] = args[i + 1]
    return values


def _start_time(entry: Path) -> int:
    """Field 22 of /proc/<pid>/stat (clock ticks since boot); -1 if unreadable."""
    try:
        stat = (entry / "stat").read_text()
        # The command name (field 2) is in parentheses and may contain spaces and ')'.
        return int(stat[stat.rindex(")") + 2 :].split()[19])
    except (OSError, ValueError, IndexError):
        return -1
