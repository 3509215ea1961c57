"""Google's own Gemini client over gRPC, in a subprocess, pointed at the proxy like a real user's.

Run as `python -m tests.grpc_client`: a JSON list of calls on stdin, one JSON line per event on
stdout (flushed at once, so a reader sees streaming as it happens). A call is

    {"method": "generate" | "stream" | "count",
     "request": <GenerateContentRequest / CountTokensRequest in REST JSON (camelCase)>,
     "metadata": [[key, value], ...],   # optional
     "timeout": seconds,                # optional, default 30
     "version": "v1beta" | "v1"}        # optional: which client (and gRPC service) to use

and the events are

    {"call": i, "sent": <the request as Google's message, MessageToDict>,
     "request_sha256": <sha256 of Google's serialization of it, i.e. the gRPC message bytes>}
    {"call": i, "message": <each response message, MessageToDict (camelCase)>, "t": time.time()}
    {"call": i, "status": "OK"}
 or {"call": i, "status": <gRPC code name>, "message": ..., "details": [{"@type": ..., ...}],
     "retry_delay": <seconds from a RetryInfo detail, or null>}

The process is as close to a user's as a test can make it: the gRPC core reads its proxy and
trust roots from the environment only (`https_proxy`, `GRPC_DEFAULT_SSL_ROOTS_FILE_PATH`), the
client keeps Google's default endpoint (generativelanguage.googleapis.com:443), and api_core's
retries are off (`retry=None`), so one call is exactly one RPC. `run_calls` runs it for tests.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# Anything that could route the subprocess's traffic elsewhere than the proxy we name.
_PROXY_VARS = frozenset(
    {
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
        "grpc_proxy",
        "no_grpc_proxy",
        "grpc_default_ssl_roots_file_path",
    }
)

JSON = dict[str, Any]


def run_calls(
    calls: Sequence[Mapping[str, Any]],
    *,
    proxy: str,
    ca_file: Path | str,
    timeout: float = 60,
    extra_env: Mapping[str, str] | None = None,
) -> list[JSON]:
    """Run the calls in a fresh `python -m tests.grpc_client` and return its events, in order.

    The environment is the caller's without any proxy variable, plus exactly what a user sets:
    `https_proxy=<proxy>` and `GRPC_DEFAULT_SSL_ROOTS_FILE_PATH=<ca_file>`.
    """
    env = {key: value for key, value in os.environ.items() if key.lower() not in _PROXY_VARS}
    env["https_proxy"] = proxy
    env["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"] = str(ca_file)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra_env or {})
    completed = subprocess.run(
        [sys.executable, "-m", "tests.grpc_client"],
        input=json.dumps(list(calls)).encode(),
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
    stderr = completed.stderr.decode(errors="replace")
    if completed.returncode != 0:
        raise RuntimeError(f"tests.grpc_client exited with {completed.returncode}:\n{stderr}")
    events: list[JSON] = [json.loads(line) for line in completed.stdout.splitlines() if line]
    return events


# --- the subprocess -------------------------------------------------------------------------


def _emit(event: JSON) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def _detail_json(detail: Any) -> JSON:
    """An error detail (an unpacked google.rpc message, or an `Any` api_core did not know)."""
    from google.protobuf import any_pb2, json_format

    if isinstance(detail, any_pb2.Any):
        try:
            shown: JSON = json_format.MessageToDict(detail)
            return shown
        except (TypeError, KeyError, json_format.Error):
            return {"@type": detail.type_url, "value": detail.value.hex()}
    name = detail.DESCRIPTOR.full_name
    return {"@type": f"type.googleapis.com/{name}", **json_format.MessageToDict(detail)}


def _retry_delay(details: Iterable[JSON]) -> float | None:
    for detail in details:
        if detail.get("@type") == "type.googleapis.com/google.rpc.RetryInfo":
            delay = str(detail.get("retryDelay", "0s"))
            return float(delay.removesuffix("s"))
    return None


def _client(version: str, cache: dict[str, Any]) -> Any:
    if version not in cache:
        from google.auth.credentials import AnonymousCredentials

        if version == "v1":
            from google.ai import generativelanguage_v1 as module
        elif version == "v1beta":
            from google.ai import generativelanguage_v1beta as module  # type: ignore[no-redef]
        else:
            raise ValueError(f"unknown API version {version!r}")
        cache[version] = (
            module,
            module.GenerativeServiceClient(
                transport="grpc",
                credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            ),
        )
    return cache[version]


def _call(index: int, call: Mapping[str, Any], cache: dict[str, Any]) -> None:
    from google.api_core import exceptions
    from google.protobuf import json_format

    module, client = _client(str(call.get("version", "v1beta")), cache)
    method = call["method"]
    kind = module.CountTokensRequest if method == "count" else module.GenerateContentRequest
    request = kind.from_json(json.dumps(call["request"]))
    raw = kind.pb(request)
    _emit(
        {
            "call": index,
            "sent": json_format.MessageToDict(raw),
            "request_sha256": hashlib.sha256(raw.SerializeToString()).hexdigest(),
        }
    )
    options: JSON = {
        "retry": None,
        "timeout": float(call.get("timeout", 30)),
        "metadata": [(str(key), str(value)) for key, value in call.get("metadata", [])],
    }
    try:
        if method == "stream":
            responses: Iterable[Any] = client.stream_generate_content(request=request, **options)
        elif method == "generate":
            responses = [client.generate_content(request=request, **options)]
        elif method == "count":
            responses = [client.count_tokens(request=request, **options)]
        else:
            raise ValueError(f"unknown method {method!r}")
        for response in responses:
            message = json_format.MessageToDict(type(response).pb(response))
            _emit({"call": index, "message": message, "t": time.time()})
    except exceptions.GoogleAPICallError as error:
        code = error.grpc_status_code
        details = [_detail_json(detail) for detail in error.details or ()]
        _emit(
            {
                "call": index,
                "status": code.name if code is not None else "UNKNOWN",
                "message": error.message,
                "details": details,
                "retry_delay": _retry_delay(details),
            }
        )
        return
    _emit({"call": index, "status": "OK"})


def main() -> None:
    calls: list[JSON] = json.load(sys.stdin)
    cache: dict[str, Any] = {}
    for index, call in enumerate(calls):
        _call(index, call, cache)


if __name__ == "__main__":
    main()
