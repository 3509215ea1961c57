"""The antigravity driver end to end: the real daemon, the LS stand-in, the simulator as Google.

The stand-in runs as its own process and sends its Cloud Code traffic through the daemon's
proxy (HTTPS, trusting our CA), like a real LS started with HTTPS_PROXY. It fires a parallel
follow-up on every turn, so every test also checks those are answered locally.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageFunctionToolCall

from tests.integration.harness import GEMINI_URL, ROOT, Daemon, fetch, free_port, running_daemon

MODEL = "gemini-3-flash"
CSRF = "standin-csrf-token"
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


@dataclass
class StandIn:
    process: subprocess.Popen[bytes]
    url: str

    def get(self, path: str) -> Any:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the stand-in's own self-signed certificate
        with urllib.request.urlopen(f"{self.url}{path}", context=context, timeout=10) as resp:
            return json.loads(resp.read())

    def cascades(self) -> list[dict[str, Any]]:
        cascades: list[dict[str, Any]] = self.get("/_standin/cascades")["cascades"]
        return cascades

    def settled(self, timeout: float = 20) -> list[dict[str, Any]]:
        """Every cascade, once none is still running."""
        deadline = time.monotonic() + timeout
        while True:
            cascades = self.cascades()
            if all(c["state"] != "running" for c in cascades) or time.monotonic() > deadline:
                return cascades
            time.sleep(0.05)


def start_standin(tmp: Path, daemon: Daemon, port: int, *extra: str) -> StandIn:
    ready = tmp / f"standin-{port}.json"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "tests.ls_standin",
            "--proxy", daemon.proxy,
            "--ca", str(daemon.ca_cert),
            "--server_port", str(port),
            "--csrf_token", CSRF,
            "--ready-file", str(ready),
            "--parallel-followup",
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=(tmp / f"standin-{port}.log").open("wb"),
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError((tmp / f"standin-{port}.log").read_text())
        time.sleep(0.05)
    return StandIn(process, json.loads(ready.read_text())["base_url"])


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, StandIn]]:
    tmp = tmp_path_factory.mktemp("antigravity")
    port = free_port()
    args = [
        "--driver",
        "antigravity",
        "--simulator",
        "on",
        "--ls-port",
        str(port),
        "--ls-csrf-token",
        CSRF,
    ]
    with running_daemon(tmp, args) as daemon:
        standin = start_standin(tmp, daemon, port)
        try:
            yield daemon, standin
        finally:
            standin.process.terminate()
            standin.process.wait(10)


@pytest.fixture
def client(rig: tuple[Daemon, StandIn]) -> Iterator[openai.OpenAI]:
    daemon, _ = rig
    with openai.OpenAI(
        base_url=daemon.base_url,
        api_key="unused",
        max_retries=0,
        timeout=60,
        _strict_response_validation=True,
    ) as c:
        yield c


def generations(daemon: Daemon, cascade_id: str) -> list[dict[str, Any]]:
    """What Google (the simulator) received for one cascade's generation requests."""
    return [
        r
        for r in daemon.simulator_requests()
        if r["path"].startswith("/v1internal:streamGenerateContent")
        and str(r["body"].get("requestId", "")).startswith(f"agent/{cascade_id}/")
    ]


def test_chat_via_the_language_server(client: openai.OpenAI, rig: tuple[Daemon, StandIn]) -> None:
    daemon, standin = rig
    daemon.clear_simulator_requests()
    before = {c["cascade_id"] for c in standin.cascades()}
    completion = client.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": "Answer plainly."},
            {"role": "user", "content": "Hello via the LS"},
        ],
        temperature=0.3,
    )
    assert "Hello via the LS" in (completion.choices[0].message.content or "")
    [cascade] = [c for c in standin.settled() if c["cascade_id"] not in before]
    assert cascade["state"] == "idle" and cascade["received_unknown_tool"] is None
    [sent] = generations(
        daemon, cascade["cascade_id"]
    )  # the parallel follow-up never reached Google
    body = sent["body"]
    # The envelope is the LS's ...
    assert body["project"] == "standin-project-1" and body["userAgent"] == "antigravity"
    assert (
        body["model"] == MODEL
        and body["request"]["labels"]["trajectory_id"] == cascade["trajectory_id"]
    )
    assert body["request"]["sessionId"].startswith("-")
    # ... the payload is the client's: its conversation, its system prompt, its parameters, no LS tools.
    request = body["request"]
    assert request["contents"] == [{"role": "user", "parts": [{"text": "Hello via the LS"}]}]
    assert request["systemInstruction"]["parts"] == [{"text": "Answer plainly."}]
    assert request["generationConfig"]["temperature"] == 0.3
    assert "tools" not in request
    kinds = [r["kind"] for r in cascade["requests"]]
    assert "parallel" in kinds
    [parallel] = [r for r in cascade["requests"] if r["kind"] == "parallel"]
    assert parallel["status"] == 200 and parallel["finish_reason"] == "STOP"


def test_streaming_chat_and_responses(client: openai.OpenAI, rig: tuple[Daemon, StandIn]) -> None:
    chunks = list(
        client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "Stream via the LS"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert "Stream via the LS" in "".join(
        c.choices[0].delta.content or "" for c in chunks if c.choices
    )
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
    response = client.responses.create(model=MODEL, input="Responses via the LS")
    assert response.status == "completed" and "Responses via the LS" in response.output_text
    with client.responses.stream(model=MODEL, input="Streamed Responses via the LS") as stream:
        final = stream.get_final_response()
    assert "Streamed Responses via the LS" in final.output_text


def test_tool_round_trip_with_signatures(
    client: openai.OpenAI, rig: tuple[Daemon, StandIn]
) -> None:
    daemon, standin = rig
    daemon.clear_simulator_requests()
    messages: list[Any] = [{"role": "user", "content": "Use get_weather for Paris."}]
    first = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
    calls = [
        c
        for c in first.choices[0].message.tool_calls or []
        if isinstance(c, ChatCompletionMessageFunctionToolCall)
    ]
    assert first.choices[0].finish_reason == "tool_calls"
    assert [c.function.name for c in calls] == ["get_weather"]
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": calls[0].id, "content": "sunny"})
    second = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
    assert "get_weather" in (second.choices[0].message.content or "")
    replay = [
        r for r in daemon.simulator_requests() if r["path"].startswith("/v1internal:streamGenerate")
    ][-1]
    assert [c["result"] for c in replay["signatures"]] == ["real"]
    # The LS saw no call to a tool it does not have, and ended every turn cleanly.
    cascades = standin.settled()
    assert all(c["received_unknown_tool"] is None for c in cascades)
    assert {c["state"] for c in cascades} == {"idle"}


def test_background_calls_pass_byte_identical(rig: tuple[Daemon, StandIn]) -> None:
    """What the upstream put on the wire for the LS's background calls is what the LS received."""
    daemon, standin = rig
    cascade = standin.settled()[-1]  # the latest: earlier tests clear the upstream's log
    upstream = daemon.simulator_requests()
    background = [
        r for r in cascade["requests"] if r["kind"] in ("fetchAvailableModels", "title", "metrics")
    ]
    assert {r["kind"] for r in background} == {"fetchAvailableModels", "title", "metrics"}
    for record in background:
        # Identical calls may get identical answers (metrics answer {}), so any match will do.
        sent = [u for u in upstream if u.get("wire_sha256") == record["wire_sha256"]]
        assert sent, f"{record['kind']}: the LS received bytes the upstream never sent"
        assert {(u["path"], u["status"]) for u in sent} == {(record["path"].split("?")[0], 200)}


def test_quota_learned_from_the_ls_traffic(
    client: openai.OpenAI, rig: tuple[Daemon, StandIn]
) -> None:
    daemon, _ = rig
    client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "quota?"}])
    with urllib.request.urlopen(f"{daemon.sidecar}/v1/quota", timeout=10) as resp:
        quota = json.loads(resp.read())
    models = {m["model"]: m for m in quota["data"]}
    assert MODEL in models and models[MODEL]["remaining_fraction"] is not None
    assert quota["observed_at"] is not None
    assert MODEL in [m.id for m in client.models.list().data]


def test_twenty_concurrent_exchanges_do_not_cross(
    client: openai.OpenAI, rig: tuple[Daemon, StandIn]
) -> None:
    def ask(n: int) -> tuple[int, str]:
        completion = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": f"Question number {n} exactly"}]
        )
        return n, completion.choices[0].message.content or ""

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(ask, range(20)))
    for n, answer in answers:
        assert f"Question number {n} exactly" in answer
        assert not any(f"Question number {m} exactly" in answer for m in range(20) if m != n)


def test_ls_status_command(rig: tuple[Daemon, StandIn], tmp_path: Path) -> None:
    _, standin = rig
    port = standin.url.rsplit(":", 1)[1]
    result = subprocess.run(
        [str(Path(sys.executable).parent / "zerogravity-proxy"), "ls", "status", "--ls-port", port, "--ls-csrf-token", CSRF],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "answers: yes" in result.stdout


def test_unrouted_ls_gives_502_not_matched(tmp_path: Path) -> None:
    """An LS whose traffic does not reach Google's hosts through the proxy is never matched."""
    port = free_port()
    args = [
        "--driver",
        "antigravity",
        "--simulator",
        "on",
        "--ls-port",
        str(port),
        "--ls-csrf-token",
        CSRF,
    ]
    with running_daemon(tmp_path, [*args, "--gate-timeout", "1.5"]) as daemon:
        standin = start_standin(tmp_path, daemon, port, "--cloudcode-url", daemon.simulator_url())
        try:
            with (
                openai.OpenAI(base_url=daemon.base_url, api_key="unused", max_retries=0) as c,
                pytest.raises(openai.APIStatusError) as e,
            ):
                c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
            assert e.value.status_code == 502 and e.value.code == "upstream_not_matched"
        finally:
            standin.process.terminate()
            standin.process.wait(10)


def test_client_going_away_cancels_the_cascade(
    client: openai.OpenAI, rig: tuple[Daemon, StandIn]
) -> None:
    _, standin = rig
    before = {c["cascade_id"] for c in standin.cascades()}
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "slow please [[sim:events=60,delay=100]]"}],
        stream=True,
    )
    next(iter(stream))
    stream.close()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        new = [c for c in standin.cascades() if c["cascade_id"] not in before]
        if new and new[0]["state"] != "running":
            break
        time.sleep(0.05)
    [cascade] = [c for c in standin.cascades() if c["cascade_id"] not in before]
    assert cascade["state"] == "cancelled"


def test_ca_bundle_for_the_ls(rig: tuple[Daemon, StandIn], tmp_path: Path) -> None:
    daemon, _ = rig
    out = tmp_path / "ls-trust.pem"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "zerogravity-proxy"), "ca", "bundle", str(out),
            "--state-dir", str(daemon.state_dir),
        ],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    bundle = out.read_text()
    assert bundle.rstrip().endswith(daemon.ca_cert.read_text().strip())
    assert bundle.count("BEGIN CERTIFICATE") > 1  # the system store came first
    # A TLS client trusting only the bundle accepts the proxy's certificate for a Google host.
    status, _ = asyncio.run(fetch(GEMINI_URL, proxy=daemon.proxy, cafile=out))
    assert status == 200
