"""The `zerogravity-proxy` command: builds Settings and embeds mitmproxy's DumpMaster."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from zerogravity_proxy import __version__
from zerogravity_proxy.settings import FIELDS, Settings, SettingsError, kind_of, resolve

log = logging.getLogger("zerogravity_proxy")


def _setting_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """One flag per setting, named after it; unset flags stay None so lower layers apply."""
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
        command = option(command)
    return command


@click.group()
@click.version_option(__version__, prog_name="zerogravity-proxy")
def main() -> None:
    """A transparent MITM proxy that serves Gemini traffic as OpenAI-format endpoints."""


@main.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML config file.",
)
@click.option(
    "--set", "mitm_sets", multiple=True, metavar="NAME=VALUE", help="Any mitmproxy option."
)
@_setting_options
def run(config_path: Path | None, mitm_sets: tuple[str, ...], **flags: Any) -> None:
    """Run the proxy and the sidecar until SIGTERM or Ctrl-C."""
    flags = {k: (v or None) if kind_of(k) is tuple else v for k, v in flags.items()}
    try:
        settings = resolve(config_path=config_path, flags=flags).settings
    except SettingsError as e:
        raise click.UsageError(str(e)) from None
    _configure_logging(settings.log_level)
    sys.exit(asyncio.run(serve(settings, mitm_sets)))


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
    options = Options(
        listen_host=settings.listen_host, listen_port=settings.listen_port, confdir=str(confdir)
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
