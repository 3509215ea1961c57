"""One Settings object: defaults ← config file ← environment ← flags.

Every setting has one name, used as the config-file key, the mitmproxy option, the CLI flag
(`--sidecar-port`) and the environment variable (`ZEROGRAVITY_SIDECAR_PORT`). The `Settings`
dataclass below is the only table of them; everything else is derived from its fields.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zerogravity_proxy.pricing import PriceTable

ENV_PREFIX = "ZEROGRAVITY_"

GOOGLE_API_HOSTS = (
    "generativelanguage.googleapis.com",
    "cloudcode-pa.googleapis.com",
    "daily-cloudcode-pa.googleapis.com",
    "daily-cloudcode-pa.sandbox.googleapis.com",
    "autopush-cloudcode-pa.sandbox.googleapis.com",
)

UPSTREAM_URLS = {
    "gemini": "https://generativelanguage.googleapis.com",
    "cloudcode": "https://cloudcode-pa.googleapis.com",
}


class SettingsError(ValueError):
    """A setting has a bad value or an unknown name; the daemon must not start."""


def _opt(
    default: Any,
    help: str,
    *,
    choices: tuple[str, ...] = (),
    secret: bool = False,
    core: bool = False,
    env_aliases: tuple[str, ...] = (),
) -> Any:
    meta = {
        "help": help,
        "choices": choices,
        "secret": secret,
        "core": core,
        "env_aliases": env_aliases,
    }
    return field(default=default, metadata=meta)


@dataclass(frozen=True, slots=True)
class Settings:
    # mitmproxy's own options, exposed under their own names.
    listen_host: str = _opt("127.0.0.1", "Address the proxy listens on.", core=True)
    listen_port: int = _opt(8080, "Port the proxy listens on.", core=True)
    mode: tuple[str, ...] = _opt(
        ("regular",),
        "mitmproxy's proxy mode(s): regular (HTTPS_PROXY), transparent (redirected traffic), ...",
        core=True,
    )
    confdir: str = _opt(
        "", "mitmproxy's directory (CA files). Default: <state_dir>/mitmproxy.", core=True
    )

    state_dir: str = _opt(
        "", "Where state lives. Default: $STATE_DIRECTORY, else $XDG_STATE_HOME/zerogravity-proxy."
    )
    sidecar_host: str = _opt("127.0.0.1", "Address the OpenAI-format sidecar listens on.")
    sidecar_port: int = _opt(8741, "Port the OpenAI-format sidecar listens on.")
    driver: str = _opt(
        "direct",
        "Which originator carries exchanges: direct (our credentials) or antigravity (the LS's).",
        choices=("direct", "antigravity"),
    )
    upstream_flavour: str = _opt(
        "gemini",
        "Upstream API: public Gemini (v1beta) or Cloud Code (v1internal).",
        choices=("gemini", "cloudcode"),
    )
    upstream_url: str = _opt("", "Base URL of the upstream. Default: Google's, per flavour.")
    upstream_override: str = _opt(
        "", "Send every intercepted Google API request to this base URL instead (tests, offline)."
    )
    simulator: str = _opt(
        "auto",
        "Serve from the built-in simulator: auto (when no credentials), on, off.",
        choices=("auto", "on", "off"),
    )
    gemini_api_key: str = _opt(
        "", "API key for the gemini flavour.", secret=True, env_aliases=("GEMINI_API_KEY",)
    )
    cloudcode_token: str = _opt("", "OAuth bearer token for the cloudcode flavour.", secret=True)
    cloudcode_project: str = _opt(
        "", "Cloud Code project (cloudaicompanionProject); leave empty on the free tier."
    )
    ls_host: str = _opt("127.0.0.1", "Address of the Antigravity language server's API.")
    ls_port: int = _opt(0, "Port of the language server's API; 0 finds a running LS.")
    ls_csrf_token: str = _opt(
        "", "The language server's CSRF token (found with the port).", secret=True
    )
    system_prompt_mode: str = _opt(
        "replace",
        "With the LS: replace its system prompt with the client's, or append the client's to it.",
        choices=("replace", "append"),
    )
    gemini_hosts: tuple[str, ...] = _opt(GOOGLE_API_HOSTS, "Hosts whose traffic is Gemini traffic.")
    models: tuple[str, ...] = _opt(
        (), "Model catalogue as name or name=upstream_id entries. Default: per flavour."
    )
    gate_timeout: float = _opt(5.0, "Seconds an exchange may wait for its request to be matched.")
    idle_timeout: float = _opt(120.0, "Seconds a response stream may stay silent.")
    request_timeout: float = _opt(600.0, "Seconds an exchange may take in all.")
    max_body_size: int = _opt(32 * 1024 * 1024, "Largest accepted client request body, in bytes.")
    max_exchanges: int = _opt(256, "Most exchanges in flight at once.")
    fetch_remote_images: bool = _opt(False, "Fetch http(s) image URLs and inline them.")
    remote_image_max_bytes: int = _opt(10 * 1024 * 1024, "Largest remote image fetched, in bytes.")
    response_retention_days: float = _opt(30.0, "Days a stored Responses API response is kept.")
    response_store_max: int = _opt(10_000, "Most stored Responses API responses kept.")
    api_keys: tuple[str, ...] = _opt(
        (),
        "API keys the sidecar accepts (Authorization: Bearer); none: loopback only.",
        secret=True,
    )
    api_keys_file: str = _opt(
        "", "A file of API keys, one per line. Default: $CREDENTIALS_DIRECTORY/api-keys if present."
    )
    public_paths: tuple[str, ...] = _opt(
        ("/healthz",), "Sidecar paths served without an API key (e.g. /healthz, /metrics)."
    )
    usage_retention_days: float = _opt(90.0, "Days usage and audit records are kept.")
    prices: tuple[str, ...] = _opt(
        (), "Prices per million tokens as model=input/cached_input/output entries (over defaults)."
    )
    trace: bool = _opt(False, "Keep a debug trace of each exchange (credentials redacted).")
    trace_max: int = _opt(500, "Most traces kept.")
    shutdown_timeout: float = _opt(10.0, "Seconds open streams get to finish on shutdown.")
    log_level: str = _opt("info", "Log level.", choices=("debug", "info", "warning", "error"))

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            choices = f.metadata["choices"]
            if choices and getattr(self, f.name) not in choices:
                raise SettingsError(
                    f"{f.name}: {getattr(self, f.name)!r} is not one of {', '.join(choices)}"
                )
        for name in ("listen_port", "sidecar_port"):
            if not 0 <= getattr(self, name) <= 65535:
                raise SettingsError(f"{name}: {getattr(self, name)} is not a port number")
        for name in ("gate_timeout", "idle_timeout", "request_timeout", "shutdown_timeout"):
            if not getattr(self, name) > 0:  # also refuses NaN
                raise SettingsError(f"{name}: must be a positive number of seconds")
        for name in ("response_retention_days", "usage_retention_days"):
            if not getattr(self, name) > 0:
                raise SettingsError(f"{name}: must be a positive number of days")
        for name in (
            "max_body_size",
            "max_exchanges",
            "remote_image_max_bytes",
            "response_store_max",
        ):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name}: must be at least 1")
        try:
            PriceTable.from_entries(self.prices)
        except ValueError as e:
            raise SettingsError(str(e)) from None
        for name in ("upstream_url", "upstream_override"):
            url = getattr(self, name)
            if url and not url.startswith(("http://", "https://")):
                raise SettingsError(f"{name}: {url!r} is not an http(s) URL")
        for spec in self.models:
            if not spec.partition("=")[0].strip():
                raise SettingsError(f"models: empty model name in {spec!r}")
        if (
            self.upstream_flavour == "cloudcode"
            and self.cloudcode_token
            and not self.cloudcode_project
        ):
            raise SettingsError("cloudcode_project: required with cloudcode_token")

    # Derived values: computed, never configured twice.

    @property
    def state_path(self) -> Path:
        if self.state_dir:
            return Path(self.state_dir).expanduser()
        if systemd_dir := os.environ.get("STATE_DIRECTORY"):
            return Path(systemd_dir.split(":")[0])
        xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        return Path(xdg) / "zerogravity-proxy"

    @property
    def confdir_path(self) -> Path:
        return Path(self.confdir).expanduser() if self.confdir else self.state_path / "mitmproxy"

    @property
    def upstream_base(self) -> str:
        return (self.upstream_url or UPSTREAM_URLS[self.upstream_flavour]).rstrip("/")

    @property
    def has_credentials(self) -> bool:
        if self.driver == "antigravity":
            return True  # the language server carries its own
        if self.upstream_flavour == "gemini":
            return bool(self.gemini_api_key)
        return bool(self.cloudcode_token)

    @property
    def use_simulator(self) -> bool:
        return self.simulator == "on" or (self.simulator == "auto" and not self.has_credentials)


FIELDS: dict[str, dataclasses.Field[Any]] = {f.name: f for f in dataclasses.fields(Settings)}
DEFAULTS = Settings()


def env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def kind_of(name: str) -> type:
    """The Python type of a setting's values: str, int, float, bool or tuple (of str)."""
    value = getattr(DEFAULTS, name)
    return tuple if isinstance(value, tuple) else type(value)


def coerce(name: str, value: Any) -> Any:
    """Turn a value from TOML, the environment or the command line into the setting's type."""
    kind = kind_of(name)
    try:
        if kind is tuple:
            if isinstance(value, str):
                return tuple(v.strip() for v in value.split(",") if v.strip())
            if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
                return tuple(value)
            raise TypeError
        if kind is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in {"1", "true", "yes", "on"}:
                return True
            if isinstance(value, str) and value.lower() in {"0", "false", "no", "off", ""}:
                return False
            raise TypeError
        if kind is int:
            if isinstance(value, bool | float):
                raise TypeError
            return int(value)
        if kind is float:
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        if not isinstance(value, str):
            raise TypeError
        return value
    except (TypeError, ValueError):
        raise SettingsError(f"{name}: {value!r} is not a valid {kind.__name__}") from None


def load_config_file(path: Path) -> dict[str, Any]:
    """Read a TOML config file; unknown keys are errors, not silently ignored."""
    try:
        data = tomllib.loads(path.read_text())
    except OSError as e:
        raise SettingsError(f"cannot read config file {path}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise SettingsError(f"config file {path}: {e}") from None
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise SettingsError(f"config file {path}: unknown setting(s): {', '.join(unknown)}")
    return {k: coerce(k, v) for k, v in data.items()}


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, f in FIELDS.items():
        for var in (env_name(name), *f.metadata["env_aliases"]):
            if var in environ:
                values[name] = coerce(name, environ[var])
                break
    return values


def _env_var(name: str, environ: Mapping[str, str]) -> str:
    """The variable a setting's environment value came from (the first one set)."""
    aliases: tuple[str, ...] = FIELDS[name].metadata["env_aliases"]
    return next(var for var in (env_name(name), *aliases) if var in environ)


def default_config_path(environ: Mapping[str, str]) -> Path | None:
    """$ZEROGRAVITY_CONFIG, else the first existing of the user's and the system's file."""
    if explicit := environ.get(ENV_PREFIX + "CONFIG"):
        return Path(explicit)
    xdg = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    for candidate in (
        Path(xdg) / "zerogravity-proxy" / "config.toml",
        Path("/etc/zerogravity-proxy/config.toml"),
    ):
        if candidate.is_file():
            return candidate
    return None


@dataclass(frozen=True, slots=True)
class Resolved:
    settings: Settings
    sources: dict[str, str]  # name -> "default" | "config <path>" | "env <VAR>" | "flag"


def resolve(
    *,
    config_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> Resolved:
    """Layer defaults, the config file, the environment and flags, and validate the result."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    sources = dict.fromkeys(FIELDS, "default")
    path = config_path or default_config_path(environ)
    if path is not None:
        layer = load_config_file(path)
        values.update(layer)
        sources.update(dict.fromkeys(layer, f"config {path}"))
    env_layer = from_environment(environ)
    values.update(env_layer)
    sources.update({k: f"env {_env_var(k, environ)}" for k in env_layer})
    flag_layer = {k: coerce(k, v) for k, v in (flags or {}).items() if v is not None}
    values.update(flag_layer)
    sources.update(dict.fromkeys(flag_layer, "flag"))
    return Resolved(Settings(**values), sources)
