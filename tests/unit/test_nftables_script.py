"""scripts/transparent-nftables.sh: the exact ruleset it prints, its refusals, its syntax.

Nothing here touches this machine's firewall: the dry run only prints, `nft -c` only checks,
and --apply/--remove run against a fake `nft` that records what it was fed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "transparent-nftables.sh"

DEFAULT_RULESET = """\
table inet zerogravity
delete table inet zerogravity
table inet zerogravity {
\tchain output {
\t\ttype nat hook output priority -100; policy accept;
\t\tip daddr 127.0.0.0/8 return
\t\tip6 daddr ::1 return
\t\tmeta skuid "zerogravity-ls" tcp dport 443 redirect to :8080
\t}
}
"""

CUSTOM_RULESET = """\
table inet zerogravity
delete table inet zerogravity
table inet zerogravity {
\tchain output {
\t\ttype nat hook output priority -100; policy accept;
\t\tip daddr 127.0.0.0/8 return
\t\tip6 daddr ::1 return
\t\tmeta skuid "zerogravity" return
\t\tmeta skuid "agent" tcp dport 443 redirect to :8742
\t}
}
"""

REMOVAL = "table inet zerogravity\ndelete table inet zerogravity\n"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_script_parses() -> None:
    result = subprocess.run(
        ["bash", "-n", str(SCRIPT)], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    assert os.access(SCRIPT, os.X_OK)


def test_dry_run_prints_the_default_ruleset() -> None:
    result = run()
    assert result.returncode == 0, result.stderr
    assert result.stdout == DEFAULT_RULESET
    assert run("--dry-run").stdout == DEFAULT_RULESET


@pytest.mark.parametrize(
    "args",
    [
        ("--user", "agent", "--port", "8742", "--proxy-user", "zerogravity"),
        ("--user=agent", "--port=8742", "--proxy-user=zerogravity"),
        ("--proxy-user", "zerogravity", "--port", "08742", "--user", "agent"),
    ],
)
def test_dry_run_prints_the_ruleset_for_a_user_and_port(args: tuple[str, ...]) -> None:
    result = run(*args)
    assert result.returncode == 0, result.stderr
    assert result.stdout == CUSTOM_RULESET


def test_numeric_uids_are_used_bare() -> None:
    result = run("--user", "64000", "--proxy-user", "64001", "--port", "1")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert "\t\tmeta skuid 64001 return" in lines
    assert "\t\tmeta skuid 64000 tcp dport 443 redirect to :1" in lines


def test_dry_run_notes_a_user_that_does_not_exist() -> None:
    result = run("--user", "zg-no-such-user-here")
    assert result.returncode == 0
    assert "does not exist" in result.stderr
    assert '"zg-no-such-user-here"' in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--port", "0"), "is not a port number"),
        (("--port", "65536"), "is not a port number"),
        (("--port", "80a"), "is not a port number"),
        (("--port", "1234567"), "is not a port number"),
        (("--user", 'a" accept; #'), "is not a user name or UID"),
        (("--user", ""), "is not a user name or UID"),
        (("--proxy-user", "x y"), "is not a user name or UID"),
        (("--user", "agent", "--proxy-user", "agent"), "must differ"),
        (("--user", "root", "--proxy-user", "0"), "must differ"),
        (("--user",), "needs a value"),
        (("--bogus",), "unknown argument"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_printed(
    args: tuple[str, ...], message: str
) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_help() -> None:
    result = run("--help")
    assert result.returncode == 0
    assert result.stdout.startswith("Usage:\n")
    for flag in ("--user", "--port", "--proxy-user", "--apply", "--remove", "--dry-run"):
        assert flag in result.stdout


@pytest.fixture
def fake_nft(tmp_path: Path) -> tuple[Path, Path]:
    """An `nft` that records its arguments and stdin instead of touching the firewall."""
    log = tmp_path / "nft.log"
    nft = tmp_path / "nft"
    nft.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\ncat >> "{log}"\n')
    nft.chmod(0o755)
    return nft, log


@pytest.mark.parametrize(
    ("action", "fed"),
    [("--apply", DEFAULT_RULESET.replace('"zerogravity-ls"', "0")), ("--remove", REMOVAL)],
)
def test_apply_and_remove_feed_nft_one_transaction(
    fake_nft: tuple[Path, Path], action: str, fed: str
) -> None:
    nft, log = fake_nft
    result = run("--user", "0", action, env={"NFT": str(nft)})
    if os.geteuid() == 0:
        assert result.returncode == 0, result.stderr
        assert log.read_text() == "-f -\n" + fed
    else:
        assert result.returncode == 2
        assert "run it as root" in result.stderr
        assert not log.exists()
    assert result.stdout == ""


def test_apply_refuses_a_user_that_does_not_exist(fake_nft: tuple[Path, Path]) -> None:
    nft, log = fake_nft
    result = run("--user", "zg-no-such-user-here", "--apply", env={"NFT": str(nft)})
    assert result.returncode == 2
    assert ("does not exist" if os.geteuid() == 0 else "run it as root") in result.stderr
    assert not log.exists()


def test_nft_accepts_the_printed_ruleset() -> None:
    """`nft -c` checks the ruleset against the kernel without loading it.

    Numeric UIDs, so the check does not depend on which users this machine has. The check
    needs netlink access (root or CAP_NET_ADMIN); without it nft cannot check anything.
    """
    nft = shutil.which("nft") or next(
        (p for p in ("/usr/sbin/nft", "/sbin/nft") if os.access(p, os.X_OK)), None
    )
    if nft is None:
        pytest.skip("nft is not installed (apt-get install nftables); syntax check not run")
    ruleset = run("--user", "64000", "--proxy-user", "64001", "--port", "8742").stdout
    result = subprocess.run(
        [nft, "-c", "-f", "-"],
        input=ruleset,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0 and "Operation not permitted" in result.stderr:
        pytest.skip(f"nft -c needs root or CAP_NET_ADMIN to reach netlink: {result.stderr}")
    assert result.returncode == 0, result.stderr
