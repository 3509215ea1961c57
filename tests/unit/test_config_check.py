"""`config check`: the effective settings with their sources, secrets masked, and the failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from zerogravity_proxy.config_check import SECRET_MASK, check, toml_value
from zerogravity_proxy.settings import FIELDS

GOOD = """\
listen_port = 9000
gemini_api_key = "AIza-config-secret"
models = ["fast=gemini-2.5-flash"]
fetch_remote_images = true
"""


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    """No user config file: only the file given explicitly counts."""
    return {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}


def line_of(report: str, name: str) -> str:
    (line,) = [line for line in report.splitlines() if line.startswith(f"{name} = ")]
    return line


def test_good_file_shows_values_and_sources(tmp_path: Path, environ: dict[str, str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text(GOOD)
    environ |= {"ZEROGRAVITY_GATE_TIMEOUT": "3", "ZEROGRAVITY_CLOUDCODE_TOKEN": "ya29.env-secret"}
    ok, report = check(config, environ, {"sidecar_port": 9001, "api_keys": ("k1", "k2")})
    assert ok, report
    assert report.splitlines()[0] == f"# config file: {config}"
    assert line_of(report, "listen_port").split() == [
        "listen_port",
        "=",
        "9000",
        "#",
        "config",
        str(config),
    ]
    assert line_of(report, "models").endswith(f"# config {config}")
    assert '["fast=gemini-2.5-flash"]' in line_of(report, "models")
    assert "= true" in line_of(report, "fetch_remote_images")
    assert line_of(report, "gate_timeout").split() == [
        "gate_timeout", "=", "3.0", "#", "env", "ZEROGRAVITY_GATE_TIMEOUT",
    ]  # fmt: skip
    assert line_of(report, "sidecar_port").split() == ["sidecar_port", "=", "9001", "#", "flag"]
    assert line_of(report, "listen_host").split() == [
        "listen_host",
        "=",
        '"127.0.0.1"',
        "#",
        "default",
    ]
    # Secrets: masked when set, empty when not; never the value itself.
    assert line_of(report, "gemini_api_key").split()[:3] == ["gemini_api_key", "=", SECRET_MASK]
    assert line_of(report, "cloudcode_token").split()[:3] == ["cloudcode_token", "=", SECRET_MASK]
    assert line_of(report, "api_keys").split() == ["api_keys", "=", SECRET_MASK, "#", "flag"]
    assert line_of(report, "ls_csrf_token").split() == ["ls_csrf_token", "=", "#", "default"]
    for secret in ("AIza-config-secret", "ya29.env-secret", "k1", "k2"):
        assert secret not in report
    assert report.splitlines()[-1] == "# api keys: 2 accepted"
    # One line per setting, between the header and the summary.
    assert len(report.splitlines()) == len(FIELDS) + 2


def test_env_alias_is_named_as_the_source(environ: dict[str, str]) -> None:
    ok, report = check(None, environ | {"GEMINI_API_KEY": "AIza-alias"}, {})
    assert ok and line_of(report, "gemini_api_key").endswith("# env GEMINI_API_KEY")
    assert report.splitlines()[0] == "# config file: none"
    assert report.splitlines()[-1] == "# api keys: none; the sidecar serves loopback clients only"


def test_unset_flags_do_not_count(environ: dict[str, str]) -> None:
    ok, report = check(None, environ, {"sidecar_port": None, "models": (), "trace": None})
    assert ok
    assert line_of(report, "models").endswith("# default")
    assert line_of(report, "sidecar_port").endswith("# default")


def test_keys_file_counts_and_is_named(tmp_path: Path, environ: dict[str, str]) -> None:
    keys = tmp_path / "api-keys"
    keys.write_text("# ops\nkey-a\nkey-b\n")
    ok, report = check(None, environ | {"CREDENTIALS_DIRECTORY": str(tmp_path)}, {})
    assert ok and report.splitlines()[-1] == f"# api keys: 2 accepted, including {keys}"
    assert "key-a" not in report


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("sidecar_prot = 9000\n", "unknown setting(s): sidecar_prot"),
        ('sidecar_port = "abc"\n', "sidecar_port: 'abc' is not a valid int"),
        ("sidecar_port = 70000\n", "sidecar_port: 70000 is not a port number"),
        ('driver = "vertex"\n', "driver: 'vertex' is not one of direct, antigravity"),
        ("gate_timeout = -1\n", "gate_timeout: must be a positive number of seconds"),
        ("listen_port = \n", "config file"),  # not TOML at all
    ],
)
def test_bad_config_file_fails(
    tmp_path: Path, environ: dict[str, str], toml: str, message: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(toml)
    ok, report = check(config, environ, {})
    assert not ok and message in report


def test_bad_environment_and_flags_fail(environ: dict[str, str]) -> None:
    ok, report = check(None, environ | {"ZEROGRAVITY_IDLE_TIMEOUT": "soon"}, {})
    assert not ok and report == "idle_timeout: 'soon' is not a valid float"
    ok, report = check(None, environ, {"upstream_flavour": "vertex"})
    assert not ok and "upstream_flavour: 'vertex' is not one of gemini, cloudcode" in report
    ok, report = check(None, environ, {"sidecar_prot": 1})
    assert not ok and report == "unknown setting(s): sidecar_prot"


def test_missing_config_file_fails(tmp_path: Path, environ: dict[str, str]) -> None:
    ok, report = check(tmp_path / "nope.toml", environ, {})
    assert not ok and "cannot read config file" in report


def test_missing_keys_file_fails_after_the_settings(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    missing = tmp_path / "keys"
    ok, report = check(None, environ, {"api_keys_file": str(missing)})
    assert not ok
    lines = report.splitlines()
    assert lines[-1] == f"error: api_keys_file: cannot read {missing}: No such file or directory"
    assert line_of(report, "api_keys_file").endswith("# flag")


def test_public_bind_without_keys_fails(environ: dict[str, str]) -> None:
    ok, report = check(None, environ, {"sidecar_host": "0.0.0.0"})
    assert not ok
    assert report.splitlines()[-1].startswith(
        "error: sidecar_host: 0.0.0.0 is not a loopback address, and no API keys are configured."
    )
    ok, _ = check(None, environ, {"sidecar_host": "0.0.0.0", "api_keys": ("k1",)})
    assert ok


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("a", '"a"'),
        ('say "hi"', '"say \\"hi\\""'),
        (3, "3"),
        (2.5, "2.5"),
        (True, "true"),
        (False, "false"),
        ((), "[]"),
        (("a", "b"), '["a", "b"]'),
    ],
)
def test_toml_value(value: object, shown: str) -> None:
    assert toml_value(value) == shown
