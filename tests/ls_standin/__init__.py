"""A stand-in for the Antigravity language server (LS), for tests.

It serves the LS's Connect API (JSON) over HTTPS with a CSRF token and, for each user message,
talks to Cloud Code the way the documented LS does (through a proxy, with its own envelope,
system prompt and tools), recording every answer byte for byte. With `wire="grpc"`
(`--wire grpc`) a turn is instead one public-API `StreamGenerateContent` call made with Google's
own gRPC client (grpc_wire.py). `LanguageServerStandIn` runs in-process; `python -m
tests.ls_standin` runs it as a process. The pure parts (envelope, SSE reading, tool dispatch)
are exported for unit tests.
"""

from .envelope import (
    WIRE_MODELS,
    UnknownModelError,
    build_envelope,
    request_id,
    session_id_for,
    title_body,
    user_content,
    user_input_text,
    wire_model,
)
from .grpc_wire import GRPC_PATH, grpc_environment, public_request
from .prompt import FUNCTION_DECLARATIONS, OWN_TOOLS, SYSTEM_PROMPT
from .server import CSRF_HEADER, SERVICE, ConnectError, LanguageServerStandIn
from .sse import SseDecoder, StreamResult, read_sse, replay_parts
from .tools import ToolDecision, canned_result, decide_tools, followup_contents
from .turn import ls_directives

__all__ = [
    "CSRF_HEADER",
    "FUNCTION_DECLARATIONS",
    "GRPC_PATH",
    "OWN_TOOLS",
    "SERVICE",
    "SYSTEM_PROMPT",
    "WIRE_MODELS",
    "ConnectError",
    "LanguageServerStandIn",
    "SseDecoder",
    "StreamResult",
    "ToolDecision",
    "UnknownModelError",
    "build_envelope",
    "canned_result",
    "decide_tools",
    "followup_contents",
    "grpc_environment",
    "ls_directives",
    "public_request",
    "read_sse",
    "replay_parts",
    "request_id",
    "session_id_for",
    "title_body",
    "user_content",
    "user_input_text",
    "wire_model",
]
