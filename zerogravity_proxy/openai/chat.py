"""A Chat Completions request → the ExchangeSpec Gemini is asked (protocols.md A.1, A.2, E.1, E.2).

Pure: no I/O. Everything is validated here, before anything is sent, so a malformed request is a
400 whose `param` names the offending field rather than an upstream error about a payload the
client never wrote. Unknown top-level fields are ignored, as OpenAI-compatible servers do.
Only chat's shapes are read here; the rules it shares with Responses are translate.py's.

Choices the mapping leaves open:
- `n` (1 to MAX_CHOICES) is how many exchanges the sidecar runs for the request, one per
  choice: an exchange yields one candidate.
- `parallel_tool_calls` is accepted and ignored: Gemini has no switch; the model decides.
- `user`, `store`, `service_tier`, `prompt_cache_key`, `safety_identifier`, `verbosity`,
  `modalities`, `logit_bias`...: accepted and ignored.
- `web_search_options` (any object) sends Google Search grounding, `{"googleSearch": {}}`, as
  Responses' web search tool does (its options have no Gemini equivalent); next to function
  tools it is a 400 `unsupported_tool_combination`. Citations come back as `url_citation`
  annotations.
- System and developer messages, wherever they are, become `systemInstruction` parts in order
  (one part per text); a mid-conversation system message loses its position.
- Consecutive messages with the same Gemini role merge into one content, so tool results and a
  following user message share one `user` content, and roles always alternate.
- A tool result is `{"result": <the content parsed as JSON, or the text when it is not JSON>}`,
  the same shape for objects, scalars and text.
- Thought signatures come back from the cache per call id. A model turn whose calls have none
  gets the documented dummy on its first call (D.3: never on later parallel calls), except on
  Claude, which rejects it (antigravity.md 1.8). For the same reason `reasoning_content` is
  replayed as a thought part to Gemini only: Claude would reject an unsigned thinking block.
- Images must arrive as data URIs: the sidecar inlines http(s) URLs before we run when
  `fetch_remote_images` is on; otherwise they are refused. `detail` maps to the part's
  `mediaResolution` on Gemini 3, the only family that has it. A `file` given as bare base64 is a
  PDF, the one file type Chat Completions accepts.
- Claude's thinking budget must stay below `maxOutputTokens` (antigravity.md 1.4), so it is
  lowered to fit when the client caps the output.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass

from zerogravity_proxy.gemini.spec import JSON, ExchangeSpec
from zerogravity_proxy.openai import translate
from zerogravity_proxy.openai.errors import OpenAIError, invalid_request, model_not_found
from zerogravity_proxy.openai.models import Catalogue, Family, ModelInfo
from zerogravity_proxy.openai.validate import (
    integer,
    invalid_type,
    number,
    option,
    part_type,
    required,
    show,
    typed,
)
from zerogravity_proxy.signatures import SignatureCache

MAX_STOP_SEQUENCES = 5
MAX_CHOICES = 8  # `n`: each choice is an exchange of its own

_USER_PARTS = ("text", "image_url", "input_audio", "file")


@dataclass(frozen=True, slots=True)
class ChatRequest:
    spec: ExchangeSpec
    stream: bool
    include_usage: bool
    n: int = 1  # the number of choices


def parse_chat_request(
    body: object, *, catalogue: Catalogue, signatures: SignatureCache
) -> ChatRequest:
    """Validate a `/v1/chat/completions` body and translate it; raises OpenAIError."""
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object.")
    model = required(body, "model", "", str, "a string")
    messages = required(body, "messages", "", list, "an array")
    if not messages:
        raise invalid_request(
            "'messages' must contain at least one message.", param="messages", code="empty_array"
        )
    info = catalogue.get(model)
    if info is None:
        raise model_not_found(model)
    stream, include_usage = translate.streaming(body)
    n = integer(body, "n", 1, MAX_CHOICES) or 1
    typed(body, "parallel_tool_calls", "", bool, "a boolean")
    declarations = translate.function_declarations(_function_definitions(body))
    search = typed(body, "web_search_options", "", dict, "an object") is not None
    translate.no_search_with_functions(declarations, search, "web_search_options")
    turns = translate.Contents(info.family)
    history = _History(turns, info, signatures)
    for index, message in enumerate(messages):
        history.add(index, message)
    spec = ExchangeSpec(
        model=model,
        upstream_model=info.upstream,
        contents=turns.contents(),
        system_instruction=turns.system_instruction(),
        tools=_tools(declarations, search),
        tool_config=_tool_config(body, {d["name"] for d in declarations}, info.family),
        generation_config=_generation_config(body, info) or None,
        labels=translate.metadata_labels(body),
    )
    return ChatRequest(spec, stream, include_usage, n)


# --- messages -------------------------------------------------------------------------------


class _History:
    """Messages → `turns`, the request's `contents` and `systemInstruction` (E.2)."""

    def __init__(
        self, turns: translate.Contents, info: ModelInfo, signatures: SignatureCache
    ) -> None:
        self._turns = turns
        self._info = info
        self._signatures = signatures
        self._call_names: dict[str, str] = {}  # tool-call id → function name, for tool results

    def add(self, index: int, message: object) -> None:
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise invalid_type(where, "an object", message)
        match message.get("role"):
            case "system" | "developer":
                self._turns.add_system(_texts(message, where))
            case "user":
                self._turns.append("user", self._user_parts(message, where))
            case "assistant":
                self._turns.append("model", self._model_parts(message, where))
            case "tool":
                self._turns.append("user", [self._tool_result(message, where)])
            case "function":
                name = required(message, "name", where, str, "a string")
                output = "".join(_texts(message, where))
                self._turns.append("user", [translate.function_response_part(name, None, output)])
            case role:
                raise invalid_request(
                    f"Invalid value for '{where}.role': {show(role)}. Supported values are: "
                    "'system', 'developer', 'user', 'assistant', 'tool' and 'function'.",
                    param=f"{where}.role",
                    code="invalid_value",
                )

    def _user_parts(self, message: JSON, where: str) -> list[JSON]:
        content = message.get("content")
        if isinstance(content, str):
            return [{"text": content}] if content else []
        if not isinstance(content, list):
            raise invalid_type(f"{where}.content", "a string or an array", content)
        parts: list[JSON] = []
        for j, part in enumerate(content):
            at = f"{where}.content[{j}]"
            match part_type(part, at, _USER_PARTS):
                case "text":
                    if text := required(part, "text", at, str, "a string"):
                        parts.append({"text": text})
                case "image_url":
                    parts.append(_image(part, at, self._info.family))
                case "input_audio":
                    parts.append(translate.audio(part, at))
                case _:
                    parts.append(_file(part, at))
        return parts

    def _model_parts(self, message: JSON, where: str) -> list[JSON]:
        parts: list[JSON] = []
        reasoning = typed(message, "reasoning_content", where, str, "a string")
        if reasoning and self._info.family != "claude":
            parts.append({"text": reasoning, "thought": True})
        parts += [{"text": t} for t in _texts(message, where, ("text", "refusal")) if t]
        calls = typed(message, "tool_calls", where, list, "an array") or []
        parts += [self._tool_call(call, f"{where}.tool_calls[{j}]") for j, call in enumerate(calls)]
        legacy = typed(message, "function_call", where, dict, "an object")
        if legacy is not None:
            parts.append(
                translate.function_call_part(
                    *translate.function_call(legacy, f"{where}.function_call")
                )
            )
        return parts

    def _tool_call(self, call: object, where: str) -> JSON:
        if not isinstance(call, dict):
            raise invalid_type(where, "an object", call)
        if call.get("type", "function") != "function":
            raise _unsupported_tool_type(call.get("type"), f"{where}.type")
        call_id = required(call, "id", where, str, "a string")
        function = required(call, "function", where, dict, "an object")
        name, args = translate.function_call(function, f"{where}.function")
        self._call_names[call_id] = name
        signature = self._signatures.get(call_id, self._info.upstream)
        return translate.function_call_part(name, args, call_id, signature)

    def _tool_result(self, message: JSON, where: str) -> JSON:
        call_id = required(message, "tool_call_id", where, str, "a string")
        name = self._call_names.get(call_id)
        if name is None:
            raise invalid_request(
                f"Invalid '{where}.tool_call_id': {call_id!r} does not match any tool call "
                "of a preceding assistant message.",
                param=f"{where}.tool_call_id",
                code="invalid_value",
            )
        return translate.function_response_part(name, call_id, "".join(_texts(message, where)))


def _texts(message: JSON, where: str, kinds: Collection[str] = ("text",)) -> list[str]:
    """A text-only content (string or parts) as its texts; a refusal part counts as text."""
    content = message.get("content")
    if content is None:
        return []
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        raise invalid_type(f"{where}.content", "a string or an array", content)
    texts: list[str] = []
    for j, part in enumerate(content):
        at = f"{where}.content[{j}]"
        texts.append(required(part, part_type(part, at, kinds), at, str, "a string"))
    return texts


def _image(part: JSON, where: str, family: Family) -> JSON:
    at = f"{where}.image_url"
    value = part.get("image_url")
    spec = value if isinstance(value, dict) else {"url": value}  # a bare URL string is common
    url = required(spec, "url", at, str, "a string")
    return translate.image(url, f"{at}.url", spec, at, family)[0]


def _file(part: JSON, where: str) -> JSON:
    at = f"{where}.file"
    file = required(part, "file", where, dict, "an object")
    data = typed(file, "file_data", at, str, "a string")
    if data is None:
        raise invalid_request(
            "Only inline files are supported: send 'file_data' (a data URI or base64 PDF); "
            "'file_id' would need the OpenAI Files API, which this proxy does not have.",
            param=f"{at}.file_data",
            code="unsupported_value",
        )
    return translate.file_data(data, f"{at}.file_data")


# --- tools ----------------------------------------------------------------------------------


def _tools(declarations: list[JSON], search: bool) -> list[JSON] | None:
    if search:  # its options (context size, location) have no Gemini equivalent
        return [{"googleSearch": {}}]
    return [{"functionDeclarations": declarations}] if declarations else None


def _function_definitions(body: JSON) -> Iterator[tuple[str, JSON]]:
    """`tools` (function tools) and legacy `functions`, each with its path."""
    for i, tool in enumerate(typed(body, "tools", "", list, "an array") or []):
        where = f"tools[{i}]"
        if not isinstance(tool, dict):
            raise invalid_type(where, "an object", tool)
        if tool.get("type") != "function":
            raise _unsupported_tool_type(tool.get("type"), f"{where}.type")
        yield f"{where}.function", required(tool, "function", where, dict, "an object")
    for i, function in enumerate(typed(body, "functions", "", list, "an array") or []):
        if not isinstance(function, dict):
            raise invalid_type(f"functions[{i}]", "an object", function)
        yield f"functions[{i}]", function


def _unsupported_tool_type(kind: object, param: str) -> OpenAIError:
    return invalid_request(
        f"Unsupported tool type {show(kind)}: only 'function' tools are supported.",
        param=param,
        code="unsupported_value",
    )


def _tool_config(body: JSON, names: Collection[str], family: Family) -> JSON | None:
    """`tool_choice` (or legacy `function_call`) → toolConfig."""
    param = "tool_choice" if body.get("tool_choice") is not None else "function_call"
    choice = body.get(param)
    parsed = None if choice is None else _tool_choice(choice, param, names)
    return translate.tool_config(parsed, names, family, param)


def _tool_choice(choice: object, param: str, names: Collection[str]) -> tuple[str, list[str]]:
    """The calling mode and the allowed function names (empty: all)."""
    if isinstance(choice, str):
        return option(choice, translate.CHOICE_MODES, param), []
    if not isinstance(choice, dict):
        raise invalid_type(param, "a string or an object", choice)
    if param == "function_call":  # legacy: {"name": ...}
        return "ANY", [translate.tool_name(choice, param, names)]
    kind = choice.get("type")
    if kind == "function":
        function = required(choice, "function", param, dict, "an object")
        return "ANY", [translate.tool_name(function, f"{param}.function", names)]
    if kind != "allowed_tools":
        raise _unsupported_tool_type(kind, f"{param}.type")
    at = f"{param}.allowed_tools"
    spec = required(choice, "allowed_tools", param, dict, "an object")
    mode = option(
        required(spec, "mode", at, str, "a string"), translate.ALLOWED_TOOLS_MODES, f"{at}.mode"
    )
    allowed = []
    for k, tool in enumerate(required(spec, "tools", at, list, "an array")):
        tool_at = f"{at}.tools[{k}]"
        if not isinstance(tool, dict):
            raise invalid_type(tool_at, "an object", tool)
        function = required(tool, "function", tool_at, dict, "an object")
        allowed.append(translate.tool_name(function, f"{tool_at}.function", names))
    return mode, allowed


# --- generation config ----------------------------------------------------------------------


def _generation_config(body: JSON, info: ModelInfo) -> JSON:
    presence = number(body, "presence_penalty", -2, 2)
    frequency = number(body, "frequency_penalty", -2, 2)
    logprobs = typed(body, "logprobs", "", bool, "a boolean")
    top_logprobs = integer(body, "top_logprobs", 0, 20)
    if top_logprobs is not None and not logprobs:
        raise invalid_request(
            "'top_logprobs' requires 'logprobs' to be true.",
            param="top_logprobs",
            code="invalid_value",
        )
    effort = typed(body, "reasoning_effort", "", str, "a string")
    fields: JSON = {
        "temperature": number(body, "temperature", 0, 2),
        "topP": number(body, "top_p", 0, 1),
        "topK": integer(body, "top_k", 1),
        "maxOutputTokens": _max_output_tokens(body),
        "stopSequences": _stop_sequences(body),
        "presencePenalty": presence,
        "frequencyPenalty": frequency,
        "seed": integer(body, "seed"),
        "responseLogprobs": logprobs,
        "logprobs": top_logprobs,
        **_response_format(body),
    }
    return translate.generation_config(info, effort, fields)


def _max_output_tokens(body: JSON) -> int | None:
    completion = integer(body, "max_completion_tokens", 1)
    legacy = integer(body, "max_tokens", 1)
    return completion if completion is not None else legacy


def _stop_sequences(body: JSON) -> list[str] | None:
    stop = body.get("stop")
    if stop is None:
        return None
    sequences = [stop] if isinstance(stop, str) else stop
    if not isinstance(sequences, list) or not all(isinstance(s, str) for s in sequences):
        raise invalid_type("stop", "a string or an array of strings", stop)
    if len(sequences) > MAX_STOP_SEQUENCES:
        raise invalid_request(
            f"'stop' takes at most {MAX_STOP_SEQUENCES} sequences.",
            param="stop",
            code="invalid_value",
        )
    return sequences or None


def _response_format(body: JSON) -> JSON:
    fmt = typed(body, "response_format", "", dict, "an object")
    kind = None if fmt is None else fmt.get("type")
    if fmt is None or kind == "text":
        return {}
    if kind == "json_object":
        return translate.json_output()
    if kind != "json_schema":
        raise invalid_request(
            f"Invalid value for 'response_format.type': {show(kind)}. "
            "Supported values are: 'text', 'json_object' and 'json_schema'.",
            param="response_format.type",
            code="invalid_value",
        )
    spec = required(fmt, "json_schema", "response_format", dict, "an object")
    return translate.json_output(
        required(spec, "schema", "response_format.json_schema", dict, "an object")
    )
