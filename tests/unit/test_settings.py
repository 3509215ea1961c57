"""Settings: defaults, the four layers, coercion, validation and the derived values."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from zerogravity_proxy.settings import (
    DEFAULTS,
    FIELDS,
    GOOGLE_API_HOSTS,
    Settings,
    SettingsError,
    coerce,
    default_config_path,
    env_name,
    from_environment,
    kind_of,
    load_config_file,
    resolve,
)

MiB = 1024 * 1024


@pytest.fixture
def no_config(tmp_path: Path) -> dict[str, str]:
    """An environment whose user config directory is empty (so only explicit files count)."""
    return {"XDG_CONFIG_HOME": str(tmp_path / "xdg-config")}


def make(name: str, value: object) -> Settings:
    """Settings with one field set (by name, as the layers set them)."""
    kwargs: dict[str, Any] = {name: value}
    return Settings(**kwargs)


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


# --- defaults -------------------------------------------------------------------------------


def test_defaults() -> None:
    s = Settings()
    assert dataclasses.asdict(s) == {
        "listen_host": "127.0.0.1",
        "listen_port": 8080,
        "mode": ("regular",),
        "confdir": "",
        "state_dir": "",
        "sidecar_host": "127.0.0.1",
        "sidecar_port": 8741,
        "driver": "direct",
        "upstream_flavour": "gemini",
        "upstream_url": "",
        "upstream_override": "",
        "simulator": "auto",
        "gemini_api_key": "",
        "cloudcode_token": "",
        "cloudcode_project": "",
        "ls_host": "127.0.0.1",
        "ls_port": 0,
        "ls_csrf_token": "",
        "system_prompt_mode": "replace",
        "gemini_hosts": GOOGLE_API_HOSTS,
        "models": (),
        "gate_timeout": 5.0,
        "idle_timeout": 120.0,
        "request_timeout": 600.0,
        "max_body_size": 32 * MiB,
        "max_exchanges": 256,
        "fetch_remote_images": False,
        "remote_image_max_bytes": 10 * MiB,
        "response_retention_days": 30.0,
        "response_store_max": 10_000,
        "api_keys": (),
        "api_keys_file": "",
        "public_paths": ("/healthz",),
        "usage_retention_days": 90.0,
        "prices": (),
        "trace": False,
        "trace_max": 500,
        "shutdown_timeout": 10.0,
        "log_level": "info",
    }
    assert s == DEFAULTS


def test_kinds_of_settings() -> None:
    assert kind_of("sidecar_port") is int
    assert kind_of("gate_timeout") is float
    assert kind_of("fetch_remote_images") is bool
    assert kind_of("models") is tuple
    assert kind_of("gemini_hosts") is tuple
    assert kind_of("log_level") is str
    assert env_name("sidecar_port") == "ZEROGRAVITY_SIDECAR_PORT"


def test_resolve_with_nothing_gives_defaults(no_config: dict[str, str]) -> None:
    if Path("/etc/zerogravity-proxy/config.toml").is_file():
        pytest.skip("this machine has a system-wide config file")
    resolved = resolve(environ=no_config)
    assert resolved.settings == Settings()
    assert resolved.sources == dict.fromkeys(FIELDS, "default")


# --- layering -------------------------------------------------------------------------------


def test_layers_default_config_env_flags(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        'sidecar_port = 1000\ngate_timeout = 1.5\nlog_level = "debug"\n'
        'models = ["a", "b=gemini-2.5-pro"]\n',
    )
    environ = {"ZEROGRAVITY_SIDECAR_PORT": "2000", "ZEROGRAVITY_LOG_LEVEL": "warning"}
    flags: dict[str, Any] = {"log_level": "error", "sidecar_host": None, "idle_timeout": 9}
    resolved = resolve(config_path=path, environ=environ, flags=flags)
    s = resolved.settings
    assert s.sidecar_port == 2000  # env beats config
    assert s.gate_timeout == 1.5  # config beats default
    assert s.log_level == "error"  # flag beats env and config
    assert s.idle_timeout == 9.0 and isinstance(s.idle_timeout, float)
    assert s.sidecar_host == "127.0.0.1"  # a None flag is "not given"
    assert s.models == ("a", "b=gemini-2.5-pro")
    src = resolved.sources
    assert src["gate_timeout"] == f"config {path}"
    assert src["models"] == f"config {path}"
    assert src["sidecar_port"].split()[0] == "env"
    assert src["log_level"] == "flag"
    assert src["idle_timeout"] == "flag"
    assert src["sidecar_host"] == "default"
    assert src["request_timeout"] == "default"
    assert set(src) == set(FIELDS)


def test_env_source_names_the_variable(no_config: dict[str, str]) -> None:
    environ = {**no_config, "ZEROGRAVITY_SIDECAR_PORT": "2000", "GEMINI_API_KEY": "k"}
    sources = resolve(environ=environ).sources
    assert sources["sidecar_port"] == "env ZEROGRAVITY_SIDECAR_PORT"
    assert sources["gemini_api_key"] == "env GEMINI_API_KEY"


def test_config_path_from_environment(tmp_path: Path) -> None:
    explicit = write_config(tmp_path, "sidecar_port = 1111\n")
    resolved = resolve(environ={"ZEROGRAVITY_CONFIG": str(explicit)})
    assert resolved.settings.sidecar_port == 1111
    assert resolved.sources["sidecar_port"] == f"config {explicit}"
    assert default_config_path({"ZEROGRAVITY_CONFIG": "/nowhere.toml"}) == Path("/nowhere.toml")


def test_config_path_from_xdg_config_home(tmp_path: Path) -> None:
    user = tmp_path / "xdg" / "zerogravity-proxy" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text("max_exchanges = 7\n")
    environ = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert default_config_path(environ) == user
    assert resolve(environ=environ).settings.max_exchanges == 7


def test_explicit_config_path_beats_environment(tmp_path: Path) -> None:
    a = tmp_path / "a.toml"
    a.write_text("max_exchanges = 3\n")
    b = tmp_path / "b.toml"
    b.write_text("max_exchanges = 4\n")
    resolved = resolve(config_path=a, environ={"ZEROGRAVITY_CONFIG": str(b)})
    assert resolved.settings.max_exchanges == 3


def test_gemini_api_key_alias(no_config: dict[str, str]) -> None:
    assert from_environment({"GEMINI_API_KEY": "k1"}) == {"gemini_api_key": "k1"}
    both = {"GEMINI_API_KEY": "k1", "ZEROGRAVITY_GEMINI_API_KEY": "k2"}
    assert from_environment(both) == {"gemini_api_key": "k2"}
    resolved = resolve(environ={**no_config, "GEMINI_API_KEY": "k1"})
    assert resolved.settings.gemini_api_key == "k1"
    assert resolved.settings.use_simulator is False


def test_environment_ignores_unrelated_variables() -> None:
    assert from_environment({"SIDECAR_PORT": "1", "ZEROGRAVITY_NOPE": "2", "PATH": "/bin"}) == {}


# --- coercion -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("42", 42), (" 7 ", 7), (42, 42), ("-3", -3)],
)
def test_coerce_int(value: Any, expected: int) -> None:
    result = coerce("max_exchanges", value)
    assert result == expected and type(result) is int


@pytest.mark.parametrize("value", ["abc", "1.5", "", True, None, [1]])
def test_coerce_bad_int(value: Any) -> None:
    with pytest.raises(SettingsError, match=r"^max_exchanges: .* is not a valid int$"):
        coerce("max_exchanges", value)


def test_coerce_int_refuses_fractional_float() -> None:
    with pytest.raises(SettingsError):
        coerce("max_exchanges", 1.5)


@pytest.mark.parametrize(
    ("value", "expected"), [("2.5", 2.5), (3, 3.0), (0.25, 0.25), ("1e1", 10.0)]
)
def test_coerce_float(value: Any, expected: float) -> None:
    result = coerce("gate_timeout", value)
    assert result == expected and type(result) is float


@pytest.mark.parametrize("value", ["soon", "", False, [1.0]])
def test_coerce_bad_float(value: Any) -> None:
    with pytest.raises(SettingsError, match=r"^gate_timeout: .* is not a valid float$"):
        coerce("gate_timeout", value)


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "True", "yes", "on", "ON", True])
def test_coerce_bool_true(value: Any) -> None:
    assert coerce("fetch_remote_images", value) is True


@pytest.mark.parametrize("value", ["0", "false", "False", "no", "off", "", False])
def test_coerce_bool_false(value: Any) -> None:
    assert coerce("fetch_remote_images", value) is False


@pytest.mark.parametrize("value", ["maybe", "2", 1, 0, None])
def test_coerce_bad_bool(value: Any) -> None:
    with pytest.raises(SettingsError, match=r"^fetch_remote_images: .* is not a valid bool$"):
        coerce("fetch_remote_images", value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a, b,,c ", ("a", "b", "c")),
        ("one", ("one",)),
        ("", ()),
        (" , ", ()),
        (["x", "y=z"], ("x", "y=z")),
        (("p",), ("p",)),
        ([], ()),
    ],
)
def test_coerce_tuple(value: Any, expected: tuple[str, ...]) -> None:
    assert coerce("models", value) == expected


@pytest.mark.parametrize("value", [[1, 2], ["a", 1], 5, {"a": "b"}])
def test_coerce_bad_tuple(value: Any) -> None:
    with pytest.raises(SettingsError, match=r"^models: .* is not a valid tuple$"):
        coerce("models", value)


@pytest.mark.parametrize("value", [5, True, ["debug"]])
def test_coerce_bad_str(value: Any) -> None:
    with pytest.raises(SettingsError, match=r"^log_level: .* is not a valid str$"):
        coerce("log_level", value)


def test_toml_types_are_coerced(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        "gate_timeout = 3\nfetch_remote_images = true\n"
        'gemini_hosts = ["a.example", "b.example"]\nmodels = "x, y=z"\n',
    )
    values = load_config_file(path)
    assert values == {
        "gate_timeout": 3.0,
        "fetch_remote_images": True,
        "gemini_hosts": ("a.example", "b.example"),
        "models": ("x", "y=z"),
    }
    assert type(values["gate_timeout"]) is float


def test_environment_values_are_coerced(no_config: dict[str, str]) -> None:
    environ = {
        **no_config,
        "ZEROGRAVITY_FETCH_REMOTE_IMAGES": "yes",
        "ZEROGRAVITY_GEMINI_HOSTS": "h1.example,h2.example",
        "ZEROGRAVITY_REQUEST_TIMEOUT": "30",
        "ZEROGRAVITY_MAX_BODY_SIZE": "1024",
    }
    s = resolve(environ=environ).settings
    assert s.fetch_remote_images is True
    assert s.gemini_hosts == ("h1.example", "h2.example")
    assert s.request_timeout == 30.0
    assert s.max_body_size == 1024


# --- errors ---------------------------------------------------------------------------------


def test_unknown_config_key(tmp_path: Path) -> None:
    path = write_config(tmp_path, "sidecar_port = 1\nsidecar_prot = 2\nbogus = 3\n")
    with pytest.raises(SettingsError, match=r"unknown setting\(s\): bogus, sidecar_prot$"):
        resolve(config_path=path, environ={})


def test_bad_toml(tmp_path: Path) -> None:
    path = write_config(tmp_path, "sidecar_port = \n")
    with pytest.raises(SettingsError, match=rf"^config file {path}: "):
        resolve(config_path=path, environ={})


def test_missing_config_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(SettingsError, match=rf"^cannot read config file {path}: "):
        resolve(config_path=path, environ={})


def test_bad_int_in_each_layer(tmp_path: Path, no_config: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match=r"^sidecar_port: 'abc' is not a valid int$"):
        resolve(environ={**no_config, "ZEROGRAVITY_SIDECAR_PORT": "abc"})
    with pytest.raises(SettingsError, match=r"^sidecar_port: 'x' is not a valid int$"):
        resolve(environ=no_config, flags={"sidecar_port": "x"})
    path = write_config(tmp_path, 'sidecar_port = "eighty"\n')
    with pytest.raises(SettingsError, match=r"^sidecar_port: 'eighty' is not a valid int$"):
        resolve(config_path=path, environ={})


def test_bad_choice(no_config: dict[str, str]) -> None:
    with pytest.raises(
        SettingsError, match=r"^log_level: 'loud' is not one of debug, info, warning, error$"
    ):
        resolve(environ=no_config, flags={"log_level": "loud"})
    with pytest.raises(SettingsError, match=r"^upstream_flavour: 'vertex' is not one of"):
        Settings(upstream_flavour="vertex")
    with pytest.raises(SettingsError, match=r"^simulator: 'maybe' is not one of auto, on, off$"):
        Settings(simulator="maybe")
    with pytest.raises(SettingsError, match=r"^driver: 'ls' is not one of direct, antigravity$"):
        Settings(driver="ls")


@pytest.mark.parametrize("name", ["gate_timeout", "idle_timeout", "request_timeout"])
@pytest.mark.parametrize("value", [-1.0, 0.0])
def test_non_positive_timeout(name: str, value: float) -> None:
    with pytest.raises(SettingsError, match=rf"^{name}: must be a positive number of seconds$"):
        make(name, value)


def test_negative_timeout_from_environment(no_config: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match=r"^gate_timeout: must be a positive"):
        resolve(environ={**no_config, "ZEROGRAVITY_GATE_TIMEOUT": "-1"})


def test_nan_timeout_is_refused(no_config: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match=r"^gate_timeout: "):
        resolve(environ={**no_config, "ZEROGRAVITY_GATE_TIMEOUT": "nan"})


@pytest.mark.parametrize("name", ["max_body_size", "max_exchanges", "remote_image_max_bytes"])
def test_sizes_must_be_positive(name: str) -> None:
    with pytest.raises(SettingsError, match=rf"^{name}: must be at least 1$"):
        make(name, 0)
    assert getattr(make(name, 1), name) == 1


@pytest.mark.parametrize("name", ["listen_port", "sidecar_port"])
@pytest.mark.parametrize("value", [-1, 65536, 70000])
def test_bad_port(name: str, value: int) -> None:
    with pytest.raises(SettingsError, match=rf"^{name}: {value} is not a port number$"):
        make(name, value)


@pytest.mark.parametrize("value", [0, 1, 65535])
def test_good_port(value: int) -> None:
    assert Settings(sidecar_port=value).sidecar_port == value


@pytest.mark.parametrize("name", ["upstream_url", "upstream_override"])
@pytest.mark.parametrize("url", ["ftp://example.com", "127.0.0.1:9", "example.com", "HTTP//x"])
def test_non_http_url(name: str, url: str) -> None:
    with pytest.raises(SettingsError, match=rf"^{name}: '.*' is not an http\(s\) URL$"):
        make(name, url)


def test_cloudcode_token_needs_project() -> None:
    with pytest.raises(SettingsError, match=r"^cloudcode_project: required with cloudcode_token$"):
        Settings(upstream_flavour="cloudcode", cloudcode_token="ya29.t")
    ok = Settings(upstream_flavour="cloudcode", cloudcode_token="ya29.t", cloudcode_project="p")
    assert ok.cloudcode_project == "p"
    # Only the cloudcode flavour uses the token, so only it needs the project.
    assert Settings(cloudcode_token="ya29.t").cloudcode_token == "ya29.t"


def test_settings_error_is_a_value_error() -> None:
    assert issubclass(SettingsError, ValueError)


def test_bad_model_entry_is_a_settings_error(no_config: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match=r"^models: "):
        resolve(environ=no_config, flags={"models": ("=gemini-2.5-pro",)})


# --- derived values -------------------------------------------------------------------------


def test_state_path_explicit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", "/run/ignored")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Settings(state_dir="/srv/zg").state_path == Path("/srv/zg")
    assert Settings(state_dir="~/zg").state_path == tmp_path / "zg"


def test_state_path_from_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/zerogravity-proxy:/var/lib/other")
    monkeypatch.setenv("XDG_STATE_HOME", "/xdg/state")
    assert Settings().state_path == Path("/var/lib/zerogravity-proxy")


def test_state_path_from_xdg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", "/xdg/state")
    assert Settings().state_path == Path("/xdg/state/zerogravity-proxy")


def test_state_path_default_under_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Settings().state_path == tmp_path / ".local" / "state" / "zerogravity-proxy"


def test_confdir_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", "/xdg/state")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Settings().confdir_path == Path("/xdg/state/zerogravity-proxy/mitmproxy")
    assert Settings(state_dir="/srv/zg").confdir_path == Path("/srv/zg/mitmproxy")
    assert Settings(confdir="/etc/mitm").confdir_path == Path("/etc/mitm")
    assert Settings(confdir="~/mitm").confdir_path == tmp_path / "mitm"


def test_upstream_base_per_flavour() -> None:
    assert Settings().upstream_base == "https://generativelanguage.googleapis.com"
    cloudcode = Settings(upstream_flavour="cloudcode")
    assert cloudcode.upstream_base == "https://cloudcode-pa.googleapis.com"
    custom = Settings(upstream_flavour="cloudcode", upstream_url="http://127.0.0.1:9000/")
    assert custom.upstream_base == "http://127.0.0.1:9000"


@pytest.mark.parametrize(
    ("kwargs", "has_credentials", "use_simulator"),
    [
        ({}, False, True),
        ({"gemini_api_key": "k"}, True, False),
        ({"upstream_flavour": "cloudcode"}, False, True),
        # A key for the other flavour is no credential for this one.
        ({"upstream_flavour": "cloudcode", "gemini_api_key": "k"}, False, True),
        (
            {"upstream_flavour": "cloudcode", "cloudcode_token": "t", "cloudcode_project": "p"},
            True,
            False,
        ),
        ({"cloudcode_token": "t"}, False, True),
        ({"simulator": "on", "gemini_api_key": "k"}, True, True),
        ({"simulator": "on"}, False, True),
        ({"simulator": "off"}, False, False),
        ({"simulator": "off", "gemini_api_key": "k"}, True, False),
    ],
)
def test_use_simulator(kwargs: dict[str, Any], has_credentials: bool, use_simulator: bool) -> None:
    s = Settings(**kwargs)
    assert s.has_credentials is has_credentials
    assert s.use_simulator is use_simulator
