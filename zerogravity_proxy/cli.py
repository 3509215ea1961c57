"""The `zerogravity-proxy` command: builds Settings and embeds mitmproxy's DumpMaster."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from zerogravity_proxy import __version__
from zerogravity_proxy.settings import FIELDS, Settings, SettingsError, kind_of, resolve

log = logging.getLogger("zerogravity_proxy")


def settings_flags(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--config` plus one flag per setting, named after it; the command gets `config_path`
    and `flags` (unset flags are None, so the lower layers apply)."""

    @functools.wraps(command)
    def wrapper(config_path: Path | None, **kwargs: Any) -> Any:
        flags = {k: kwargs.pop(k) for k in FIELDS}
        flags = {k: (v or None) if kind_of(k) is tuple else v for k, v in flags.items()}
        return command(config_path=config_path, flags=flags, **kwargs)

    for name in reversed(FIELDS):
        f = FIELDS[name]
        flag = "--" + name.replace("_", "-")
        kind = kind_of(name)
        help_text = f"{f.metadata['help']} [env: ZEROGRAVITY_{name.upper()}]"
        if kind is bool:
            option = click.option(f"{flag}/--no-{flag[2:]}", name, default=None, help=help_text)
        elif kind is tuple:
            option = click.option(flag, name, multiple=True, default=None, help=help_text)
        else:
            option = click.option(
                flag, name, type=kind, default=None, help=help_text, show_default=False
            )
        wrapper = option(wrapper)
    config = click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="TOML config file.",
    )
    return config(wrapper)


def with_settings(command: Callable[..., Any]) -> Callable[..., Any]:
    """`settings_flags`, resolved: the command gets `settings` (bad settings: a usage error)."""

    @functools.wraps(command)
    def wrapper(config_path: Path | None, flags: dict[str, Any], **kwargs: Any) -> Any:
        try:
            settings = resolve(config_path=config_path, flags=flags).settings
        except SettingsError as e:
            raise click.UsageError(str(e)) from None
        return command(settings=settings, **kwargs)

    return settings_flags(wrapper)


@click.group()
@click.version_option(__version__, prog_name="zerogravity-proxy")
def main() -> None:
    """A transparent MITM proxy that serves Gemini traffic as OpenAI-format endpoints."""


@main.command()
@click.option(
    "--set", "mitm_sets", multiple=True, metavar="NAME=VALUE", help="Any mitmproxy option."
)
@with_settings
def run(settings: Settings, mitm_sets: tuple[str, ...]) -> None:
    """Run the proxy and the sidecar until SIGTERM or Ctrl-C."""
    from zerogravity_proxy.sidecar.auth import check_bind, load_api_keys

    try:
        check_bind(settings, load_api_keys(settings, os.environ))
    except SettingsError as e:
        raise click.UsageError(str(e)) from None
    _configure_logging(settings.log_level)
    sys.exit(asyncio.run(serve(settings, mitm_sets)))


@main.group("config")
def config_group() -> None:
    """The configuration."""


@config_group.command("check")
@settings_flags
def config_check(config_path: Path | None, flags: dict[str, Any]) -> None:
    """Show the effective settings and where each came from; exit 1 if `run` would refuse them."""
    from zerogravity_proxy.config_check import check

    ok, report = check(config_path, os.environ, flags)
    click.echo(report)
    sys.exit(0 if ok else 1)


@main.group()
def ls() -> None:
    """The Antigravity language server."""


@ls.command("status")
@with_settings
def ls_status(settings: Settings) -> None:
    """Show which language server would be used, and whether it answers."""
    from zerogravity_proxy.drivers.antigravity.status import status_report

    ok, report = asyncio.run(status_report(settings))
    click.echo(report)
    sys.exit(0 if ok else 1)


@main.group()
def ca() -> None:
    """The proxy's certificate authority."""


@ca.command("init")
@click.option(
    "--force", is_flag=True, help="Replace an existing CA (clients must trust the new one)."
)
@click.option("--days", type=click.IntRange(min=1), default=3650, show_default=True)
@with_settings
def ca_init(settings: Settings, force: bool, days: int) -> None:
    """Create the CA mitmproxy signs with, valid only for gemini_hosts (name constraints)."""
    from zerogravity_proxy.ca import CaError, init_ca

    try:
        info = init_ca(settings.confdir_path, settings.gemini_hosts, force=force, days=days)
    except CaError as e:
        raise click.ClickException(str(e)) from None
    click.echo(info.describe())
    if force:
        click.echo("restart the daemon to use it; clients must trust the new certificate")


@ca.command("show")
@with_settings
def ca_show(settings: Settings) -> None:
    """Describe the CA: fingerprint, validity, permitted hosts."""
    from zerogravity_proxy.ca import CaError, show_ca

    try:
        click.echo(show_ca(settings.confdir_path).describe())
    except CaError as e:
        raise click.ClickException(str(e)) from None


@ca.command("export")
@with_settings
def ca_export(settings: Settings) -> None:
    """Print the CA certificate (PEM, public) to stdout, to install where clients trust it."""
    from zerogravity_proxy.ca import CaError, export_ca

    try:
        click.echo(export_ca(settings.confdir_path), nl=False)
    except CaError as e:
        raise click.ClickException(str(e)) from None


@ca.command("bundle")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@with_settings
def ca_bundle(settings: Settings, out: Path) -> None:
    """Write the system trust store plus our CA to OUT (for Go programs such as the LS)."""
    from zerogravity_proxy.ca import trust_bundle

    ca_cert = settings.confdir_path / "mitmproxy-ca-cert.pem"
    try:
        path = trust_bundle(ca_cert, out)
    except (OSError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"wrote {path}: the system trust store and {ca_cert}")
    click.echo(f"use it with: SSL_CERT_FILE={path}")


@main.command()
@click.option(
    "--since", "since_text", metavar="WHEN", help="Unix seconds or ISO 8601 (UTC if no zone)."
)
@click.option("--days", type=click.FloatRange(min=0, min_open=True), help="The last N days.")
@with_settings
def usage(settings: Settings, since_text: str | None, days: float | None) -> None:
    """Tokens and estimated cost per model, from the usage records."""
    from zerogravity_proxy.sidecar.usage import usage_table
    from zerogravity_proxy.store.responses import StoreError
    from zerogravity_proxy.store.usage import read_summary

    if since_text and days is not None:
        raise click.UsageError("--since and --days are exclusive")
    since = time.time() - days * 86400 if days is not None else None
    if since_text:
        since = _parse_time(since_text)
    try:
        summary = read_summary(settings.state_path / "usage.sqlite3", since=since)
    except StoreError as e:
        raise click.ClickException(str(e)) from None
    click.echo(usage_table(summary), nl=False)


def _parse_time(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a time", param_hint="--since") from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


@main.group()
def trace() -> None:
    """Debug traces of exchanges (written with --trace)."""


@trace.command("list")
@with_settings
def trace_list(settings: Settings) -> None:
    """The kept traces, newest first."""
    from zerogravity_proxy.trace import TraceStore

    rows = TraceStore(settings.state_path / "traces", settings.trace_max).list()
    if not rows:
        click.echo("no traces (start the daemon with --trace to keep them)")
    for row in rows:
        ended = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row["ended_at"] or 0))
        reason = f"  {row['reason']}" if row["reason"] else ""
        click.echo(
            f"{row['id']}  {ended}  {row['endpoint']:<16} {row['model']:<24} {row['outcome']}{reason}"
        )


@trace.command("show")
@click.argument("exchange_id")
@with_settings
def trace_show(settings: Settings, exchange_id: str) -> None:
    """One trace, as JSON (EXCHANGE_ID or a unique prefix of it)."""
    import orjson

    from zerogravity_proxy.trace import TraceStore

    found = TraceStore(settings.state_path / "traces", settings.trace_max).get(exchange_id)
    if found is None:
        raise click.ClickException(f"no single trace matches {exchange_id!r}")
    click.echo(orjson.dumps(found, option=orjson.OPT_INDENT_2).decode())


async def serve(settings: Settings, mitm_sets: tuple[str, ...] = ()) -> int:
    """Run one daemon; returns the process exit code."""
    from mitmproxy import exceptions
    from mitmproxy.options import Options
    from mitmproxy.tools.dump import DumpMaster

    from zerogravity_proxy.addons import default_addons

    confdir = settings.confdir_path
    try:
        confdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as e:
        log.error("cannot create %s: %s", confdir, e.strerror)
        return 1
    settings = dataclasses.replace(settings, confdir=str(confdir))
    from zerogravity_proxy.ca import CaError, allow_hosts_regex, ensure_ca

    try:
        # Before mitmproxy loads the confdir: otherwise it makes an unconstrained CA of its own.
        ensure_ca(confdir, settings.gemini_hosts)
    except CaError as e:
        log.error("%s", e)
        return 1
    options = Options(
        listen_host=settings.listen_host,
        listen_port=settings.listen_port,
        mode=list(settings.mode),
        confdir=str(confdir),
        # Intercept only Gemini's hosts; every other TLS connection is tunnelled untouched.
        allow_hosts=allow_hosts_regex(settings.gemini_hosts),
        # Leaves carry only our hosts' names, which the CA's name constraints permit.
        upstream_cert=False,
    )
    master = DumpMaster(options, with_termlog=False, with_dumper=False)
    master.addons.add(*default_addons(settings))
    try:
        if mitm_sets:
            options.set(*mitm_sets)
    except exceptions.OptionsError as e:
        log.error("bad --set: %s", e)
        return 2
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, master.shutdown)
    try:
        await master.run()
    except SystemExit as e:  # mitmproxy's ErrorCheck exits on errors logged during start-up
        return e.code if isinstance(e.code, int) else 1
    return 0


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if level != "debug":
        # mitmproxy logs every connection at INFO; keep its warnings and errors only.
        logging.getLogger("mitmproxy").setLevel(logging.WARNING)
