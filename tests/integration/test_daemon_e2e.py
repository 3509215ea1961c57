"""The daemon as a process: pass-through, options, shutdown, timeouts, and mitmdump -s."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import http.server
import json
import signal
import ssl
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest

from tests.integration.harness import (
    BIN,
    GEMINI_URL,
    ROOT,
    Daemon,
    clean_env,
    fetch,
    image_message,
    running_daemon,
)

FLASH = "gemini-2.5-flash"


def strict_client(daemon: Daemon, **kw: Any) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=daemon.base_url,
        api_key="unused",
        max_retries=0,
        _strict_response_validation=True,
        **kw,
    )


def test_unmatched_gemini_client_gets_upstream_bytes(daemon: Daemon) -> None:
    """A Gemini client using the proxy (HTTPS, our CA) gets the upstream's bytes untouched."""
    daemon.clear_simulator_requests()
    status, through_proxy = asyncio.run(
        fetch(GEMINI_URL, proxy=daemon.proxy, cafile=daemon.ca_cert)
    )
    direct_url = daemon.simulator_url() + GEMINI_URL.split(".com", 1)[1]
    _, direct = asyncio.run(fetch(direct_url))
    assert status == 200
    assert through_proxy == direct
    sent = [r for r in daemon.simulator_requests() if "GenerateContent" in r["path"]]
    assert [r["body"] for r in sent] == [
        {"contents": [{"role": "user", "parts": [{"text": "Hi from a Gemini client"}]}]}
    ] * 2
    # Observed: the usage of the unmatched response was parsed into events.
    deadline = time.monotonic() + 5
    while "observed Gemini response" not in daemon.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    observed = [line for line in daemon.log().splitlines() if "observed Gemini response" in line]
    assert observed and "prompt_tokens=" in observed[-1] and "outcome=completed" in observed[-1]


def test_sigterm_ends_open_streams_with_an_error(tmp_path: Path) -> None:
    with running_daemon(tmp_path) as daemon:
        client = strict_client(daemon)
        stream = client.chat.completions.create(
            model=FLASH,
            messages=[{"role": "user", "content": "slow [[sim:events=100,delay=100]]"}],
            stream=True,
        )
        chunks = iter(stream)
        next(chunks)
        threading.Timer(0.3, daemon.process.send_signal, [signal.SIGTERM]).start()
        with pytest.raises(openai.APIError) as e:
            for _ in chunks:
                pass
        assert e.value.code == "shutting_down"
        assert daemon.process.wait(15) == 0


def test_idle_timeout(tmp_path: Path) -> None:
    with running_daemon(tmp_path, ["--idle-timeout", "1"]) as daemon:
        client = strict_client(daemon)
        started = time.monotonic()
        with pytest.raises(openai.APIError) as e:
            for _ in client.chat.completions.create(
                model=FLASH,
                messages=[{"role": "user", "content": "hi [[sim:stall=10]]"}],
                stream=True,
            ):
                pass
        assert e.value.code == "upstream_idle_timeout"
        assert time.monotonic() - started < 8


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--sidecar-port", "abc"], {}, "abc"),
        (["--upstream-flavour", "vertex"], {}, "vertex"),
        ([], {"ZEROGRAVITY_GATE_TIMEOUT": "-1"}, "gate_timeout"),
        ([], {"ZEROGRAVITY_IDLE_TIMEOUT": "soon"}, "idle_timeout"),
    ],
)
def test_bad_options_fail_loudly(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    result = subprocess.run(
        [str(BIN / "zerogravity-proxy"), "run", *args],
        env=clean_env(tmp_path, env),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert message in result.stderr


def test_unknown_config_key_fails(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("sidecar_prot = 9000\n")
    result = subprocess.run(
        [str(BIN / "zerogravity-proxy"), "run", "--config", str(config)],
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0 and "sidecar_prot" in result.stderr


def test_config_file_env_and_flag_layers(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('models = ["from-config=gemini-2.5-flash"]\ngate_timeout = 3\n')
    with (
        running_daemon(
            tmp_path, ["--config", str(config)], {"ZEROGRAVITY_MODELS": "from-env=gemini-2.5-flash"}
        ) as daemon,
        strict_client(daemon) as client,
    ):
        assert [m.id for m in client.models.list().data] == ["from-env"]


def test_mitmdump_script_runs_the_same_daemon(tmp_path: Path) -> None:
    options = subprocess.run(
        [str(BIN / "mitmdump"), "-s", str(ROOT / "addons" / "zerogravity.py"), "--options"],
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "sidecar_port" in options.stdout and "gate_timeout" in options.stdout
    with running_daemon(tmp_path, mitmdump=True) as daemon, strict_client(daemon) as client:
        chunks = list(
            client.chat.completions.create(
                model=FLASH,
                messages=[{"role": "user", "content": "via mitmdump"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert "via mitmdump" in text
        assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
        assert daemon.health()["simulator"] is True


def test_cloudcode_flavour_end_to_end(tmp_path: Path) -> None:
    with (
        running_daemon(tmp_path, ["--upstream-flavour", "cloudcode"]) as daemon,
        strict_client(daemon) as client,
    ):
        chunks = list(
            client.chat.completions.create(
                model="gemini-3-flash",
                messages=[{"role": "user", "content": "Through Cloud Code"}],
                stream=True,
                stream_options={"include_usage": True},
                metadata={"team": "core"},
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert "Through Cloud Code" in text
        assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens > 0
        [sent] = [r for r in daemon.simulator_requests() if r["path"].startswith("/v1internal:")]
        assert sent["path"] == "/v1internal:streamGenerateContent"
        assert sent["headers"]["authorization"] == "present"
        body = sent["body"]
        assert body["model"] == "gemini-3-flash" and body["user_prompt_id"]
        assert "project" not in body  # the free tier must not send one
        assert body["request"]["contents"] == [
            {"role": "user", "parts": [{"text": "Through Cloud Code"}]}
        ]
        assert body["request"]["labels"] == {"team": "core"}


def test_fetch_remote_images_when_enabled(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "cat.png").write_bytes(png)
    (tmp_path / "www" / "big.png").write_bytes(png * 1000)
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "www")
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    args = ["--fetch-remote-images", "--remote-image-max-bytes", "4096"]
    try:
        with running_daemon(tmp_path, args) as daemon, strict_client(daemon) as client:
            client.chat.completions.create(model=FLASH, messages=image_message(f"{base}/cat.png"))
            client.responses.create(
                model=FLASH,
                input=[
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "input_image",
                                "image_url": f"{base}/cat.png",
                                "detail": "auto",
                            }
                        ],
                    }
                ],
            )
            sent = [r for r in daemon.simulator_requests() if "enerateContent" in r["path"]]
            inline = {
                "inlineData": {"mimeType": "image/png", "data": base64.b64encode(png).decode()}
            }
            assert [inline in r["body"]["contents"][0]["parts"] for r in sent] == [True, True]
            with pytest.raises(openai.BadRequestError) as e:
                client.chat.completions.create(
                    model=FLASH, messages=image_message(f"{base}/big.png")
                )
            assert e.value.code == "image_too_large"
    finally:
        server.shutdown()


def test_traces_record_the_exchange_redacted(tmp_path: Path) -> None:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 32).decode()
    with running_daemon(tmp_path, ["--trace"]) as daemon, strict_client(daemon) as client:
        client.chat.completions.create(
            model=FLASH,
            messages=[{"role": "user", "content": [
                {"type": "text", "text": "Trace me"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
            ]}],
        )  # fmt: skip
        cli = [str(BIN / "zerogravity-proxy"), "trace"]
        state = ["--state-dir", str(daemon.state_dir)]
        deadline = time.monotonic() + 10
        while True:
            listed = subprocess.run(
                [*cli, "list", *state], capture_output=True, text=True, timeout=30
            )
            if "completed" in listed.stdout or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        exchange_id = listed.stdout.split()[0]
        shown = subprocess.run(
            [*cli, "show", exchange_id[:8], *state], capture_output=True, text=True, timeout=30
        )
        trace = json.loads(shown.stdout)
    assert (
        trace["outcome"] == "completed" and trace["model"] == FLASH and trace["matched_by"] == "tag"
    )
    upstream = trace["upstream_request"]
    assert upstream["headers"]["x-goog-api-key"] == "<redacted>"
    parts = upstream["body"]["contents"][0]["parts"]
    assert parts[0] == {"text": "Trace me"}
    assert parts[1]["inlineData"]["data"] == f"<{len(png)} base64 chars>"
    types = [e["type"] for e in trace["events"]]
    assert ("TextDelta" in types and types[-2:] == ["Finish", "Usage"]) or "Finish" in types


def test_a_key_in_the_url_never_reaches_the_log(tmp_path: Path) -> None:
    """The Gemini API takes its key as ?key= too: a cut stream's warning must not print it."""

    async def keyed_request(daemon: Daemon) -> None:
        url = GEMINI_URL + "&key=AIzaSECRETSECRET"
        body = b'{"contents":[{"role":"user","parts":[{"text":"hi [[sim:cut=2]]"}]}]}'
        context = ssl.create_default_context(cafile=str(daemon.ca_cert))
        async with aiohttp.ClientSession() as session:
            with contextlib.suppress(aiohttp.ClientError):
                async with session.post(url, data=body, proxy=daemon.proxy, ssl=context) as resp:
                    await resp.read()

    with running_daemon(tmp_path, ["--log-level", "debug"]) as daemon:
        asyncio.run(keyed_request(daemon))
        deadline = time.monotonic() + 5
        while "cut off" not in daemon.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        log = daemon.log()
    assert "cut off" in log and "key=<redacted>" in log
    assert "AIzaSECRETSECRET" not in log


def test_sigterm_still_writes_the_traces_of_open_exchanges(tmp_path: Path) -> None:
    with running_daemon(tmp_path, ["--trace"]) as daemon:
        client = strict_client(daemon)
        stream = client.chat.completions.create(
            model=FLASH,
            messages=[{"role": "user", "content": "slow [[sim:events=100,delay=100]]"}],
            stream=True,
        )
        chunks = iter(stream)
        next(chunks)
        daemon.process.send_signal(signal.SIGTERM)
        with contextlib.suppress(openai.APIError):
            for _ in chunks:
                pass
        assert daemon.process.wait(15) == 0
    listed = subprocess.run(
        [str(BIN / "zerogravity-proxy"), "trace", "list", "--state-dir", str(daemon.state_dir)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    [row] = listed.stdout.splitlines()
    assert "failed" in row and "shutting_down" in row, row
