"""`zerogravity-proxy config check`: the effective settings, where each came from, and whether the
daemon would start with them (known names, good values, a readable keys file, a safe bind)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from zerogravity_proxy.settings import (
    FIELDS,
    Resolved,
    SettingsError,
    default_config_path,
    resolve,
)
from zerogravity_proxy.sidecar.auth import api_keys_path, check_bind, load_api_keys

SECRET_MASK = "***"
# The widest `name = value` part the source column is aligned after.
ALIGN_MAX = 40


def check(
    config_path: Path | None, environ: Mapping[str, str], flags: Mapping[str, Any]
) -> tuple[bool, str]:
    """Resolve the settings as `run` would; return (ok, the report to print).

    The report has one line per setting: name, value (secrets `***` when set, empty otherwise)
    and its source. Flags set to None, or to an empty tuple (an unused repeatable flag), are
    unset. On failure the report ends with (or, when nothing resolved, is) the error message.
    """
    unknown = sorted(set(flags) - FIELDS.keys())
    if unknown:
        return False, f"unknown setting(s): {', '.join(unknown)}"
    given = {k: v for k, v in flags.items() if v is not None and v != ()}
    try:
        resolved = resolve(config_path=config_path, environ=environ, flags=given)
    except SettingsError as e:
        return False, str(e)
    path = config_path or default_config_path(environ)
    lines = [f"# config file: {path or 'none'}", *render(resolved)]
    settings = resolved.settings
    try:
        keys = load_api_keys(settings, environ)
        check_bind(settings, keys)
    except SettingsError as e:
        return False, "\n".join([*lines, f"error: {e}"])
    keys_file = api_keys_path(settings, environ)
    if keys:
        origin = f", including {keys_file}" if keys_file else ""
        lines.append(f"# api keys: {len(keys)} accepted{origin}")
    else:
        lines.append("# api keys: none; the sidecar serves loopback clients only")
    return True, "\n".join(lines)


def render(resolved: Resolved) -> list[str]:
    """`name = value  # source` lines, secrets masked, the sources aligned."""
    pairs = []
    for name, f in FIELDS.items():
        value = getattr(resolved.settings, name)
        shown = (SECRET_MASK if value else "") if f.metadata["secret"] else toml_value(value)
        pairs.append((f"{name} = {shown}", resolved.sources[name]))
    width = min(ALIGN_MAX, max(len(left) for left, _ in pairs))
    return [f"{left:<{width}}  # {source}" for left, source in pairs]


def toml_value(value: Any) -> str:
    """A setting's value as it would be written in the config file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))
