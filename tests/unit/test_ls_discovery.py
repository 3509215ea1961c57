"""Finding language servers in a fake /proc tree, and in the real one."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zerogravity_proxy.drivers.antigravity.client import Endpoint, LanguageServerError
from zerogravity_proxy.drivers.antigravity.discovery import (
    FoundServer,
    find_language_servers,
    resolve,
    resolve_endpoint,
)

LS = "/usr/share/antigravity/resources/app/extensions/antigravity/bin/language_server_linux_x64"
NOT_FOUND = (
    "no running Antigravity language server found; "
    "start Antigravity or set ls_port and ls_csrf_token"
)


def add(
    proc: Path,
    pid: int,
    argv: list[str],
    *,
    exe: str | None = None,
    start: int | None = None,
) -> None:
    """A /proc/<pid> with a NUL-terminated cmdline, maybe an exe link and a stat line."""
    entry = proc / str(pid)
    entry.mkdir(parents=True)
    (entry / "cmdline").write_bytes(b"".join(os.fsencode(a) + b"\0" for a in argv))
    if exe is not None:
        os.symlink(exe, entry / "exe")  # dangling is fine: only the link's text is read
    if start is not None:
        rest = " ".join(["S", *["0"] * 18, str(start), "0"])
        (entry / "stat").write_text(f"{pid} (language server) x) {rest}\n")


def ls_argv(port: str, token: str, *, exe: str = LS, equals: bool = False) -> list[str]:
    if equals:
        return [exe, f"--server_port={port}", f"--csrf_token={token}", "--standalone"]
    return [exe, "--enable_lsp=false", "--server_port", port, "--csrf_token", token]


@pytest.fixture
def proc(tmp_path: Path) -> Path:
    root = tmp_path / "proc"
    root.mkdir()
    (root / "self").symlink_to("4000")
    (root / "sys").mkdir()
    return root


def test_flag_value_and_flag_equals_value_forms(proc: Path) -> None:
    add(proc, 100, ls_argv("40001", "tok-a"), exe=LS)
    add(proc, 200, ls_argv("40002", "tok-b", equals=True), exe=LS)
    assert find_language_servers(proc) == [
        FoundServer(200, 40002, "tok-b", LS),
        FoundServer(100, 40001, "tok-a", LS),
    ]


def test_go_single_dash_flags_and_the_last_value_wins(proc: Path) -> None:
    argv = [LS, "-server_port", "1", "-csrf_token=x", "--server_port", "40003", "-csrf_token", "y"]
    add(proc, 100, argv)
    assert find_language_servers(proc) == [FoundServer(100, 40003, "y", LS)]


def test_extension_server_port_is_not_the_server_port(proc: Path) -> None:
    add(proc, 100, [LS, "--extension_server_port", "5000", "--csrf_token", "t"])
    add(proc, 101, [LS, "--extension_server_port=5000", "--server_port=40004", "--csrf_token=t"])
    assert [(s.pid, s.port) for s in find_language_servers(proc)] == [(101, 40004)]


def test_identified_by_exe_link_or_by_argv0(proc: Path) -> None:
    add(proc, 100, ls_argv("40001", "a", exe="ls"), exe=LS)  # argv[0] rewritten
    add(proc, 101, ls_argv("40002", "b"))  # another user's: no readable exe link
    add(proc, 102, ls_argv("40003", "c", exe="/tmp/language_server_linux_x64"), exe=sys.executable)
    add(proc, 103, ls_argv("40004", "d", exe="/usr/bin/python3"), exe="/usr/bin/python3")
    assert [(s.pid, s.exe) for s in find_language_servers(proc)] == [
        (102, "/tmp/language_server_linux_x64"),
        (101, LS),
        (100, LS),
    ]


def test_other_language_server_builds_match(proc: Path) -> None:
    add(proc, 100, ls_argv("40001", "a", exe="/opt/bin/language_server_linux_arm"))
    add(proc, 101, ls_argv("40002", "b", exe="/opt/bin/my_language_server"))
    assert [s.exe for s in find_language_servers(proc)] == ["/opt/bin/language_server_linux_arm"]


@pytest.mark.parametrize(
    "argv",
    [
        [LS, "--server_port", "40001"],  # no token
        [LS, "--csrf_token", "t"],  # no port
        [LS, "--csrf_token", "t", "--server_port"],  # port flag without a value
        [LS, "--server_port=", "--csrf_token=t"],
        [LS, "--server_port=abc", "--csrf_token=t"],
        [LS, "--server_port=0", "--csrf_token=t"],
        [LS, "--server_port=70000", "--csrf_token=t"],
        [LS, "--server_port=40001", "--csrf_token="],
    ],
)
def test_servers_without_a_usable_port_and_token_are_skipped(proc: Path, argv: list[str]) -> None:
    add(proc, 100, argv)
    assert find_language_servers(proc) == []


def test_unreadable_and_odd_entries_are_skipped(proc: Path) -> None:
    (proc / "300").mkdir()  # vanished: no cmdline
    (proc / "301").mkdir()
    (proc / "301" / "cmdline").mkdir()  # unreadable as a file
    add(proc, 302, [])  # a kernel thread: empty cmdline
    add(proc, 303, ls_argv("40001", "t"))
    assert [s.pid for s in find_language_servers(proc)] == [303]


def test_a_missing_proc_finds_nothing(tmp_path: Path) -> None:
    assert find_language_servers(tmp_path / "nope") == []


def test_newest_is_by_start_time_when_known(proc: Path) -> None:
    add(proc, 900, ls_argv("40001", "old"), start=1000)
    add(proc, 50, ls_argv("40002", "new"), start=5000)  # pids wrapped around
    add(proc, 400, ls_argv("40003", "mid"), start=3000)
    assert [s.pid for s in find_language_servers(proc)] == [50, 400, 900]


def test_the_token_stays_out_of_reprs() -> None:
    assert "secret" not in repr(FoundServer(1, 2, "secret", LS))


# resolve_endpoint


def test_configured_port_and_token_win(proc: Path) -> None:
    add(proc, 100, ls_argv("40001", "found"))
    assert resolve_endpoint("127.0.0.1", 5555, "conf", proc=proc) == Endpoint(
        "127.0.0.1", 5555, "conf"
    )
    assert resolve("127.0.0.1", 5555, "conf", proc=proc).server is None


def test_port_0_discovers(proc: Path) -> None:
    add(proc, 100, ls_argv("40001", "found"), exe=LS)
    assert resolve_endpoint("127.0.0.1", 0, "", proc=proc) == Endpoint("127.0.0.1", 40001, "found")
    resolution = resolve("localhost", 0, "", proc=proc)
    assert resolution.endpoint == Endpoint("localhost", 40001, "found")
    assert resolution.server == FoundServer(100, 40001, "found", LS)


def test_none_found(proc: Path) -> None:
    with pytest.raises(LanguageServerError) as caught:
        resolve_endpoint("127.0.0.1", 0, "", proc=proc)
    assert (caught.value.code, caught.value.message) == ("not_found", NOT_FOUND)
    assert str(caught.value) == f"not_found: {NOT_FOUND}"


def test_several_found_uses_the_newest_and_says_so(
    proc: Path, caplog: pytest.LogCaptureFixture
) -> None:
    add(proc, 100, ls_argv("40001", "a"))
    add(proc, 300, ls_argv("40003", "c"))
    add(proc, 200, ls_argv("40002", "b"))
    with caplog.at_level(logging.INFO, "zerogravity_proxy.drivers.antigravity.discovery"):
        endpoint = resolve_endpoint("127.0.0.1", 0, "", proc=proc)
    assert endpoint == Endpoint("127.0.0.1", 40003, "c")
    assert caplog.messages == [
        "found 3 Antigravity language servers (pids 300, 200, 100); using the newest, "
        "pid 300 on port 40003 (set ls_port and ls_csrf_token to choose another)"
    ]
    assert [s.pid for s in resolve("127.0.0.1", 0, "", proc=proc).candidates] == [300, 200, 100]


def test_one_found_logs_nothing(proc: Path, caplog: pytest.LogCaptureFixture) -> None:
    add(proc, 100, ls_argv("40001", "a"))
    with caplog.at_level(logging.INFO):
        resolve_endpoint("127.0.0.1", 0, "", proc=proc)
    assert caplog.messages == []


def test_a_configured_port_alone_picks_that_server(proc: Path) -> None:
    add(proc, 100, ls_argv("40001", "a"))
    add(proc, 200, ls_argv("40002", "b"))
    assert resolve_endpoint("127.0.0.1", 40001, "", proc=proc) == Endpoint("127.0.0.1", 40001, "a")
    with pytest.raises(LanguageServerError) as caught:
        resolve_endpoint("127.0.0.1", 40009, "", proc=proc)
    assert caught.value.message == (
        "no running Antigravity language server found with ls_port 40009; "
        "start Antigravity or set ls_port and ls_csrf_token"
    )


def test_a_configured_token_alone_picks_that_server(proc: Path) -> None:
    add(proc, 100, ls_argv("40001", "a"))
    add(proc, 200, ls_argv("40002", "b"))
    assert resolve_endpoint("127.0.0.1", 0, "a", proc=proc) == Endpoint("127.0.0.1", 40001, "a")
    with pytest.raises(LanguageServerError) as caught:
        resolve_endpoint("127.0.0.1", 0, "zzz", proc=proc)
    assert caught.value.message == (
        "no running Antigravity language server found with the configured ls_csrf_token; "
        "start Antigravity or set ls_port and ls_csrf_token"
    )


# The real /proc


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs Linux /proc")
def test_a_real_process(tmp_path: Path) -> None:
    """A python started through a symlink named like the LS: argv[0] names it, exe does not."""
    link = tmp_path / "language_server_linux_x64"
    link.symlink_to(sys.executable)
    argv = [str(link), "-c", "import time; time.sleep(30)", "--server_port", "4242"]
    child = subprocess.Popen([*argv, "--csrf_token", "abc"])
    try:
        # Popen returns when the exec has begun, but the kernel fills in the new command line a
        # moment later (an empty cmdline is skipped like a kernel thread's): wait for it.
        deadline = time.monotonic() + 10
        while not (mine := [s for s in find_language_servers() if s.pid == child.pid]):
            assert time.monotonic() < deadline, "the child never showed up in /proc"
            time.sleep(0.01)
        assert mine == [FoundServer(child.pid, 4242, "abc", str(link))]
        endpoint = resolve_endpoint("127.0.0.1", 4242, "", proc=Path("/proc"))
        assert endpoint == Endpoint("127.0.0.1", 4242, "abc")
    finally:
        child.kill()
        child.wait()
    assert [s for s in find_language_servers() if s.pid == child.pid] == []
