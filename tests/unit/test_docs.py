"""The README stays true: every setting documented, and CI runs the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

from zerogravity_proxy.settings import FIELDS

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_every_setting_is_in_the_readme_table() -> None:
    documented = set(re.findall(r"^\| `([a-z_]+)` \| `--", README, re.MULTILINE))
    assert documented == set(FIELDS)


def test_ci_runs_the_readme_test_command() -> None:
    commands = re.findall(
        r"^((?:scripts/install-test-tools && )?python3\.13 -m venv .*)$", README, re.MULTILINE
    )
    start, test = commands  # the two commands: start the daemon, run the tests
    assert "zerogravity-proxy run" in start and "pytest" in test
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test in ci
