"""The sd_notify(3) protocol in pure Python: readiness, status and watchdog pings to systemd.

One datagram of newline-separated KEY=VALUE assignments goes to the AF_UNIX socket named by
$NOTIFY_SOCKET (a path, or @name for the abstract namespace). Outside systemd it is unset and
every call is a no-op. See man:sd_notify(3) and man:sd_watchdog_enabled(3).
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)

# A wedged service manager must not stall the event loop for long; libsystemd blocks forever.
SEND_TIMEOUT = 2.0

_send_failed = False  # a send error is logged once per process, not once per ping


def notify(*assignments: str) -> bool:
    """Send assignments such as "READY=1" to the service manager; False if none listens.

    Never raises: an unusable $NOTIFY_SOCKET or a failed send returns False (logged once).
    Assignments must not contain newlines.
    """
    global _send_failed
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address or not assignments:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        if not address.startswith(("/", "\0")):
            raise OSError(f"unsupported address {address!r} (only paths and @abstract)")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.settimeout(SEND_TIMEOUT)
            sock.sendto("\n".join(assignments).encode(), address)
    except OSError as e:
        if not _send_failed:
            _send_failed = True
            log.warning("cannot notify systemd through NOTIFY_SOCKET: %s", e)
        return False
    return True


def watchdog_interval() -> float | None:
    """Seconds between WATCHDOG=1 pings (half of $WATCHDOG_USEC), or None if none are expected.

    Pings are expected only when $WATCHDOG_USEC is a positive integer and $WATCHDOG_PID is
    unset or our own pid (it names the main process, so a child does not ping for it).
    """
    try:
        usec = int(os.environ.get("WATCHDOG_USEC", ""))
        pid = int(os.environ.get("WATCHDOG_PID") or os.getpid())
    except ValueError:
        return None
    if usec <= 0 or pid != os.getpid():
        return None
    return usec / 2_000_000
